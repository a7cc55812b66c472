//! Webhook traffic for the fault and storm tests: many bodies in Meta's shapes, with real-format wamids (they embed
//! the sender's phone number), text and image messages, and statuses of outbound messages, each body knowing what
//! it must become.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};
use wavault_core::records::{body_sha256_hex, journal_key};

use crate::webhook_stack::{s, WebhookStack};
use crate::{Error, Result};

use crate::meta_ids::{wamid, Direction};
use crate::realistic::{DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID, WABA_ID};

/// One webhook body and what it must leave behind.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: Vec<u8>,
    /// Inbound messages it carries: (wamid, media id for an image, else `None`).
    pub messages: Vec<(String, Option<String>)>,
    /// Outbound messages it carries a status of.
    pub statuses: Vec<String>,
}

impl Delivery {
    /// The journal object the body must be stored as.
    pub fn journal_key(&self) -> String {
        journal_key(&body_sha256_hex(&self.body), true)
    }
}

/// `count` distinct bodies: from `contacts` phone numbers in turn, each with one to three messages (about half of
/// them images) and, every fourth body, a status of an earlier outbound message instead. `tag` keeps two tests' ids apart.
pub fn deliveries(tag: &str, count: usize) -> Vec<Delivery> {
    let phones: Vec<String> = (0..7)
        .map(|i| format!("49157{:08}", 10_000_000 + i * 7_919))
        .collect();
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let phone = &phones[n % phones.len()];
        if n % 4 == 3 {
            let outbound = wamid(phone, Direction::Outbound, &format!("{tag}/out/{n}"));
            let status = json!({
                "id": outbound, "status": "delivered", "timestamp": (1_764_000_000 + n).to_string(),
                "recipient_id": phone,
                "conversation": {"id": format!("{:032x}", n), "origin": {"type": "service"}},
                "pricing": {"billable": true, "pricing_model": "PMP", "category": "service"},
            });
            out.push(Delivery {
                body: envelope(json!({
                    "messaging_product": "whatsapp",
                    "metadata": metadata(),
                    "statuses": [status],
                })),
                messages: Vec::new(),
                statuses: vec![outbound],
            });
            continue;
        }
        let mut messages = Vec::new();
        let mut elements = Vec::new();
        for m in 0..(1 + n % 3) {
            let id = wamid(phone, Direction::Inbound, &format!("{tag}/{n}/{m}"));
            let timestamp = (1_764_000_000 + n * 10 + m).to_string();
            if m == 0 && n % 2 == 0 || (n + m) % 3 == 0 {
                let media_id = format!("{}", 1_493_318_722_000_000u64 + (n * 10 + m) as u64);
                elements.push(json!({
                    "from": phone, "id": id, "timestamp": timestamp, "type": "image",
                    "image": {"id": media_id, "mime_type": "image/jpeg",
                              "sha256": "Mj8TTkOrUdQM1rHmXE2Kfy0lmDDqaDlJDWwYS95ruQs="},
                }));
                messages.push((id, Some(media_id)));
            } else {
                elements.push(json!({
                    "from": phone, "id": id, "timestamp": timestamp, "type": "text",
                    "text": {"body": format!("Is parcel {n}-{m} on its way to the Quayside depot?")},
                }));
                messages.push((id, None));
            }
        }
        out.push(Delivery {
            body: envelope(json!({
                "messaging_product": "whatsapp",
                "metadata": metadata(),
                "contacts": [{"profile": {"name": format!("Customer {}", n % phones.len())}, "wa_id": phone}],
                "messages": elements,
            })),
            messages,
            statuses: Vec::new(),
        });
    }
    out
}

fn metadata() -> Value {
    json!({"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": PHONE_NUMBER_ID})
}

fn envelope(value: Value) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    })
    .to_string()
    .into_bytes()
}

/// What [`check_stored_once`] counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub bodies: usize,
    pub messages: usize,
    pub statuses: usize,
}

/// Checks that `traffic` is stored exactly once in `w`, whatever the deliveries and retries were: one journal
/// object per body (none unparsed), one record per message under its own key and one per status, no error or
/// unreadable record, and a job on the media queue for every media file (drained: at least once, duplicates
/// allowed). A difference is an `Err` naming it.
pub async fn check_stored_once(w: &WebhookStack, traffic: &[Delivery]) -> Result<Stored> {
    let fail = |what: String| Err(Error::Emulator(what));
    let journal: BTreeSet<String> = w.keys("journal/").await?.into_iter().collect();
    let expected: BTreeSet<String> = traffic.iter().map(Delivery::journal_key).collect();
    if journal != expected {
        return fail(format!(
            "journal: {} objects for {} bodies ({} unexpected)",
            journal.len(),
            expected.len(),
            journal.difference(&expected).count()
        ));
    }
    let records = w.records().await?;
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for item in &records {
        *kinds
            .entry(s(item, "kind").unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    let messages: usize = traffic.iter().map(|d| d.messages.len()).sum();
    let statuses: usize = traffic.iter().map(|d| d.statuses.len()).sum();
    let want = HashMap::from([
        ("message".to_owned(), messages),
        ("status".to_owned(), statuses),
    ]);
    if kinds != want {
        return fail(format!("records by kind {kinds:?}, expected {want:?}"));
    }
    let message_pks: BTreeSet<String> = records
        .iter()
        .filter(|i| s(i, "kind") == Some("message"))
        .filter_map(|i| s(i, "pk").map(str::to_owned))
        .collect();
    let expected_pks: BTreeSet<String> = traffic
        .iter()
        .flat_map(|d| {
            d.messages
                .iter()
                .map(|(wamid, _)| w.stack.message_key(wamid))
        })
        .collect();
    if message_pks != expected_pks {
        return fail("message records under other keys than their wamids' keyed hashes".into());
    }
    let queued: BTreeSet<String> = w
        .drain_jobs()
        .await?
        .iter()
        .filter_map(|job| job["record"].as_str().map(str::to_owned))
        .collect();
    let media: BTreeSet<String> = traffic
        .iter()
        .flat_map(|d| d.messages.iter())
        .filter(|(_, media)| media.is_some())
        .map(|(wamid, _)| w.stack.message_key(wamid))
        .collect();
    if !media.is_subset(&queued) {
        return fail(format!(
            "{} media files without a job",
            media.difference(&queued).count()
        ));
    }
    Ok(Stored {
        bodies: traffic.len(),
        messages,
        statuses,
    })
}
