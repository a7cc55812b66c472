//! Erasure, checked by reading everything back (issue 12): realistic webhooks (tests/fixtures/realistic, ids in
//! Meta's real formats) through the real webhook binary, the photo archived by the real media fetcher from the fake
//! Graph API, then the real `wavault` binary erases one person by one id. After that, every item of the table (every
//! attribute, every item kind) and every object version of the bucket (body, metadata, headers, tags) is searched
//! by value for anything of hers ([`Person::exposures`]: her number, also inside a wamid, her BSUIDs, names, texts,
//! every wamid of hers; and her photo's bytes), and the other contact's data is compared with a snapshot taken
//! before. The person appears under every shape ingest links: `messages` and `statuses` shared with another
//! contact, an `smb_message_echoes` body, malformed elements, a body that is not JSON.
//!
//! Then Meta redelivers her old bodies (the same bytes, signed): still nothing of hers anywhere.
//!
//! A second test follows a person across a number change: export by her new number finds what she sent from the
//! old one, and an erasure by her previous parent BSUID removes what is stored under every id she had.

use serde_json::Value;
use std::collections::BTreeMap;
use wavault_core::contact::ContactIdKind;
use wavault_core::records::{body_sha256_hex, journal_key};
use wavault_tests::fake_graph::{MediaBehaviour, DEFAULT_APP_ID};
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::privacy::{self, Exposure, Item, ObjectVersion, Person};
use wavault_tests::realistic::{self, ottoline};
use wavault_tests::webhook_stack::{s, WebhookStack, ACCESS_TOKEN, APP_SECRET};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
/// (place, text) pairs, as the collectors of `wavault_tests::privacy` return them.
type Places = Vec<(String, String)>;
/// A person with a label that names none of their data.
type Labelled = (&'static str, Person);

/// The latest element of a body posted is this many seconds old at the latest ([`realistic::as_delivered_at`]).
const DELIVERY_MARGIN_SECONDS: i64 = 600;

// --- Reading the stores back -------------------------------------------------------------------------------------

/// Everything the table and the bucket hold, read straight from moto (not through the IAM gateway: the test reads
/// as an administrator would).
struct Stores {
    items: Vec<Item>,
    versions: Vec<ObjectVersion>,
}

impl Stores {
    async fn read(w: &WebhookStack) -> TestResult<Stores> {
        let sdk = wavault_tests::aws::sdk_config(&w.endpoint);
        Ok(Stores {
            items: privacy::every_item(&w.stack, &sdk).await?,
            versions: privacy::every_object_version(&w.stack, &sdk).await?,
        })
    }

    /// Every attribute of every item and everything of every object version, as text.
    fn places(&self) -> Places {
        let mut places = privacy::item_contents(&self.items);
        places.extend(privacy::object_contents(&self.versions));
        places
    }

    /// Every exposure of `people` (and where `media` bytes were found), one line each; empty when there is none.
    fn exposures(&self, people: &[Labelled], media: Option<&[u8]>) -> Vec<String> {
        let places = self.places();
        let mut lines: Vec<String> = people
            .iter()
            .flat_map(|(label, person)| {
                person
                    .exposures(&places)
                    .into_iter()
                    .map(move |Exposure { place, what }| format!("{label}: {what} in {place}"))
            })
            .collect();
        if let Some(media) = media {
            lines.extend(
                privacy::bytes_found(&self.items, &self.versions, media)
                    .into_iter()
                    .map(|place| format!("photo bytes in {place}")),
            );
        }
        lines
    }

    /// The bodies of the current journal objects, by key.
    fn journal(&self) -> BTreeMap<&str, &[u8]> {
        self.versions
            .iter()
            .filter(|v| v.is_latest && !v.delete_marker && v.key.starts_with("journal/"))
            .map(|v| (v.key.as_str(), v.body.as_slice()))
            .collect()
    }
}

/// Fails listing every exposure found: whose, what, and the place (item position and kind, or object key and
/// version), never the data itself.
#[track_caller]
fn assert_nothing_of(stores: &Stores, people: &[Labelled], media: Option<&[u8]>, when: &str) {
    let found = stores.exposures(people, media);
    assert!(
        found.is_empty(),
        "{} exposure(s) {when}:\n  {}\n({} items, {} object versions searched)",
        found.len(),
        found.join("\n  "),
        stores.items.len(),
        stores.versions.len()
    );
}

/// One contact's data: every item that is theirs and their elements in every journal object.
#[derive(Debug, PartialEq)]
struct ContactData {
    /// By (`pk`, `sk`), every attribute.
    items: BTreeMap<(String, String), Item>,
    /// By journal key, then `entry <e> change <c> <array>`: the parsed elements naming them.
    elements: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
}

impl ContactData {
    /// `person`'s data in `stores`: items carrying one of the keyed hashes of their ids ([`hashes_of`]), or under
    /// the record key of one of their wamids; elements naming one of their ids or wamids.
    fn of(w: &WebhookStack, stores: &Stores, person: &Person) -> ContactData {
        let elements = stores
            .journal()
            .into_iter()
            .filter_map(|(key, body)| {
                let theirs = privacy::elements_of(body, person)?;
                (!theirs.is_empty()).then(|| (key.to_owned(), theirs))
            })
            .collect();
        ContactData {
            items: privacy::items_of(
                &stores.items,
                &hashes_of(w, person),
                &partitions_of(w, person),
            ),
            elements,
        }
    }
}

/// The keyed hashes the records table may know `person` by: of the number as a `wa_id`, of each BSUID both as a
/// `user_id` and as a `parent_user_id` (a hash of the wrong kind matches nothing).
fn hashes_of(w: &WebhookStack, person: &Person) -> Vec<String> {
    let hasher = &w.stack.contact_hasher;
    let mut hashes: Vec<String> = person
        .phone
        .iter()
        .map(|phone| hasher.hash(ContactIdKind::WaId, phone))
        .collect();
    for id in &person.user_ids {
        hashes.push(hasher.hash(ContactIdKind::UserId, id));
        hashes.push(hasher.hash(ContactIdKind::ParentUserId, id));
    }
    hashes
}

/// The record keys (`pk`) of `person`'s wamids.
fn partitions_of(w: &WebhookStack, person: &Person) -> Vec<String> {
    person
        .wamids
        .iter()
        .map(|wamid| w.stack.message_key(wamid))
        .collect()
}

/// What a tombstone may hold: its key, its kind, when it was erased and when it expires (docs/data.md).
const TOMBSTONE_ATTRIBUTES: &[&str] =
    &["pk", "sk", "kind", "erased_at", "expires_at", "expiry_slot"];

/// Fails unless no item carries a keyed hash of any of `people`'s ids, and every item under the record key of one
/// of their wamids is a tombstone holding nothing but [`TOMBSTONE_ATTRIBUTES`].
#[track_caller]
fn assert_only_tombstones_of(w: &WebhookStack, stores: &Stores, people: &[Labelled], when: &str) {
    for (label, person) in people {
        let hashed = privacy::items_of(&stores.items, &hashes_of(w, person), &[]);
        assert!(
            hashed.is_empty(),
            "{} item(s) {when} still carry a hash of {label}'s ids, of kind(s) {:?}",
            hashed.len(),
            hashed.values().map(|i| s(i, "kind")).collect::<Vec<_>>()
        );
        for (key, item) in privacy::items_of(&stores.items, &[], &partitions_of(w, person)) {
            assert_eq!(
                s(&item, "kind"),
                Some("erased"),
                "{label}'s record {key:?} {when}"
            );
            let extra: Vec<&String> = item
                .keys()
                .filter(|name| !TOMBSTONE_ATTRIBUTES.contains(&name.as_str()))
                .collect();
            assert!(
                extra.is_empty(),
                "{label}'s tombstone {key:?} {when} holds more than a tombstone: {extra:?}"
            );
        }
    }
}

/// Fails unless `person`'s data is exactly `before` (items byte for byte, elements as parsed JSON).
#[track_caller]
fn assert_unchanged(before: &ContactData, now: &ContactData, label: &str, when: &str) {
    let keys = |data: &ContactData| data.items.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(now), keys(before), "{label}'s item keys {when}");
    for (key, item) in &before.items {
        assert!(
            now.items.get(key) == Some(item),
            "{label}'s item {key:?} changed {when}"
        );
    }
    assert_eq!(
        now.elements.keys().collect::<Vec<_>>(),
        before.elements.keys().collect::<Vec<_>>(),
        "the journal objects holding {label}'s elements {when}"
    );
    for (key, elements) in &before.elements {
        assert!(
            now.elements.get(key) == Some(elements),
            "{label}'s elements of {key} changed {when}"
        );
    }
}

// --- Driving the pipeline ----------------------------------------------------------------------------------------

/// Posts each body signed with the app secret, as Meta does; every one must be acknowledged.
async fn deliver(w: &WebhookStack, bodies: &[(&'static str, Vec<u8>)]) -> TestResult {
    for (name, body) in bodies {
        let answer = w.post_signed(body).await?;
        assert_eq!(answer.status, 200, "{name}.json: {}", answer.body);
    }
    Ok(())
}

/// Runs the media fetcher over the queue until it is empty (a retried job is made visible again at once by
/// `fetch_round`); the media ids it was handed.
async fn fetch_media(m: &MediaStack) -> TestResult<Vec<String>> {
    let mut handed = Vec::new();
    for _ in 0..5 {
        let round = m.fetch_round().await?;
        assert!(
            round.retried.is_empty(),
            "{round:?}\n{}",
            m.fetcher.logs().join("\n")
        );
        if round.media_ids.is_empty() {
            return Ok(handed);
        }
        handed.extend(round.media_ids);
    }
    Err("the media queue did not empty in 5 rounds".into())
}

/// The real `wavault` binary as the operator (the template's operator policy, checked by the IAM gateway), with the
/// stack's environment only: its summary and its stdout and stderr lines. Erasures run with `--concurrency 1`
/// (moto's S3 listing races with concurrent deletes).
async fn wavault(w: &WebhookStack, args: &[&str]) -> TestResult<(Value, Vec<String>)> {
    let output = w.run_wavault(args).await?;
    let stdout = String::from_utf8(output.stdout)?;
    let stderr = String::from_utf8(output.stderr)?;
    if !output.status.success() {
        return Err(format!("wavault {} failed ({}): {stderr}", args[0], output.status).into());
    }
    let summary = serde_json::from_str(&stdout)
        .map_err(|e| format!("wavault {} printed no JSON summary ({e})", args[0]))?;
    let lines = stdout
        .lines()
        .chain(stderr.lines())
        .map(str::to_owned)
        .collect();
    Ok((summary, lines))
}

/// Fails unless the summary holds counts only: `command`, `contact` (16 hex of a hash of a keyed hash, the audit
/// id) and non-negative integers; and unless no line the tool printed holds anything of `people`.
#[track_caller]
fn assert_counts_only(summary: &Value, lines: &[String], command: &str, people: &[Labelled]) {
    let fields = summary.as_object().expect("the summary is a JSON object");
    for (name, value) in fields {
        match name.as_str() {
            "command" => assert_eq!(value, command, "summary field {name}"),
            "contact" => assert!(
                value
                    .as_str()
                    .is_some_and(|v| v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit())),
                "summary field {name} is not a 16-hex audit id"
            ),
            _ => assert!(value.is_u64(), "summary field {name} is not a count"),
        }
    }
    let places = privacy::log_lines(&format!("wavault {command}"), lines);
    for (label, person) in people {
        let found = person.exposures(&places);
        assert!(
            found.is_empty(),
            "wavault {command} printed {label}'s data: {found:?}"
        );
    }
}

fn count(summary: &Value, name: &str) -> u64 {
    summary[name].as_u64().unwrap_or(u64::MAX)
}

/// The bodies `names` as Meta would deliver them now ([`realistic::as_delivered_at`]).
fn bodies_now(names: &[&'static str]) -> TestResult<Vec<(&'static str, Vec<u8>)>> {
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    Ok(realistic::as_delivered_at(
        realistic::fixtures_named(names)?,
        now,
        DELIVERY_MARGIN_SECONDS,
    ))
}

/// The bodies among `bodies` that hold anything of `person` (as sent).
fn bodies_holding(
    bodies: &[(&'static str, Vec<u8>)],
    person: &Person,
) -> Vec<(&'static str, Vec<u8>)> {
    bodies
        .iter()
        .filter(|(name, body)| {
            let text = String::from_utf8_lossy(body).into_owned();
            !person.exposures(&[((*name).to_owned(), text)]).is_empty()
        })
        .cloned()
        .collect()
}

// --- The tests ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn erasing_zephyrine_by_her_bsuid_leaves_nothing_of_her_in_any_item_or_object_version_even_after_redelivery_and_bartholomew_unchanged(
) -> TestResult {
    let moto = MotoServer::shared()?;
    let m = MediaStack::start(&moto.endpoint(), "erasure-scan").await?;
    m.graph.set_app(DEFAULT_APP_ID, APP_SECRET);
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    m.graph.add_media(
        realistic::IMAGE_MEDIA_ID,
        realistic::image_bytes(),
        realistic::IMAGE_MIME_TYPE,
        MediaBehaviour::Ok,
    );
    let w = &m.webhook;
    let zephyrine = [("Zephyrine", realistic::zephyrine_everywhere())];
    let bartholomew = realistic::bartholomew_everywhere();
    let photo = realistic::image_bytes();

    // 1. Meta delivers every fixture of the folder, one webhook each; the fetcher archives the photo.
    let bodies = bodies_now(&realistic::all_fixture_names())?;
    deliver(w, &bodies).await?;
    // Two media jobs: her photo, and the photo in her drifted element (a numeric media id, read as its
    // digits; the fake Graph API does not know it, so that job ends failed, with nothing archived).
    let mut fetched = fetch_media(&m).await?;
    fetched.sort();
    let mut expected = vec![
        "1493318722875447".to_owned(),
        realistic::IMAGE_MEDIA_ID.to_owned(),
    ];
    expected.sort();
    assert_eq!(fetched, expected, "her photo and her drifted photo");

    // 2. The scan sees her (an empty collection must not pass), Bartholomew's data is snapshotted.
    let before = Stores::read(w).await?;
    let seen = before.exposures(&zephyrine, Some(&photo));
    for (what, marker) in [
        ("in an item", " in dynamodb item "),
        ("in a journal object", " in s3 journal/"),
        ("in the unparsed journal", " in s3 journal/unparsed/"),
        ("her photo in the bucket", "photo bytes in s3 media/"),
    ] {
        assert!(
            seen.iter().any(|line| line.contains(marker)),
            "before the erasure the scan finds nothing of her {what}: the scan or the fixtures are wrong"
        );
    }
    assert!(
        !privacy::items_of(&before.items, &hashes_of(w, &zephyrine[0].1), &[]).is_empty(),
        "before the erasure no item carries a hash of her ids: the hashes are wrong"
    );
    let bart_before = ContactData::of(w, &before, &bartholomew);
    let ids = realistic::erasure_wamids();
    let his_records: Vec<(String, String)> = [
        (&realistic::wamids().username_user_text, "message"),
        (&ids.bartholomew_shared, "message"),
        (&ids.bartholomew_shared_reply, "status#delivered"),
        (&ids.bartholomew_beside_malformed, "message"),
    ]
    .into_iter()
    .map(|(wamid, sk)| (w.stack.message_key(wamid), sk.to_owned()))
    .collect();
    for key in &his_records {
        assert!(
            bart_before.items.contains_key(key),
            "Bartholomew's record {key:?} is missing before the erasure"
        );
    }
    let his_links = bart_before
        .items
        .values()
        .filter(|item| s(item, "kind") == Some("journal-link"))
        .count();
    assert_eq!(his_links, 3, "a journal link for each of his three bodies");
    let his_journal: Vec<String> = [
        "username_user_text",
        "shared_zephyrine_bartholomew",
        "malformed_beside_bartholomew",
    ]
    .iter()
    .map(|name| {
        let (_, body) = bodies.iter().find(|(n, _)| n == name).expect("posted");
        journal_key(&body_sha256_hex(body), true)
    })
    .collect();
    assert_eq!(
        bart_before.elements.keys().cloned().collect::<Vec<_>>(),
        {
            let mut keys = his_journal.clone();
            keys.sort();
            keys
        },
        "his elements are in his three journal objects"
    );

    // 3. The operator erases her by one id: her BSUID.
    let user_id = realistic::zephyrine_user_id();
    let (summary, lines) = wavault(
        w,
        &["erase", "--concurrency", "1", "--user-id", user_id.as_str()],
    )
    .await?;
    assert_counts_only(&summary, &lines, "erase", &zephyrine);
    // Her 8 readable records, the drifted photo message and her element without an id (an unreadable item).
    assert_eq!(count(&summary, "records_erased"), 10, "{summary}");
    assert_eq!(count(&summary, "media_objects_deleted"), 1, "{summary}");
    assert_eq!(count(&summary, "journal_objects_redacted"), 2, "{summary}");
    assert_eq!(
        count(&summary, "journal_objects_unreadable"),
        1,
        "{summary}"
    );
    let erased = Stores::read(w).await?;
    assert_nothing_of(&erased, &zephyrine, Some(&photo), "after the erasure");
    assert_only_tombstones_of(w, &erased, &zephyrine, "after the erasure");
    assert_unchanged(
        &bart_before,
        &ContactData::of(w, &erased, &bartholomew),
        "Bartholomew",
        "by her erasure",
    );

    // 4. Meta redelivers every old body of hers, the same bytes signed again; the fetcher runs.
    let hers = bodies_holding(&bodies, &zephyrine[0].1);
    assert_eq!(
        hers.len(),
        10,
        "her bodies: {:?}",
        hers.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    deliver(w, &hers).await?;
    assert_eq!(fetch_media(&m).await?, Vec::<String>::new(), "no media job");
    let redelivered = Stores::read(w).await?;
    assert_nothing_of(
        &redelivered,
        &zephyrine,
        Some(&photo),
        "after the redelivery",
    );
    assert_only_tombstones_of(w, &redelivered, &zephyrine, "after the redelivery");
    assert_unchanged(
        &bart_before,
        &ContactData::of(w, &redelivered, &bartholomew),
        "Bartholomew",
        "by the redelivery of her bodies",
    );
    Ok(())
}

#[tokio::test]
async fn export_by_ottolines_new_number_finds_her_old_one_and_erasure_by_her_previous_parent_bsuid_leaves_nothing_of_any_id_and_bartholomew_unchanged(
) -> TestResult {
    let moto = MotoServer::shared()?;
    let w = WebhookStack::start(&moto.endpoint(), "erasure-scan-number", &[]).await?;
    let ottoline_ids = realistic::ottoline_everywhere();
    let bartholomew = realistic::bartholomew_everywhere();

    // Her old number, the change, her new number; and a bystander.
    let mut names = realistic::NUMBER_CHANGE_FIXTURES.to_vec();
    names.push("username_user_text");
    let bodies = bodies_now(&names)?;
    deliver(&w, &bodies).await?;
    let before = Stores::read(&w).await?;
    assert!(
        !before.exposures(&ottoline_ids, None).is_empty(),
        "before the erasure the scan finds nothing of her: the scan or the fixtures are wrong"
    );
    for (label, person) in &ottoline_ids {
        assert!(
            !privacy::items_of(&before.items, &hashes_of(&w, person), &[]).is_empty(),
            "before the erasure no item carries a hash of {label}: the hashes are wrong"
        );
    }
    let bart_before = ContactData::of(&w, &before, &bartholomew);
    assert!(!bart_before.items.is_empty(), "Bartholomew's items");

    // Export by her new number: what she sent from the old one is there too.
    let out = std::env::temp_dir().join(format!("wavault-erasure-scan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.display().to_string();
    let exported = wavault(
        &w,
        &[
            "export",
            "--wa-id",
            ottoline::NEW_PHONE,
            "--out",
            out_text.as_str(),
        ],
    )
    .await;
    let files = exported.and_then(|(summary, lines)| {
        let records = std::fs::read(out.join("records.json"))?;
        let journal = std::fs::read(out.join("journal.json"))?;
        Ok((summary, lines, records, journal))
    });
    let _ = std::fs::remove_dir_all(&out);
    let (summary, lines, records, journal) = files?;
    assert_counts_only(&summary, &lines, "export", &ottoline_ids);
    let records: Vec<Value> = serde_json::from_slice(&records)?;
    let journal: Vec<Value> = serde_json::from_slice(&journal)?;
    let sent = |name: &str| -> TestResult<Value> {
        let (_, body) = bodies.iter().find(|(n, _)| *n == name).ok_or("posted")?;
        let body: Value = serde_json::from_slice(body)?;
        Ok(body["entry"][0]["changes"][0]["value"]["messages"][0].clone())
    };
    let wamids = realistic::erasure_wamids();
    for (name, wamid) in [
        ("ottoline_before_change", &wamids.ottoline_before),
        ("user_changed_number", &realistic::wamids().number_change),
        ("ottoline_after_change", &wamids.ottoline_after),
    ] {
        let pk = w.stack.message_key(wamid);
        let record = records
            .iter()
            .find(|r| r["pk"] == pk.as_str() && r["sk"] == "message")
            .ok_or_else(|| format!("the export by her new number lacks the record of {name}"))?;
        assert_eq!(record["raw"], sent(name)?, "{name}: raw as sent");
    }
    assert_eq!(records.len(), 3, "her three messages, nothing else");
    let old_body = &bodies
        .iter()
        .find(|(n, _)| *n == "ottoline_before_change")
        .ok_or("posted")?
        .1;
    let old_key = journal_key(&body_sha256_hex(old_body), true);
    let old_entry = journal
        .iter()
        .find(|e| e["journal_key"] == old_key.as_str())
        .ok_or("the export by her new number lacks the journal object of her old number")?;
    assert_eq!(
        old_entry["contact"]["messages"],
        Value::Array(vec![sent("ottoline_before_change")?]),
        "her old number's message, as sent"
    );

    // Erase her by her previous parent BSUID alone.
    let parent = realistic::ottoline_previous_parent_user_id();
    let (summary, lines) = wavault(
        &w,
        &[
            "erase",
            "--concurrency",
            "1",
            "--parent-user-id",
            parent.as_str(),
        ],
    )
    .await?;
    assert_counts_only(&summary, &lines, "erase", &ottoline_ids);
    assert_eq!(count(&summary, "records_erased"), 3, "{summary}");
    assert_eq!(
        count(&summary, "erasure_markers"),
        6,
        "a marker for each of her ids (2 numbers, 2 BSUIDs, 2 parent BSUIDs): {summary}"
    );
    let erased = Stores::read(&w).await?;
    assert_nothing_of(&erased, &ottoline_ids, None, "after her erasure");
    assert_only_tombstones_of(&w, &erased, &ottoline_ids, "after her erasure");
    assert_unchanged(
        &bart_before,
        &ContactData::of(&w, &erased, &bartholomew),
        "Bartholomew",
        "by her erasure",
    );
    Ok(())
}
