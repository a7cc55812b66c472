//! Who a webhook body mentions: every contact id under any field, whether or not the body parsed
//! as a notification, grouped into people.
//!
//! Ingest links a journal object to every person it mentions, so erasure and export find it
//! whatever field the person appears under (`messages`, `smb_message_echoes`, `standby`,
//! `history`, a malformed element, a body that is not JSON at all), and looks those people up
//! among erased contacts before anything is stored.
//!
//! Grouping follows where Meta puts ids. The ids of one role in one object name one person
//! (`from` + `from_user_id` + `from_parent_user_id`; a `contacts[]` entry's `wa_id` + `user_id` +
//! `parent_user_id`; `recipient_*`; `to*` in echoes). A `user_changed_number` /
//! `user_changed_user_id` system message joins the sender's ids with the new and previous ids it
//! announces. Groups that share an id are one person. The business's own number (any
//! `metadata.display_phone_number` of the body) is no contact. In a body that is not JSON, each
//! `"<id field>": "<value>"` found in the text is its own person: text that did not parse proves
//! no link between two ids.

use super::hashing::{ContactHasher, ContactIdKind};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

/// One contact id as Meta sent it, normalised ([`ContactIdKind::normalise`]). Raw personal data:
/// it never leaves the process (its `Debug` shows the kind only).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MentionedId {
    pub kind: ContactIdKind,
    pub id: String,
}

impl std::fmt::Debug for MentionedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MentionedId({}:<redacted>)", self.kind.as_str())
    }
}

/// Every id of one person a body shows, sorted by kind then id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MentionedPerson {
    pub ids: Vec<MentionedId>,
}

impl MentionedPerson {
    /// The person's ids of one kind.
    pub fn ids_of(&self, kind: ContactIdKind) -> impl Iterator<Item = &str> {
        self.ids
            .iter()
            .filter(move |id| id.kind == kind)
            .map(|id| id.id.as_str())
    }

    /// `(kind, keyed hash)` of each id.
    pub fn hashes(&self, hasher: &ContactHasher) -> Vec<(ContactIdKind, String)> {
        self.ids
            .iter()
            .map(|id| (id.kind, hasher.hash(id.kind, &id.id)))
            .collect()
    }
}

/// The people of one body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub people: Vec<MentionedPerson>,
    /// Which person each id belongs to (an index into `people`).
    by_id: HashMap<MentionedId, usize>,
}

impl Mentions {
    /// The person an id belongs to.
    pub fn person_of(&self, id: &MentionedId) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
}

/// The id fields of each role: the ids of one role in one object name one person.
const ROLES: [&[(&str, ContactIdKind)]; 4] = [
    &[
        ("wa_id", ContactIdKind::WaId),
        ("user_id", ContactIdKind::UserId),
        ("parent_user_id", ContactIdKind::ParentUserId),
        ("previous_user_id", ContactIdKind::UserId),
        ("previous_parent_user_id", ContactIdKind::ParentUserId),
    ],
    &[
        ("from", ContactIdKind::WaId),
        ("from_user_id", ContactIdKind::UserId),
        ("from_parent_user_id", ContactIdKind::ParentUserId),
    ],
    &[
        ("recipient_id", ContactIdKind::WaId),
        ("recipient_user_id", ContactIdKind::UserId),
        ("recipient_parent_user_id", ContactIdKind::ParentUserId),
    ],
    &[
        ("to", ContactIdKind::WaId),
        ("to_user_id", ContactIdKind::UserId),
        ("to_parent_user_id", ContactIdKind::ParentUserId),
    ],
];
/// The role whose fields are the sender's (`from*`).
const SENDER_ROLE: usize = 1;
/// The role of an object's own ids (`wa_id`, `user_id`, ...).
const OWN_ROLE: usize = 0;
/// System messages that announce a person's new ids (the sender's old ones are on the message).
const IDENTITY_CHANGES: &[&str] = &["user_changed_number", "user_changed_user_id"];

/// The field's kind when `name` is an id field of any role.
pub fn id_field_kind(name: &str) -> Option<ContactIdKind> {
    ROLES
        .iter()
        .flat_map(|fields| fields.iter())
        .find(|(field, _)| *field == name)
        .map(|(_, kind)| *kind)
}

/// The people a body mentions: read as JSON when it is JSON, else scanned as text.
pub fn mentions(body: &[u8]) -> Mentions {
    match serde_json::from_slice::<Value>(body) {
        Ok(root) => mentions_in(&root),
        Err(_) => mentions_in_text(&String::from_utf8_lossy(body)),
    }
}

/// The people a JSON document mentions, at any depth and under any field.
pub fn mentions_in(root: &Value) -> Mentions {
    let business = business_numbers(root);
    let mut groups = Vec::new();
    collect(root, &business, &mut groups);
    merge(groups)
}

/// The ids of one element, grouped by role (each group one person), with a system message's
/// announced ids joined to its sender.
pub fn element_groups(element: &Map<String, Value>, business: &Business) -> Vec<Vec<MentionedId>> {
    let mut groups: Vec<Vec<MentionedId>> = ROLES
        .iter()
        .map(|fields| role_ids(element, fields, business))
        .collect();
    if let Some(system) = identity_change(element) {
        let announced = role_ids(system, ROLES[OWN_ROLE], business);
        groups[SENDER_ROLE].extend(announced);
    }
    groups.retain(|group| !group.is_empty());
    groups
}

/// The business's own numbers in a body: `metadata.display_phone_number` and `phone_number_id`
/// (a `from` equal to one is the business writing, not a contact).
#[derive(Debug, Default, Clone)]
pub struct Business {
    numbers: HashSet<String>,
}

impl Business {
    fn is_business(&self, kind: ContactIdKind, id: &str) -> bool {
        kind == ContactIdKind::WaId && self.numbers.contains(id)
    }
}

/// Every `metadata` object's numbers, at any depth.
pub fn business_numbers(root: &Value) -> Business {
    let mut business = Business::default();
    let mut stack = vec![root];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(metadata)) = map.get("metadata") {
                    for field in ["display_phone_number", "phone_number_id"] {
                        if let Some(number) = metadata.get(field).and_then(Value::as_str) {
                            let digits = ContactIdKind::WaId.normalise(number);
                            if !digits.is_empty() {
                                business.numbers.insert(digits.into_owned());
                            }
                        }
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    business
}

fn collect(value: &Value, business: &Business, groups: &mut Vec<Vec<MentionedId>>) {
    match value {
        Value::Object(map) => {
            groups.extend(element_groups(map, business));
            for child in map.values() {
                collect(child, business, groups);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, business, groups);
            }
        }
        _ => {}
    }
}

/// The `system` object of a message announcing new ids, if it is one.
fn identity_change(element: &Map<String, Value>) -> Option<&Map<String, Value>> {
    let system = element.get("system")?.as_object()?;
    let kind = system.get("type")?.as_str()?;
    IDENTITY_CHANGES.contains(&kind).then_some(system)
}

fn role_ids(
    object: &Map<String, Value>,
    fields: &[(&str, ContactIdKind)],
    business: &Business,
) -> Vec<MentionedId> {
    fields
        .iter()
        .filter_map(|(field, kind)| {
            let raw = object.get(*field)?.as_str()?;
            mentioned(*kind, raw, business)
        })
        .collect()
}

/// The id, normalised, unless it is empty, a `wa_id` without digits, or the business's number.
fn mentioned(kind: ContactIdKind, raw: &str, business: &Business) -> Option<MentionedId> {
    let id = kind.normalise(raw);
    if id.is_empty() || business.is_business(kind, &id) {
        return None;
    }
    Some(MentionedId {
        kind,
        id: id.into_owned(),
    })
}

/// Joins groups that share an id (union-find), so each person appears once.
fn merge(groups: Vec<Vec<MentionedId>>) -> Mentions {
    let mut parent: Vec<usize> = (0..groups.len()).collect();
    fn root(parent: &mut [usize], mut at: usize) -> usize {
        while parent[at] != at {
            parent[at] = parent[parent[at]];
            at = parent[at];
        }
        at
    }
    let mut first_group: HashMap<&MentionedId, usize> = HashMap::new();
    for (index, group) in groups.iter().enumerate() {
        for id in group {
            match first_group.get(id) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, index), root(&mut parent, other));
                    parent[a] = b;
                }
                None => {
                    first_group.insert(id, index);
                }
            }
        }
    }
    let mut people_by_root: std::collections::BTreeMap<usize, BTreeSet<MentionedId>> =
        std::collections::BTreeMap::new();
    for (index, group) in groups.iter().enumerate() {
        let at = root(&mut parent, index);
        people_by_root
            .entry(at)
            .or_default()
            .extend(group.iter().cloned());
    }
    let mut people: Vec<MentionedPerson> = people_by_root
        .into_values()
        .map(|ids| MentionedPerson {
            ids: ids.into_iter().collect(),
        })
        .collect();
    people.sort_by(|a, b| a.ids.cmp(&b.ids));
    let by_id = people
        .iter()
        .enumerate()
        .flat_map(|(index, person)| person.ids.iter().map(move |id| (id.clone(), index)))
        .collect();
    Mentions { people, by_id }
}

/// Ids in text that is not JSON: every `"<id field>"` followed by `:` and a string. The business
/// numbers are found the same way.
pub fn mentions_in_text(text: &str) -> Mentions {
    let business = Business {
        numbers: ["display_phone_number", "phone_number_id"]
            .iter()
            .flat_map(|field| quoted_values(text, field))
            .map(|number| ContactIdKind::WaId.normalise(number).into_owned())
            .filter(|digits| !digits.is_empty())
            .collect(),
    };
    let groups = ROLES
        .iter()
        .flat_map(|fields| fields.iter())
        .flat_map(|(field, kind)| {
            let business = &business;
            quoted_values(text, field).filter_map(move |raw| mentioned(*kind, raw, business))
        })
        .map(|id| vec![id])
        .collect();
    merge(groups)
}

/// The string values of `"<field>": "<value>"` pairs in `text` (a value ends at the next quote or
/// backslash: ids hold neither).
fn quoted_values<'t>(text: &'t str, field: &'t str) -> impl Iterator<Item = &'t str> + 't {
    let needle = format!("\"{field}\"");
    let mut from = 0;
    std::iter::from_fn(move || loop {
        let at = from + text.get(from..)?.find(&needle)?;
        from = at + needle.len();
        let rest = text.get(from..)?.trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let end = rest.find(['"', '\\']).unwrap_or(rest.len());
        return Some(&rest[..end]);
    })
}

#[cfg(test)]
#[path = "tests/mentions.rs"]
mod tests;
