//! What a privacy check reads: every place wavault writes that is not encrypted content (item keys and index
//! attributes, S3 keys and object metadata of every version, queue bodies, log lines), and the bytes of one person
//! it must not find there.
//!
//! The check is by value, not by field name: a phone number is found inside a wamid (whose base64 embeds it, see
//! [`crate::meta_ids`]), in a key, or in a log line of any process, wherever a code path put it.

use crate::local_stack::LocalStack;
use crate::meta_ids::phone_in_wamid;
use crate::template::Template;
use crate::{Error, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashMap};

/// Everything that identifies one person, as fixtures gave it to the webhook.
#[derive(Debug, Clone, Default)]
pub struct Person {
    /// `wa_id`: digits with country code.
    pub phone: Option<String>,
    /// `user_id`, `parent_user_id`, before and after a change.
    pub user_ids: Vec<String>,
    /// The wamids of the person's messages and of the statuses sent to them.
    pub wamids: Vec<String>,
    /// Profile name and username.
    pub names: Vec<String>,
    /// Message texts (long enough to be unambiguous).
    pub texts: Vec<String>,
}

/// One place where a piece of the person was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// Where (`dynamodb key wamid of item 3`, `s3 metadata of media/...`, `log webhook line 12`).
    pub place: String,
    /// What (`phone number`, `user id`, `wamid`, `name`, `text`).
    pub what: &'static str,
}

impl Person {
    /// The needles, each with its kind. A phone number embedded in one of the person's wamids is a needle too.
    fn needles(&self) -> Vec<(&'static str, String)> {
        let mut needles: Vec<(&'static str, String)> = Vec::new();
        let phones: BTreeSet<String> = self
            .phone
            .iter()
            .cloned()
            .chain(self.wamids.iter().filter_map(|w| phone_in_wamid(w)))
            .collect();
        needles.extend(phones.into_iter().map(|p| ("phone number", p)));
        for user_id in &self.user_ids {
            needles.push(("user id", user_id.clone()));
            // The digits without the country (and `ENT.`) prefix, as a key or log that split the id may carry.
            if let Some((_, bare)) = user_id.rsplit_once('.') {
                if bare.len() >= 12 {
                    needles.push(("user id", bare.to_owned()));
                }
            }
        }
        for wamid in &self.wamids {
            needles.push(("wamid", wamid.clone()));
            // The id without its prefix, as a URL or a log may carry it.
            if let Some(bare) = wamid.strip_prefix("wamid.") {
                needles.push(("wamid", bare.to_owned()));
            }
        }
        needles.extend(self.names.iter().map(|n| ("name", n.clone())));
        needles.extend(self.texts.iter().map(|t| ("text", t.clone())));
        needles.retain(|(_, needle)| needle.len() >= 4);
        needles
    }

    /// Every place among `places` (place, text) holding a piece of this person.
    pub fn exposures(&self, places: &[(String, String)]) -> Vec<Exposure> {
        let needles = self.needles();
        let mut found = Vec::new();
        for (place, text) in places {
            for (what, needle) in &needles {
                if text.contains(needle.as_str()) {
                    found.push(Exposure {
                        place: place.clone(),
                        what,
                    });
                }
            }
        }
        found.dedup();
        found
    }
}

/// The attribute names that are keys somewhere: the table's key schema and every index's, from the template.
pub fn key_attributes(template: &Template) -> Result<BTreeSet<String>> {
    let table = template.resource("RecordsTable", "AWS::DynamoDB::Table")?;
    let mut names = BTreeSet::new();
    let mut add_schema = |schema: Option<&serde_json::Value>| {
        for element in schema.and_then(|s| s.as_array()).into_iter().flatten() {
            if let Some(name) = element.get("AttributeName").and_then(|n| n.as_str()) {
                names.insert(name.to_owned());
            }
        }
    };
    add_schema(table.get(&["KeySchema"]));
    for kind in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        for index in table
            .get(&[kind])
            .and_then(|i| i.as_array())
            .into_iter()
            .flatten()
        {
            add_schema(index.get("KeySchema"));
        }
    }
    if names.is_empty() {
        return Err(Error::Template {
            origin: template.origin().to_owned(),
            message: "RecordsTable has no KeySchema".to_owned(),
        });
    }
    Ok(names)
}

/// The key and index attributes of every item of the records table, as (place, text).
pub async fn item_keys(
    stack: &LocalStack,
    sdk: &SdkConfig,
    keys: &BTreeSet<String>,
) -> Result<Vec<(String, String)>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let mut places = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    let mut index = 0usize;
    loop {
        let page = dynamodb
            .scan()
            .table_name(&stack.table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws("Scan", e))?;
        for item in page.items() {
            for (name, value) in item.iter().filter(|(name, _)| keys.contains(*name)) {
                places.push((
                    format!("dynamodb item {index} attribute {name}"),
                    attribute_text(value),
                ));
            }
            index += 1;
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(places),
        }
    }
}

fn attribute_text(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        other => format!("{other:?}"),
    }
}

/// Every object version's key and user metadata in the archive bucket, as (place, text).
pub async fn object_keys_and_metadata(
    stack: &LocalStack,
    sdk: &SdkConfig,
) -> Result<Vec<(String, String)>> {
    let s3 = crate::aws::s3_client(sdk);
    let mut places = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket(&stack.bucket)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await
            .map_err(|e| aws("ListObjectVersions", e))?;
        for version in page.versions() {
            let (Some(key), version_id) = (version.key(), version.version_id()) else {
                continue;
            };
            places.push((format!("s3 key {key}"), key.to_owned()));
            let head = s3
                .head_object()
                .bucket(&stack.bucket)
                .key(key)
                .set_version_id(version_id.filter(|v| *v != "null").map(str::to_owned))
                .send()
                .await
                .map_err(|e| aws("HeadObject", e))?;
            for (name, value) in head.metadata().into_iter().flatten() {
                places.push((
                    format!("s3 metadata {name} of {key}"),
                    format!("{name}={value}"),
                ));
            }
            // Headers a writer could put a filename or an id in.
            for (name, value) in [
                ("content-disposition", head.content_disposition()),
                ("content-type", head.content_type()),
            ] {
                if let Some(value) = value {
                    places.push((format!("s3 header {name} of {key}"), value.to_owned()));
                }
            }
            let tagging = s3
                .get_object_tagging()
                .bucket(&stack.bucket)
                .key(key)
                .set_version_id(version_id.filter(|v| *v != "null").map(str::to_owned))
                .send()
                .await
                .map_err(|e| aws("GetObjectTagging", e))?;
            for tag in tagging.tag_set() {
                places.push((
                    format!("s3 tag {} of {key}", tag.key()),
                    format!("{}={}", tag.key(), tag.value()),
                ));
            }
        }
        for marker in page.delete_markers() {
            if let Some(key) = marker.key() {
                places.push((format!("s3 delete marker {key}"), key.to_owned()));
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(places);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

/// The bodies (and message attributes) of the messages waiting on `queue_url`, read without taking them: each is
/// received once, held invisible until every message was read, then made visible again at once.
///
/// One receive per message, so a peek costs a job one of its receives before the queue's redrive (receiving with
/// visibility 0 again and again would send it to the dead-letter queue).
pub async fn queue_bodies(sdk: &SdkConfig, queue_url: &str) -> Result<Vec<(String, String)>> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut seen = BTreeSet::new();
    let mut places = Vec::new();
    let mut handles = Vec::new();
    let read = async {
        loop {
            let page = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(120)
                .wait_time_seconds(0)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| aws("ReceiveMessage", e))?;
            if page.messages().is_empty() {
                return Ok::<(), Error>(());
            }
            for message in page.messages() {
                handles.extend(message.receipt_handle().map(str::to_owned));
                let id = message.message_id().unwrap_or_default().to_owned();
                if !seen.insert(id.clone()) {
                    continue;
                }
                places.push((
                    format!("sqs body {id} on {queue_url}"),
                    message.body().unwrap_or_default().to_owned(),
                ));
                for (name, value) in message.message_attributes().into_iter().flatten() {
                    places.push((
                        format!("sqs attribute {name} of {id} on {queue_url}"),
                        format!("{name}={}", value.string_value().unwrap_or_default()),
                    ));
                }
            }
        }
    };
    let outcome = read.await;
    // Put back what was read, even when a later receive failed.
    for handle in &handles {
        sqs.change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| aws("ChangeMessageVisibility", e))?;
    }
    outcome.map(|()| places)
}

/// Log lines of one process, as (place, text).
pub fn log_lines(process: &str, lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .enumerate()
        .map(|(n, line)| (format!("log {process} line {}", n + 1), line.clone()))
        .collect()
}

fn aws(operation: &'static str, error: impl std::error::Error) -> Error {
    Error::Aws {
        operation,
        message: aws_sdk_s3::error::DisplayErrorContext(&error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta_ids::{bsuid, wamid, Direction};

    #[test]
    fn a_phone_number_is_found_inside_a_wamid_and_a_hash_is_not_a_leak() {
        let id = wamid("15551234567", Direction::Inbound, "m1");
        let person = Person {
            phone: Some("15551234567".to_owned()),
            user_ids: vec![bsuid("US", "ana")],
            wamids: vec![id.clone()],
            names: vec!["Ana Example".to_owned()],
            texts: vec!["see you at noon".to_owned()],
        };
        let places = vec![
            ("key".to_owned(), format!("msg#{}", &id["wamid.".len()..])),
            (
                "log".to_owned(),
                "record=3f9a0c1d2e4b5a69 stored".to_owned(),
            ),
            ("metadata".to_owned(), "profile=Ana Example".to_owned()),
        ];
        let found = person.exposures(&places);
        assert_eq!(
            found,
            vec![
                Exposure {
                    place: "key".to_owned(),
                    what: "wamid"
                },
                Exposure {
                    place: "metadata".to_owned(),
                    what: "name"
                },
            ]
        );
        // The phone number itself is not in the base64 text, yet the wamid gives it away: it is a needle.
        assert!(person
            .needles()
            .iter()
            .any(|(what, n)| *what == "phone number" && n == "15551234567"));
    }
}

// Content scans (the erasure scan, tests/tests/erasure_scan.rs): not only keys and metadata but every attribute of
// every item and every byte of every object version, for a check that nothing of an erased person is left anywhere.

/// One item of the records table, every attribute.
pub type Item = HashMap<String, AttributeValue>;

/// Every item of the records table with every attribute, whatever its kind (one consistent Scan, every page).
pub async fn every_item(stack: &LocalStack, sdk: &SdkConfig) -> Result<Vec<Item>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(&stack.table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws("Scan", e))?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(items),
        }
    }
}

/// Every attribute of every item as (place, text): lists, maps and sets spelled out to their leaves, binary values
/// as (lossy) text, and a string holding JSON (a record's `raw`) in its decoded form too, so an id Meta sent
/// escaped (`\/`, `\u00..`) is found as well. A place names the item by its position and `kind`, never its content.
pub fn item_contents(items: &[Item]) -> Vec<(String, String)> {
    let mut places = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let kind = match item.get("kind") {
            Some(AttributeValue::S(kind)) => kind.as_str(),
            _ => "?",
        };
        let mut names: Vec<&String> = item.keys().collect();
        names.sort();
        for name in names {
            let place = format!("dynamodb item {index} (kind {kind}) attribute {name}");
            let text = attribute_contents(&item[name]);
            if let Some(decoded) = decoded_json(text.as_bytes()) {
                places.push((format!("{place}, JSON decoded"), decoded));
            }
            places.push((place, text));
        }
    }
    places
}

/// The whole value of an attribute as text, nested values included (map entries as `name=value`).
fn attribute_contents(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        AttributeValue::B(b) => String::from_utf8_lossy(b.as_ref()).into_owned(),
        AttributeValue::Bool(b) => b.to_string(),
        AttributeValue::Null(_) => "null".to_owned(),
        AttributeValue::Ss(items) | AttributeValue::Ns(items) => items.join("\n"),
        AttributeValue::Bs(items) => items
            .iter()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .collect::<Vec<_>>()
            .join("\n"),
        AttributeValue::L(items) => items
            .iter()
            .map(attribute_contents)
            .collect::<Vec<_>>()
            .join("\n"),
        AttributeValue::M(map) => {
            let mut entries: Vec<String> = map
                .iter()
                .map(|(name, value)| format!("{name}={}", attribute_contents(value)))
                .collect();
            entries.sort();
            entries.join("\n")
        }
        other => format!("{other:?}"),
    }
}

/// The binary values of an item (`B`, `Bs`, nested too).
fn attribute_bytes<'a>(value: &'a AttributeValue, out: &mut Vec<&'a [u8]>) {
    match value {
        AttributeValue::B(b) => out.push(b.as_ref()),
        AttributeValue::Bs(items) => out.extend(items.iter().map(|b| b.as_ref())),
        AttributeValue::L(items) => items.iter().for_each(|v| attribute_bytes(v, out)),
        AttributeValue::M(map) => map.values().for_each(|v| attribute_bytes(v, out)),
        _ => {}
    }
}

/// JSON text (an object or array) re-serialised: escapes undone, one canonical spelling.
fn decoded_json(text: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(text).ok()?;
    (value.is_object() || value.is_array())
        .then(|| serde_json::to_string(&value).ok())
        .flatten()
}

/// One version of an object of the archive bucket (or a delete marker), read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub key: String,
    /// As listed (`None` or `"null"` when the bucket is not versioned).
    pub version_id: Option<String>,
    pub is_latest: bool,
    /// A delete marker: no body, no metadata.
    pub delete_marker: bool,
    /// User metadata, sorted by name.
    pub metadata: Vec<(String, String)>,
    /// Headers a writer could put a name or an id in (`content-type`, `content-disposition`, ...).
    pub headers: Vec<(&'static str, String)>,
    /// Tags, as (key, value).
    pub tags: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Every version and delete marker in the archive bucket (ListObjectVersions, every page), each version read by
/// GetObject with its version id (body, user metadata and headers from that answer) and GetObjectTagging.
pub async fn every_object_version(
    stack: &LocalStack,
    sdk: &SdkConfig,
) -> Result<Vec<ObjectVersion>> {
    let s3 = crate::aws::s3_client(sdk);
    let mut versions = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket(&stack.bucket)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await
            .map_err(|e| aws("ListObjectVersions", e))?;
        for listed in page.versions() {
            let Some(key) = listed.key() else {
                continue;
            };
            let version_id = listed.version_id().map(str::to_owned);
            // A bucket without versioning lists every object as version "null"; asking for it by that id is
            // asking for the object.
            let by_id = version_id.clone().filter(|v| v != "null");
            let object = s3
                .get_object()
                .bucket(&stack.bucket)
                .key(key)
                .set_version_id(by_id.clone())
                .send()
                .await
                .map_err(|e| aws("GetObject", e))?;
            let mut metadata: Vec<(String, String)> = object
                .metadata()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            metadata.sort();
            let headers = [
                ("content-type", object.content_type()),
                ("content-disposition", object.content_disposition()),
                ("content-encoding", object.content_encoding()),
                ("content-language", object.content_language()),
                ("cache-control", object.cache_control()),
                (
                    "website-redirect-location",
                    object.website_redirect_location(),
                ),
            ]
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v.to_owned())))
            .collect();
            let body = object
                .body
                .collect()
                .await
                .map_err(|e| Error::Aws {
                    operation: "GetObject (body)",
                    message: e.to_string(),
                })?
                .into_bytes()
                .to_vec();
            let tagging = s3
                .get_object_tagging()
                .bucket(&stack.bucket)
                .key(key)
                .set_version_id(by_id)
                .send()
                .await
                .map_err(|e| aws("GetObjectTagging", e))?;
            let tags = tagging
                .tag_set()
                .iter()
                .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                .collect();
            versions.push(ObjectVersion {
                key: key.to_owned(),
                version_id,
                is_latest: listed.is_latest() == Some(true),
                delete_marker: false,
                metadata,
                headers,
                tags,
                body,
            });
        }
        for marker in page.delete_markers() {
            if let Some(key) = marker.key() {
                versions.push(ObjectVersion {
                    key: key.to_owned(),
                    version_id: marker.version_id().map(str::to_owned),
                    is_latest: marker.is_latest() == Some(true),
                    delete_marker: true,
                    metadata: Vec::new(),
                    headers: Vec::new(),
                    tags: Vec::new(),
                    body: Vec::new(),
                });
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(versions);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

/// Everything of every version as (place, text): the key, each metadata entry, header and tag, and the body as
/// (lossy) text, a JSON body in its decoded form too.
pub fn object_contents(versions: &[ObjectVersion]) -> Vec<(String, String)> {
    let mut places = Vec::new();
    for version in versions {
        let at = format!(
            "s3 {}{} version {}",
            version.key,
            if version.delete_marker {
                " (delete marker)"
            } else {
                ""
            },
            version.version_id.as_deref().unwrap_or("-")
        );
        places.push((format!("{at} key"), version.key.clone()));
        for (name, value) in &version.metadata {
            places.push((format!("{at} metadata {name}"), format!("{name}={value}")));
        }
        for (name, value) in &version.headers {
            places.push((format!("{at} header {name}"), value.clone()));
        }
        for (name, value) in &version.tags {
            places.push((format!("{at} tag {name}"), format!("{name}={value}")));
        }
        if let Some(decoded) = decoded_json(&version.body) {
            places.push((format!("{at} body, JSON decoded"), decoded));
        }
        places.push((
            format!("{at} body"),
            String::from_utf8_lossy(&version.body).into_owned(),
        ));
    }
    places
}

/// The places (object version bodies, binary attributes of items) holding `needle` (a media file's bytes).
pub fn bytes_found(items: &[Item], versions: &[ObjectVersion], needle: &[u8]) -> Vec<String> {
    let holds = |haystack: &[u8]| {
        !needle.is_empty()
            && haystack
                .windows(needle.len())
                .any(|window| window == needle)
    };
    let mut places = Vec::new();
    for version in versions.iter().filter(|v| holds(&v.body)) {
        places.push(format!(
            "s3 {} version {} body",
            version.key,
            version.version_id.as_deref().unwrap_or("-")
        ));
    }
    for (index, item) in items.iter().enumerate() {
        let mut binary = Vec::new();
        item.values().for_each(|v| attribute_bytes(v, &mut binary));
        if binary.into_iter().any(holds) {
            places.push(format!("dynamodb item {index} binary attribute"));
        }
    }
    places
}

/// The items that are one contact's, by (`pk`, `sk`): those naming one of the contact's keyed `hashes` in any
/// attribute (a contact hash, a link's `<kind>:<hash>` alias, nested values included) and those under one of
/// `partitions` (the record keys of the contact's wamids).
pub fn items_of(
    items: &[Item],
    hashes: &[String],
    partitions: &[String],
) -> std::collections::BTreeMap<(String, String), Item> {
    fn names(value: &AttributeValue, hashes: &[String]) -> bool {
        let is_hash = |text: &str| {
            hashes
                .iter()
                .any(|h| text == h || text.rsplit_once(':').is_some_and(|(_, tail)| tail == h))
        };
        match value {
            AttributeValue::S(s) => is_hash(s),
            AttributeValue::Ss(items) => items.iter().any(|s| is_hash(s)),
            AttributeValue::L(items) => items.iter().any(|v| names(v, hashes)),
            AttributeValue::M(map) => map.values().any(|v| names(v, hashes)),
            _ => false,
        }
    }
    let text = |item: &Item, name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    };
    items
        .iter()
        .filter(|item| {
            partitions.contains(&text(item, "pk")) || item.values().any(|v| names(v, hashes))
        })
        .map(|item| ((text(item, "pk"), text(item, "sk")), item.clone()))
        .collect()
}

/// A person's elements of one webhook body: each object of an array under an `entry[].changes[].value` (any field:
/// `contacts`, `messages`, `statuses`, `message_echoes`, ...) in which some string, at any depth, is one of the
/// person's ids or wamids, keyed `entry <e> change <c> <array>`. `None`: the body is not JSON.
pub fn elements_of(
    body: &[u8],
    person: &Person,
) -> Option<std::collections::BTreeMap<String, Vec<serde_json::Value>>> {
    use serde_json::Value;
    let root: Value = serde_json::from_slice(body).ok()?;
    let ids: BTreeSet<&str> = person
        .phone
        .iter()
        .chain(&person.user_ids)
        .chain(&person.wamids)
        .map(String::as_str)
        .collect();
    fn names(value: &Value, ids: &BTreeSet<&str>) -> bool {
        match value {
            Value::String(s) => ids.contains(s.as_str()),
            Value::Array(items) => items.iter().any(|v| names(v, ids)),
            Value::Object(map) => map.values().any(|v| names(v, ids)),
            _ => false,
        }
    }
    let mut found = std::collections::BTreeMap::new();
    let entries = root["entry"].as_array().into_iter().flatten().enumerate();
    for (e, entry) in entries {
        let changes = entry["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate();
        for (c, change) in changes {
            let Some(value) = change["value"].as_object() else {
                continue;
            };
            for (array, items) in value {
                let theirs: Vec<Value> = items
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|item| item.is_object() && names(item, &ids))
                    .cloned()
                    .collect();
                if !theirs.is_empty() {
                    found.insert(format!("entry {e} change {c} {array}"), theirs);
                }
            }
        }
    }
    Some(found)
}

#[cfg(test)]
mod content_scan_tests {
    use super::*;
    use crate::meta_ids::{bsuid, wamid, Direction};
    use serde_json::json;

    fn person() -> Person {
        Person {
            phone: Some("15551234567".to_owned()),
            user_ids: vec![bsuid("US", "ana")],
            wamids: vec![wamid("15551234567", Direction::Inbound, "m/1")],
            names: vec!["Ana Example".to_owned()],
            texts: vec!["see you at noon".to_owned()],
        }
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    #[test]
    fn every_attribute_is_read_nested_and_escaped_json_is_decoded() {
        let ana = person();
        // Meta escapes `/` in what it signs: a raw element spells the id with `\/`.
        let raw = json!({"from": "15551234567"})
            .to_string()
            .replace('1', "\\u0031");
        let item: Item = HashMap::from([
            ("pk".to_owned(), s("3f9a")),
            ("kind".to_owned(), s("message")),
            ("raw".to_owned(), s(&raw)),
            (
                "nested".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "list".to_owned(),
                    AttributeValue::L(vec![s("Ana Example")]),
                )])),
            ),
        ]);
        let places = item_contents(&[item]);
        let found: BTreeSet<(String, &str)> = ana
            .exposures(&places)
            .into_iter()
            .map(|e| (e.place, e.what))
            .collect();
        assert_eq!(
            found,
            BTreeSet::from([
                (
                    "dynamodb item 0 (kind message) attribute nested".to_owned(),
                    "name"
                ),
                (
                    "dynamodb item 0 (kind message) attribute raw, JSON decoded".to_owned(),
                    "phone number"
                ),
            ])
        );
    }

    #[test]
    fn bodies_and_binary_attributes_are_searched_for_bytes() {
        let photo = vec![0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9];
        let mut holding = photo.clone();
        holding.insert(0, b'x');
        let version = |key: &str, body: Vec<u8>| ObjectVersion {
            key: key.to_owned(),
            version_id: Some("null".to_owned()),
            is_latest: true,
            delete_marker: false,
            metadata: Vec::new(),
            headers: Vec::new(),
            tags: Vec::new(),
            body,
        };
        let versions = [
            version("media/a.jpg", holding.clone()),
            version("journal/b.json", b"{}".to_vec()),
        ];
        let items: Vec<Item> = vec![HashMap::from([(
            "blob".to_owned(),
            AttributeValue::B(holding.into()),
        )])];
        assert_eq!(
            bytes_found(&items, &versions, &photo),
            vec![
                "s3 media/a.jpg version null body".to_owned(),
                "dynamodb item 0 binary attribute".to_owned(),
            ]
        );
    }

    #[test]
    fn a_contacts_items_are_found_by_hash_alias_or_record_key_and_elements_by_any_id() {
        let items: Vec<Item> = vec![
            HashMap::from([
                ("pk".to_owned(), s("p1")),
                ("sk".to_owned(), s("message")),
                ("contact_user_hash".to_owned(), s("h1")),
            ]),
            HashMap::from([
                ("pk".to_owned(), s("journal.d")),
                ("sk".to_owned(), s("contact#x")),
                (
                    "contact_aliases".to_owned(),
                    AttributeValue::L(vec![s("user_id:h1")]),
                ),
            ]),
            HashMap::from([("pk".to_owned(), s("p2")), ("sk".to_owned(), s("message"))]),
            HashMap::from([
                ("pk".to_owned(), s("p3")),
                ("sk".to_owned(), s("message")),
                ("contact_user_hash".to_owned(), s("h10")),
            ]),
        ];
        let keys: Vec<(String, String)> = items_of(&items, &["h1".to_owned()], &["p2".to_owned()])
            .into_keys()
            .collect();
        assert_eq!(
            keys,
            vec![
                ("journal.d".to_owned(), "contact#x".to_owned()),
                ("p1".to_owned(), "message".to_owned()),
                ("p2".to_owned(), "message".to_owned()),
            ]
        );

        let ana = person();
        let body = json!({"entry": [{"changes": [{"value": {
            "contacts": [{"user_id": ana.user_ids[0]}, {"wa_id": "15550009999"}],
            "message_echoes": [{"to": "15551234567", "id": "e1"}],
            "statuses": [{"id": ana.wamids[0], "status": "read"}, {"id": "other"}],
        }}]}]});
        let found = elements_of(body.to_string().as_bytes(), &ana).unwrap();
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            vec![
                "entry 0 change 0 contacts",
                "entry 0 change 0 message_echoes",
                "entry 0 change 0 statuses"
            ]
        );
        assert_eq!(
            found["entry 0 change 0 statuses"],
            vec![body["entry"][0]["changes"][0]["value"]["statuses"][0].clone()]
        );
        assert!(elements_of(b"{\"entry\": [", &ana).is_none(), "not JSON");
    }
}
