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
use serde_json::Value;
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

/// The people of a body with the keyed hash of each id, computed once per body: the journal
/// links and the erased-contact lookup are made of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashedPeople {
    /// Per person, `(kind, contact hash)` of each id.
    pub people: Vec<Vec<(ContactIdKind, String)>>,
}

impl HashedPeople {
    pub fn of(mentions: &Mentions, hasher: &ContactHasher) -> Self {
        Self {
            people: mentions
                .people
                .iter()
                .map(|person| person.hashes(hasher))
                .collect(),
        }
    }

    /// Every `(kind, contact hash)` of every person.
    pub fn hashes(&self) -> impl Iterator<Item = &(ContactIdKind, String)> {
        self.people.iter().flatten()
    }
}

/// The people of one body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub people: Vec<MentionedPerson>,
    /// Which person each id belongs to (an index into `people`).
    by_id: HashMap<MentionedId, usize>,
    /// The business's own numbers in the body (never a person).
    pub business: Business,
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
    id_field(name).map(|(_, kind)| kind)
}

/// `(role, kind)` of an id field.
fn id_field(name: &str) -> Option<(usize, ContactIdKind)> {
    ROLES.iter().enumerate().find_map(|(role, fields)| {
        fields
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, kind)| (role, *kind))
    })
}

/// The people a body mentions: read as JSON when it is JSON (one pass, no document tree),
/// else scanned as text.
pub fn mentions(body: &[u8]) -> Mentions {
    let mut found = Found::default();
    let mut reader = serde_json::Deserializer::from_slice(body);
    let read = serde::de::DeserializeSeed::deserialize(Walk { found: &mut found }, &mut reader)
        .and_then(|_| reader.end());
    match read {
        Ok(()) => found.into_mentions(),
        Err(_) => mentions_in_text(&String::from_utf8_lossy(body)),
    }
}

/// The people a JSON document mentions, at any depth and under any field.
pub fn mentions_in(root: &Value) -> Mentions {
    let mut found = Found::default();
    // Walking a `Value` cannot fail: every shape is accepted.
    let _ = serde::de::DeserializeSeed::deserialize(Walk { found: &mut found }, root);
    found.into_mentions()
}

/// The ids of one element itself (not of what it nests), grouped by role, each group one
/// person, with a system message's announced ids joined to its sender; the business's number
/// left out.
pub fn element_groups(element: &Value, business: &Business) -> Vec<Vec<MentionedId>> {
    let mut found = Found::default();
    match serde::de::DeserializeSeed::deserialize(Walk { found: &mut found }, element) {
        Ok(Walked::Object(object)) => object
            .groups
            .into_iter()
            .map(|group| business.without(group))
            .filter(|group| !group.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// True when the value names anyone (at any depth) but the business.
pub fn names_anyone(value: &Value, business: &Business) -> bool {
    let mut found = Found::default();
    let _ = serde::de::DeserializeSeed::deserialize(Walk { found: &mut found }, value);
    found
        .groups
        .into_iter()
        .any(|group| !business.without(group).is_empty())
}

/// The business's own numbers in a body: `metadata.display_phone_number` and `phone_number_id`
/// (a `from` equal to one is the business writing, not a contact).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Business {
    numbers: HashSet<String>,
}

impl Business {
    fn is_business(&self, kind: ContactIdKind, id: &str) -> bool {
        kind == ContactIdKind::WaId && self.numbers.contains(id)
    }

    fn without(&self, group: Vec<MentionedId>) -> Vec<MentionedId> {
        group
            .into_iter()
            .filter(|id| !self.is_business(id.kind, &id.id))
            .collect()
    }
}

/// What a walk found: every role group of every object, and the business's numbers.
#[derive(Default)]
struct Found {
    groups: Vec<Vec<MentionedId>>,
    business: Business,
}

impl Found {
    fn into_mentions(self) -> Mentions {
        let Found { groups, business } = self;
        let groups = groups
            .into_iter()
            .map(|group| business.without(group))
            .filter(|group| !group.is_empty())
            .collect();
        let mut mentions = merge(groups);
        mentions.business = business;
        mentions
    }
}

/// A JSON value walked for ids, as its parent sees it.
enum Walked {
    /// An object: its own role groups, the ids of its own role, its `type`.
    Object(WalkedObject),
    Other,
}

struct WalkedObject {
    groups: Vec<Vec<MentionedId>>,
    own: Vec<MentionedId>,
    type_name: Option<String>,
}

/// Walks any JSON value, recording the role groups of every object into `found`.
struct Walk<'f> {
    found: &'f mut Found,
}

impl<'de> serde::de::DeserializeSeed<'de> for Walk<'_> {
    type Value = Walked;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Walked, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Walk<'_> {
    type Value = Walked;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Walked, A::Error> {
        let mut roles: [Vec<MentionedId>; 4] = Default::default();
        let mut type_name = None;
        let mut announced = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Id(role, kind) => {
                    if let Some(raw) = map.next_value_seed(TextSeed)? {
                        let id = kind.normalise(&raw);
                        if !id.is_empty() {
                            roles[role].push(MentionedId {
                                kind,
                                id: id.into_owned(),
                            });
                        }
                    }
                }
                Key::Business => {
                    if let Some(raw) = map.next_value_seed(TextSeed)? {
                        let digits = ContactIdKind::WaId.normalise(&raw);
                        if !digits.is_empty() {
                            self.found.business.numbers.insert(digits.into_owned());
                        }
                    }
                }
                Key::Type => type_name = map.next_value_seed(TextSeed)?.map(|t| t.into_owned()),
                Key::System => {
                    if let Walked::Object(system) = map.next_value_seed(Walk {
                        found: &mut *self.found,
                    })? {
                        let changes_identity = system
                            .type_name
                            .as_deref()
                            .is_some_and(|t| IDENTITY_CHANGES.contains(&t));
                        if changes_identity {
                            announced = Some(system.own);
                        }
                    }
                }
                Key::Other => {
                    map.next_value_seed(Walk {
                        found: &mut *self.found,
                    })?;
                }
            }
        }
        if let Some(announced) = announced {
            roles[SENDER_ROLE].extend(announced);
        }
        let own = roles[OWN_ROLE].clone();
        let groups: Vec<Vec<MentionedId>> = roles
            .into_iter()
            .filter(|group| !group.is_empty())
            .collect();
        self.found.groups.extend(groups.iter().cloned());
        Ok(Walked::Object(WalkedObject {
            groups,
            own,
            type_name,
        }))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Walked, A::Error> {
        while seq
            .next_element_seed(Walk {
                found: &mut *self.found,
            })?
            .is_some()
        {}
        Ok(Walked::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Walked, E> {
        Ok(Walked::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Walked, E> {
        Ok(Walked::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Walked, E> {
        Ok(Walked::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Walked, E> {
        Ok(Walked::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<Walked, E> {
        Ok(Walked::Other)
    }

    fn visit_unit<E>(self) -> Result<Walked, E> {
        Ok(Walked::Other)
    }

    fn visit_none<E>(self) -> Result<Walked, E> {
        Ok(Walked::Other)
    }
}

/// What an object key means to the walk.
enum Key {
    Id(usize, ContactIdKind),
    /// `display_phone_number`, `phone_number_id`: the business's numbers.
    Business,
    Type,
    System,
    Other,
}

struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, name: &str) -> Result<Key, E> {
        Ok(match name {
            "type" => Key::Type,
            "system" => Key::System,
            "display_phone_number" | "phone_number_id" => Key::Business,
            _ => match id_field(name) {
                Some((role, kind)) => Key::Id(role, kind),
                None => Key::Other,
            },
        })
    }
}

/// A string value (borrowed from the body when it has no escapes), anything else skipped.
struct TextSeed;

impl<'de> serde::de::DeserializeSeed<'de> for TextSeed {
    type Value = Option<std::borrow::Cow<'de, str>>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TextSeed {
    type Value = Option<std::borrow::Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Some(std::borrow::Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(std::borrow::Cow::Owned(text.to_owned())))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }
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
    Mentions {
        people,
        by_id,
        business: Business::default(),
    }
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
    let found = Found {
        groups: ROLES
            .iter()
            .flat_map(|fields| fields.iter())
            .flat_map(|(field, kind)| {
                quoted_values(text, field).filter_map(move |raw| {
                    let id = kind.normalise(raw);
                    (!id.is_empty()).then(|| {
                        vec![MentionedId {
                            kind: *kind,
                            id: id.into_owned(),
                        }]
                    })
                })
            })
            .collect(),
        business,
    };
    found.into_mentions()
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
