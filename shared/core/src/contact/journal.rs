//! A contact's share of a journal body: found, split out (export) or redacted away (erasure).

use super::hashing::{ContactHasher, ContactIdKind};
use super::ids::ContactHashes;
use serde_json::{Map, Value};

/// Tells whether a contact id (as found in a journal) is the contact being erased or exported.
pub struct ContactMatcher<'a> {
    pub hasher: &'a ContactHasher,
    pub hashes: &'a ContactHashes,
}

impl ContactMatcher<'_> {
    /// True when either id hashes to one of the contact's hashes.
    pub fn is_contact(&self, wa_id: Option<&str>, user_id: Option<&str>) -> bool {
        let wa = wa_id.filter(|id| !id.is_empty()).is_some_and(|id| {
            self.hashes
                .wa
                .contains(&self.hasher.hash(ContactIdKind::WaId, id))
        });
        wa || user_id.filter(|id| !id.is_empty()).is_some_and(|id| {
            self.hashes
                .user
                .contains(&self.hasher.hash(ContactIdKind::UserId, id))
        })
    }
}

/// The contact's own elements of a journal object.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct ContactElements {
    pub contacts: Vec<Value>,
    pub messages: Vec<Value>,
    pub statuses: Vec<Value>,
}

impl ContactElements {
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.messages.is_empty() && self.statuses.is_empty()
    }
}

/// A journal body split into the contact's elements and everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalSplit {
    /// The body without the contact's elements.
    pub rest: Value,
    pub contact: ContactElements,
    /// Messages and statuses (of anyone) left in `rest`.
    pub remaining: usize,
}

/// Splits a webhook body: `contacts[]` entries of the contact, messages whose `from` /
/// `from_user_id` and statuses whose `recipient_id` / `recipient_user_id` are the contact (an id
/// missing on the element is completed from `contacts[]`, as ingest does). `None`: not JSON.
pub fn split_journal(body: &[u8], matcher: &ContactMatcher<'_>) -> Option<JournalSplit> {
    let mut root: Value = serde_json::from_slice(body).ok()?;
    let mut contact = ContactElements::default();
    let mut remaining = 0;
    let entries = root.get_mut("entry").and_then(Value::as_array_mut);
    for entry in entries.into_iter().flatten() {
        let changes = entry.get_mut("changes").and_then(Value::as_array_mut);
        for change in changes.into_iter().flatten() {
            let Some(value) = change.get_mut("value").and_then(Value::as_object_mut) else {
                continue;
            };
            let listed = listed_contacts(value);
            for (array, wa_field, user_field) in [
                ("messages", "from", "from_user_id"),
                ("statuses", "recipient_id", "recipient_user_id"),
            ] {
                let Some(Value::Array(elements)) = value.get_mut(array) else {
                    continue;
                };
                let (theirs, others): (Vec<Value>, Vec<Value>) =
                    std::mem::take(elements).into_iter().partition(|element| {
                        let (wa, user) = element_ids(element, wa_field, user_field, &listed);
                        matcher.is_contact(wa.as_deref(), user.as_deref())
                    });
                remaining += others.len();
                *elements = others;
                match array {
                    "messages" => contact.messages.extend(theirs),
                    _ => contact.statuses.extend(theirs),
                }
            }
            if let Some(Value::Array(contacts)) = value.get_mut("contacts") {
                let (theirs, others): (Vec<Value>, Vec<Value>) = std::mem::take(contacts)
                    .into_iter()
                    .partition(|c| matcher.is_contact(field(c, "wa_id"), field(c, "user_id")));
                *contacts = others;
                contact.contacts.extend(theirs);
            }
        }
    }
    Some(JournalSplit {
        rest: root,
        contact,
        remaining,
    })
}

/// What erasure does with one journal object.
#[derive(Debug, Clone, PartialEq)]
pub enum Redaction {
    /// Nothing of the contact in it.
    Unchanged,
    /// Not JSON: left alone and counted.
    NotJson,
    /// Write this back under the same key (other contacts' elements remain).
    Rewrite(Vec<u8>),
    /// No message or status of anyone remains: delete the object.
    Delete,
}

/// Decides what becomes of a journal body when the contact is erased.
pub fn redact_journal(body: &[u8], matcher: &ContactMatcher<'_>) -> Redaction {
    let Some(split) = split_journal(body, matcher) else {
        return Redaction::NotJson;
    };
    if split.contact.is_empty() {
        Redaction::Unchanged
    } else if split.remaining == 0 {
        Redaction::Delete
    } else {
        // Serialising a `Value` cannot fail (string keys only).
        Redaction::Rewrite(serde_json::to_vec(&split.rest).unwrap_or_default())
    }
}

fn field<'v>(value: &'v Value, name: &str) -> Option<&'v str> {
    value.get(name).and_then(Value::as_str)
}

/// `(wa_id, user_id)` of each `contacts[]` entry.
fn listed_contacts(value: &Map<String, Value>) -> Vec<(Option<String>, Option<String>)> {
    match value.get("contacts") {
        Some(Value::Array(contacts)) => contacts
            .iter()
            .map(|c| {
                (
                    field(c, "wa_id").map(str::to_owned),
                    field(c, "user_id").map(str::to_owned),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The element's contact ids, one completed from `contacts[]` when only the other is present.
fn element_ids(
    element: &Value,
    wa_field: &str,
    user_field: &str,
    listed: &[(Option<String>, Option<String>)],
) -> (Option<String>, Option<String>) {
    let wa = field(element, wa_field).filter(|v| !v.is_empty());
    let user = field(element, user_field).filter(|v| !v.is_empty());
    let entry = listed.iter().find(|(listed_wa, listed_user)| {
        (wa.is_some() && listed_wa.as_deref() == wa)
            || (user.is_some() && listed_user.as_deref() == user)
    });
    (
        wa.map(str::to_owned)
            .or_else(|| entry.and_then(|e| e.0.clone())),
        user.map(str::to_owned)
            .or_else(|| entry.and_then(|e| e.1.clone())),
    )
}
