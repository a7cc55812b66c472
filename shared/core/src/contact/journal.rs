//! A contact's share of a journal body: found, split out (export) or redacted away (erasure, and
//! ingest of a body that holds an erased contact's old data).
//!
//! Elements are the objects of every array under a change's `value`, whatever the field
//! (`messages`, `statuses`, `message_echoes`, `user_preferences`, ...). An element belongs to a
//! person when one of its role groups ([`element_groups`]) is that person ([`mentions_in`] joins
//! ids across the body, so a status that names only a BSUID is matched through `contacts[]`). A
//! `contacts[]` entry goes with its person, unless an element of that person stays. In what
//! stays, nested elements of the person (a shared contact card's phone entry, a history thread's
//! message) are taken out too, and any remaining id field naming them (`context.from`) is removed,
//! so no id of the person is left anywhere in the body.

use super::hashing::{ContactHasher, ContactIdKind};
use super::ids::ContactHashes;
use super::mentions::{
    element_groups, id_field_kind, mentions, mentions_in, names_anyone, MentionedId,
    MentionedPerson, Mentions,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Which elements to take out of a body.
pub trait ElementFilter {
    /// True when the person's element, sent at `timestamp` (epoch seconds; `None` when the element
    /// has none, or for a `contacts[]` entry), is to be taken out.
    fn takes(&self, person: &MentionedPerson, timestamp: Option<i64>) -> bool;
}

/// The contact being erased or exported: every element of theirs, whenever it was sent.
pub struct ContactMatcher<'a> {
    pub hasher: &'a ContactHasher,
    pub hashes: &'a ContactHashes,
}

impl ContactMatcher<'_> {
    /// True when the id hashes to one of the contact's hashes.
    pub fn is_contact_id(&self, kind: ContactIdKind, id: &str) -> bool {
        !id.is_empty() && self.hashes.contains(kind, &self.hasher.hash(kind, id))
    }
}

impl ElementFilter for ContactMatcher<'_> {
    fn takes(&self, person: &MentionedPerson, _timestamp: Option<i64>) -> bool {
        person
            .ids
            .iter()
            .any(|id| self.is_contact_id(id.kind, &id.id))
    }
}

/// Erased contacts as ingest sees them: their keyed hashes and when each was erased. An element
/// of one sent at or before the erasure is an old body redelivered (or replayed): it is taken
/// out. What the contact sends after the erasure is new data, kept as any other.
pub struct ErasedContacts<'a> {
    pub hasher: &'a ContactHasher,
    /// `(kind, contact hash)` -> erased at (epoch seconds).
    pub erased_at: &'a HashMap<(ContactIdKind, String), i64>,
}

impl ErasedContacts<'_> {
    /// The latest erasure of any of the person's ids.
    fn erasure_of(&self, person: &MentionedPerson) -> Option<i64> {
        person
            .hashes(self.hasher)
            .into_iter()
            .filter_map(|key| self.erased_at.get(&key).copied())
            .max()
    }
}

impl ElementFilter for ErasedContacts<'_> {
    fn takes(&self, person: &MentionedPerson, timestamp: Option<i64>) -> bool {
        match (self.erasure_of(person), timestamp) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(erased_at), Some(sent_at)) => sent_at <= erased_at,
        }
    }
}

/// The contact's own elements of a journal object, by the array they were in (`contacts`,
/// `messages`, `statuses`, `message_echoes`, ...). Serialised as that map.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct ContactElements {
    pub by_array: BTreeMap<String, Vec<Value>>,
}

impl ContactElements {
    pub fn is_empty(&self) -> bool {
        self.by_array.values().all(Vec::is_empty)
    }

    /// The elements taken from one array (`messages`, ...).
    pub fn of(&self, array: &str) -> &[Value] {
        self.by_array.get(array).map_or(&[], Vec::as_slice)
    }
}

/// A journal body split into the contact's elements and everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalSplit {
    /// The body without the contact's elements and ids.
    pub rest: Value,
    pub contact: ContactElements,
    /// Nested elements and id fields of the contact removed from what stays.
    pub mentions_removed: usize,
    /// Elements that name someone (`contacts[]` entries aside) left in `rest`.
    pub remaining: usize,
}

impl JournalSplit {
    /// Nothing of the contact was found.
    pub fn is_untouched(&self) -> bool {
        self.contact.is_empty() && self.mentions_removed == 0
    }
}

/// Splits a webhook body (any JSON): the elements the filter takes out of every
/// `entry[].changes[].value`, and the rest without any id of those people. `None`: not JSON.
pub fn split_journal(body: &[u8], filter: &dyn ElementFilter) -> Option<JournalSplit> {
    let mut root: Value = serde_json::from_slice(body).ok()?;
    let people = mentions_in(&root);
    let splitter = Splitter {
        filter,
        people: &people,
    };
    let mut split = JournalSplit {
        rest: Value::Null,
        contact: ContactElements::default(),
        mentions_removed: 0,
        remaining: 0,
    };
    // People with an element that stays (ingest keeps what an erased contact sent afterwards):
    // their ids stay too.
    let mut kept_people = HashSet::new();
    let mut taken_people = HashSet::new();
    for value in change_values(&mut root) {
        splitter.split_value(value, &mut split, &mut kept_people, &mut taken_people);
    }
    let scrub: HashSet<usize> = taken_people.difference(&kept_people).copied().collect();
    if !scrub.is_empty() {
        split.mentions_removed += splitter.scrub(&mut root, &scrub);
    }
    split.rest = root;
    Some(split)
}

/// Every `entry[].changes[].value` object.
fn change_values(root: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    root.get_mut("entry")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get_mut("changes").and_then(Value::as_array_mut))
        .flatten()
        .filter_map(|change| change.get_mut("value").and_then(Value::as_object_mut))
}

struct Splitter<'a> {
    filter: &'a dyn ElementFilter,
    people: &'a Mentions,
}

impl Splitter<'_> {
    /// The people an element belongs to (one per role group).
    fn people_of(&self, element: &Value) -> Vec<usize> {
        let mut people: Vec<usize> = element_groups(element, &self.people.business)
            .iter()
            .filter_map(|group| group.first())
            .filter_map(|id| self.people.person_of(id))
            .collect();
        people.sort_unstable();
        people.dedup();
        people
    }

    fn takes(&self, person: usize, timestamp: Option<i64>) -> bool {
        self.people
            .people
            .get(person)
            .is_some_and(|person| self.filter.takes(person, timestamp))
    }

    fn split_value(
        &self,
        value: &mut Map<String, Value>,
        split: &mut JournalSplit,
        kept_people: &mut HashSet<usize>,
        taken_people: &mut HashSet<usize>,
    ) {
        let arrays: Vec<String> = value
            .iter()
            .filter(|(name, item)| item.is_array() && name.as_str() != "contacts")
            .map(|(name, _)| name.clone())
            .collect();
        for name in arrays {
            let Some(Value::Array(elements)) = value.get_mut(&name) else {
                continue;
            };
            let mut kept = Vec::with_capacity(elements.len());
            for element in std::mem::take(elements) {
                let Some(object) = element.as_object() else {
                    kept.push(element);
                    continue;
                };
                let sent_at = timestamp(object);
                let owners = self.people_of(&element);
                if owners.iter().any(|&person| self.takes(person, sent_at)) {
                    taken_people.extend(owners);
                    split
                        .contact
                        .by_array
                        .entry(name.clone())
                        .or_default()
                        .push(element);
                } else {
                    kept_people.extend(owners);
                    kept.push(element);
                }
            }
            // What stays and names someone keeps the body (a value-level error names no one).
            split.remaining += kept
                .iter()
                .filter(|element| names_anyone(element, &self.people.business))
                .count();
            *elements = kept;
        }
        if let Some(Value::Array(contacts)) = value.get_mut("contacts") {
            let mut kept = Vec::with_capacity(contacts.len());
            for entry in std::mem::take(contacts) {
                let owners = self.people_of(&entry);
                let theirs = owners
                    .iter()
                    .any(|p| self.takes(*p, None) && !kept_people.contains(p));
                if theirs {
                    taken_people.extend(owners);
                    split
                        .contact
                        .by_array
                        .entry("contacts".into())
                        .or_default()
                        .push(entry);
                } else {
                    kept.push(entry);
                }
            }
            *contacts = kept;
        }
    }

    /// Takes the people's nested elements and id fields out of everything left; returns how many.
    fn scrub(&self, value: &mut Value, people: &HashSet<usize>) -> usize {
        let mut removed = 0;
        match value {
            Value::Array(items) => {
                let before = items.len();
                items.retain(|item| {
                    !(item.is_object() && self.people_of(item).iter().any(|p| people.contains(p)))
                });
                removed += before - items.len();
                for item in items {
                    removed += self.scrub(item, people);
                }
            }
            Value::Object(map) => {
                let before = map.len();
                map.retain(|name, field| {
                    let Some(kind) = id_field_kind(name) else {
                        return true;
                    };
                    let Some(raw) = field.as_str() else {
                        return true;
                    };
                    let id = MentionedId {
                        kind,
                        id: kind.normalise(raw).into_owned(),
                    };
                    !self
                        .people
                        .person_of(&id)
                        .is_some_and(|p| people.contains(&p))
                });
                removed += before - map.len();
                for child in map.values_mut() {
                    removed += self.scrub(child, people);
                }
            }
            _ => {}
        }
        removed
    }
}

/// An element's `timestamp` (Meta sends a string of epoch seconds; a number is read too).
fn timestamp(element: &Map<String, Value>) -> Option<i64> {
    match element.get("timestamp")? {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    }
}

/// What becomes of a body with a person's elements taken out: for erasure, of a journal
/// object; for ingest, of a body that holds an erased contact's old data (the two `Delete`s then
/// mean: store nothing).
#[derive(Debug, Clone, PartialEq)]
pub enum Redaction {
    /// Nothing of the person in it.
    Unchanged,
    /// Write this instead, under the same key (other people's elements remain).
    Rewrite(Vec<u8>),
    /// No element naming anyone else remains.
    Delete,
    /// Not JSON, and the person's ids are in its text: it cannot be redacted safely.
    DeleteUnreadable,
}

/// Decides what becomes of a body once the filter's elements are taken out.
pub fn redact(body: &[u8], filter: &dyn ElementFilter) -> Redaction {
    let Some(split) = split_journal(body, filter) else {
        let named = mentions(body)
            .people
            .iter()
            .any(|person| filter.takes(person, None));
        return if named {
            Redaction::DeleteUnreadable
        } else {
            Redaction::Unchanged
        };
    };
    if split.is_untouched() {
        Redaction::Unchanged
    } else if split.remaining == 0 {
        Redaction::Delete
    } else {
        // Serialising a `Value` cannot fail (string keys only).
        Redaction::Rewrite(serde_json::to_vec(&split.rest).unwrap_or_default())
    }
}
