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
