//! A contact as the operator names it (`wa_id`, `user_id`, `parent_user_id`) and as the records
//! table knows it (keyed hashes).

use super::hashing::{ContactHasher, ContactIdKind};
use crate::records::StoredItem;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// A contact as the operator names it (the raw ids never leave this process).
#[derive(Clone, Default)]
pub struct ContactIds {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub parent_user_id: Option<String>,
}

impl std::fmt::Debug for ContactIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactIds(<redacted>)")
    }
}

/// The keyed hashes a contact is known by (what the indexes and records hold): the ids the
/// operator gave, and every id of the same person the records and journal links show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactHashes {
    pub wa: BTreeSet<String>,
    pub user: BTreeSet<String>,
    pub parent: BTreeSet<String>,
    /// The hash the audit id is derived from (the first one given).
    primary: String,
}

/// More ids than one person has: an alias chain this long means records link people who are
/// not one person (a bug or a forged body), and erasing them all would erase strangers.
pub const MAX_CONTACT_IDS: usize = 64;

/// Why a contact cannot be looked up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContactError {
    #[error("give --wa-id, --user-id and/or --parent-user-id")]
    Missing,
    #[error("--wa-id must contain digits (the number as WhatsApp reports it)")]
    WaIdWithoutDigits,
    #[error("--user-id is empty")]
    EmptyUserId,
    #[error("--parent-user-id is empty")]
    EmptyParentUserId,
    #[error(
        "the records link more than {MAX_CONTACT_IDS} ids to this contact; stopped before touching anything (report this: one person has a few ids)"
    )]
    TooManyIds,
}

impl ContactHashes {
    /// Hashes the given ids, checking their shape without echoing them.
    pub fn of(hasher: &ContactHasher, ids: &ContactIds) -> Result<Self, ContactError> {
        let mut hashes = ContactHashes::default();
        if let Some(wa_id) = &ids.wa_id {
            if !wa_id.bytes().any(|b| b.is_ascii_digit()) {
                return Err(ContactError::WaIdWithoutDigits);
            }
            hashes.wa.insert(hasher.hash(ContactIdKind::WaId, wa_id));
        }
        if let Some(user_id) = &ids.user_id {
            if user_id.trim().is_empty() {
                return Err(ContactError::EmptyUserId);
            }
            hashes
                .user
                .insert(hasher.hash(ContactIdKind::UserId, user_id));
        }
        if let Some(parent_user_id) = &ids.parent_user_id {
            if parent_user_id.trim().is_empty() {
                return Err(ContactError::EmptyParentUserId);
            }
            hashes
                .parent
                .insert(hasher.hash(ContactIdKind::ParentUserId, parent_user_id));
        }
        hashes.primary = hashes
            .wa
            .first()
            .or(hashes.user.first())
            .or(hashes.parent.first())
            .cloned()
            .ok_or(ContactError::Missing)?;
        Ok(hashes)
    }

    /// The hashes of one kind.
    pub fn of_kind(&self, kind: ContactIdKind) -> &BTreeSet<String> {
        match kind {
            ContactIdKind::WaId => &self.wa,
            ContactIdKind::UserId => &self.user,
            ContactIdKind::ParentUserId => &self.parent,
        }
    }

    fn of_kind_mut(&mut self, kind: ContactIdKind) -> &mut BTreeSet<String> {
        match kind {
            ContactIdKind::WaId => &mut self.wa,
            ContactIdKind::UserId => &mut self.user,
            ContactIdKind::ParentUserId => &mut self.parent,
        }
    }

    pub fn contains(&self, kind: ContactIdKind, hash: &str) -> bool {
        self.of_kind(kind).contains(hash)
    }

    /// Every `(kind, hash)`.
    pub fn all(&self) -> impl Iterator<Item = (ContactIdKind, &str)> {
        ContactIdKind::ALL
            .into_iter()
            .flat_map(move |kind| self.of_kind(kind).iter().map(move |h| (kind, h.as_str())))
    }

    pub fn len(&self) -> usize {
        self.wa.len() + self.user.len() + self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A pseudonymous id for audit lines: 16 hex of SHA-256 over the contact hash, so an audit
    /// entry can be correlated by whoever holds the key, and by nobody else.
    pub fn audit_id(&self) -> String {
        hex::encode(&Sha256::digest(self.primary.as_bytes())[..8])
    }

    /// Adds the hashes an item carries (its index attributes and, on a journal link, the other
    /// ids of the same person: `contact_aliases`); true when one was new.
    pub(crate) fn learn(&mut self, item: &StoredItem) -> bool {
        let mut new = false;
        for (kind, hash) in [
            (ContactIdKind::WaId, &item.contact_wa_hash),
            (ContactIdKind::UserId, &item.contact_user_hash),
            (ContactIdKind::ParentUserId, &item.contact_parent_hash),
        ] {
            if let Some(hash) = hash {
                new |= self.of_kind_mut(kind).insert(hash.clone());
            }
        }
        for alias in item.contact_aliases.iter().flatten() {
            if let Some((kind, hash)) = parse_alias(alias) {
                new |= self.of_kind_mut(kind).insert(hash.to_owned());
            }
        }
        new
    }
}

/// `<kind>:<hash>` as a journal link lists the other ids of its person.
pub fn alias(kind: ContactIdKind, hash: &str) -> String {
    format!("{}:{hash}", kind.as_str())
}

fn parse_alias(alias: &str) -> Option<(ContactIdKind, &str)> {
    let (kind, hash) = alias.split_once(':')?;
    let kind = ContactIdKind::parse(kind)?;
    (!hash.is_empty()).then_some((kind, hash))
}

/// Which contact index to query: one per id kind.
pub type ContactIndex = ContactIdKind;

/// The index of each kind: `by-contact-wa` (`contact_wa_hash`), `by-contact-user`
/// (`contact_user_hash`), `by-contact-parent` (`contact_parent_hash`).
pub const fn contact_index_name(kind: ContactIdKind) -> &'static str {
    match kind {
        ContactIdKind::WaId => "by-contact-wa",
        ContactIdKind::UserId => "by-contact-user",
        ContactIdKind::ParentUserId => "by-contact-parent",
    }
}
