//! Keyed hashes of contact ids and of the element ids records are keyed by.
//!
//! Phone numbers and user ids must not appear in keys or indexes, yet erasure and export need to
//! find every record of a contact. An HMAC under a key kept in Secrets Manager gives a stable,
//! non-reversible lookup key (a plain hash of a phone number is reversible by enumeration).
//!
//! Message ids are not opaque either: a wamid is base64 of a structure that embeds the contact's
//! phone number. So the records table's partition key is the same keyed hash of the element id
//! ([`ContactHasher::record_key`]), under the same key, domain-separated by the id's kind.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Which namespace a contact id belongs to; the hash is domain-separated by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactIdKind {
    /// `wa_id`: the user's phone number as WhatsApp reports it.
    WaId,
    /// Business-scoped user id, BSUID (from 2026-03-31): `US.13491208655302741918`.
    UserId,
    /// Parent BSUID, spanning linked business portfolios when Meta enables it:
    /// `US.ENT.11815799212886844830`.
    ParentUserId,
}

impl ContactIdKind {
    pub const ALL: [ContactIdKind; 3] = [
        ContactIdKind::WaId,
        ContactIdKind::UserId,
        ContactIdKind::ParentUserId,
    ];

    /// The name used in alias lists (`<name>:<hash>`) and messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactIdKind::WaId => "wa",
            ContactIdKind::UserId => "user",
            ContactIdKind::ParentUserId => "parent",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The id as hashed and compared: a `wa_id`'s digits (operators type `+`, spaces, dashes),
    /// a user id trimmed.
    pub fn normalise(self, id: &str) -> std::borrow::Cow<'_, str> {
        match self {
            ContactIdKind::WaId if !id.bytes().all(|b| b.is_ascii_digit()) => {
                std::borrow::Cow::Owned(id.chars().filter(char::is_ascii_digit).collect())
            }
            ContactIdKind::WaId => std::borrow::Cow::Borrowed(id),
            ContactIdKind::UserId | ContactIdKind::ParentUserId => {
                std::borrow::Cow::Borrowed(id.trim())
            }
        }
    }

    const fn domain(self) -> &'static [u8] {
        match self {
            ContactIdKind::WaId => b"wa_id:",
            ContactIdKind::UserId => b"user_id:",
            ContactIdKind::ParentUserId => b"parent_user_id:",
        }
    }
}

/// Which element id a record key is derived from; each kind is its own hash domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordIdKind {
    /// A message id (`wamid.`...): the key of a message and of every status of it (statuses carry
    /// the id of the message they report on, so both share one partition).
    Message,
    /// The synthetic id of a value-level error (`error.<body digest>.<entry>.<change>.<index>`):
    /// it embeds nothing personal, and is hashed for one key format across the table.
    Error,
    /// A contact hash, as the sort key of a journal link (`contact#<key>`): a link's key, and so
    /// its tombstone, never holds the value the contact indexes are queried by.
    ContactLink,
    /// A contact hash, as the partition key of the marker an erasure leaves (`erased.<key>`).
    ErasedContact,
    /// The synthetic id of an element that could not be identified
    /// (`unreadable.<body digest>.<entry>.<change>.<array>.<index>`): a redelivery of the body
    /// maps to the same item.
    Unreadable,
}

impl RecordIdKind {
    const fn domain(self) -> &'static [u8] {
        match self {
            RecordIdKind::Message => b"message_id:",
            RecordIdKind::Error => b"error_id:",
            RecordIdKind::ContactLink => b"contact_link:",
            RecordIdKind::ErasedContact => b"erased_contact:",
            RecordIdKind::Unreadable => b"unreadable_id:",
        }
    }
}

/// Hashes contact ids and record ids with the deployment's contact-hash key.
#[derive(Clone)]
pub struct ContactHasher {
    /// The MAC with the key already absorbed: each hash then costs only the message blocks.
    keyed: Option<Hmac<Sha256>>,
}

impl std::fmt::Debug for ContactHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactHasher(<redacted>)")
    }
}

impl ContactHasher {
    pub fn new(key: impl AsRef<[u8]>) -> Self {
        Self {
            keyed: Hmac::<Sha256>::new_from_slice(key.as_ref()).ok(),
        }
    }

    /// 128-bit lowercase hex HMAC-SHA256 of the id, prefixed by its namespace.
    pub fn hash(&self, kind: ContactIdKind, id: &str) -> String {
        // HMAC accepts any key length, so `keyed` is always set; were it not, the empty hash
        // matches nothing rather than panicking.
        let Some(mut mac) = self.keyed.clone() else {
            return String::new();
        };
        mac.update(kind.domain());
        mac.update(kind.normalise(id).as_bytes());
        truncated_hex(mac)
    }

    /// The partition key of the records an element id names: 128-bit lowercase hex
    /// HMAC-SHA256 of `<kind>:` + the id, byte for byte. Whoever holds the key can find a record
    /// by its wamid; the key reveals neither the wamid nor the phone number inside it.
    pub fn record_key(&self, kind: RecordIdKind, id: &str) -> String {
        let Some(mut mac) = self.keyed.clone() else {
            return String::new();
        };
        mac.update(kind.domain());
        mac.update(id.as_bytes());
        truncated_hex(mac)
    }
}

/// The first 128 bits of the MAC, lowercase hex.
fn truncated_hex(mac: Hmac<Sha256>) -> String {
    let digest = mac.finalize().into_bytes();
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_keyed_and_namespaced() {
        let a = ContactHasher::new(b"k1");
        let b = ContactHasher::new(b"k2");
        let h = a.hash(ContactIdKind::WaId, "15551234567");
        assert_eq!(h.len(), 32);
        assert_eq!(h, a.hash(ContactIdKind::WaId, "+1 555-123-4567"));
        assert_ne!(h, b.hash(ContactIdKind::WaId, "15551234567"));
        assert_ne!(h, a.hash(ContactIdKind::UserId, "15551234567"));
        assert_ne!(
            a.hash(ContactIdKind::UserId, "US.ENT.1"),
            a.hash(ContactIdKind::ParentUserId, "US.ENT.1")
        );
        assert!(!h.contains("5551234567"));
    }

    #[test]
    fn record_keys_are_keyed_and_separated_from_contact_hashes() {
        let a = ContactHasher::new(b"k1");
        let wamid = "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUZCM0Y0";
        let key = a.record_key(RecordIdKind::Message, wamid);
        assert_eq!(key.len(), 32);
        assert!(key
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(key, a.record_key(RecordIdKind::Message, wamid));
        assert_ne!(
            key,
            ContactHasher::new(b"k2").record_key(RecordIdKind::Message, wamid)
        );
        assert_ne!(key, a.record_key(RecordIdKind::Error, wamid));
        assert_ne!(key, a.hash(ContactIdKind::UserId, wamid));
        // Ids are hashed exactly as sent (no trimming): two ids differ, so do their keys.
        assert_ne!(
            key,
            a.record_key(RecordIdKind::Message, &format!(" {wamid}"))
        );
    }
}
