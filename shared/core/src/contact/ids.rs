//! A contact as the operator names it (`wa_id`, `user_id`) and as the records table knows it (keyed hashes).

use super::hashing::{ContactHasher, ContactIdKind};
use crate::records::StoredItem;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// A contact as the operator names it (the raw ids never leave this process).
#[derive(Clone, Default)]
pub struct ContactIds {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
}

impl std::fmt::Debug for ContactIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactIds(<redacted>)")
    }
}

/// The keyed hashes a contact is known by (what the indexes and records hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactHashes {
    pub wa: BTreeSet<String>,
    pub user: BTreeSet<String>,
    /// The hash the audit id is derived from (the first one given).
    primary: String,
}

/// Why a contact cannot be looked up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContactError {
    #[error("give --wa-id and/or --user-id")]
    Missing,
    #[error("--wa-id must contain digits (the number as WhatsApp reports it)")]
    WaIdWithoutDigits,
    #[error("--user-id is empty")]
    EmptyUserId,
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
        hashes.primary = match (hashes.wa.first(), hashes.user.first()) {
            (Some(hash), _) | (None, Some(hash)) => hash.clone(),
            (None, None) => return Err(ContactError::Missing),
        };
        Ok(hashes)
    }

    /// A pseudonymous id for audit lines: 16 hex of SHA-256 over the contact hash, so an audit
    /// entry can be correlated by whoever holds the key, and by nobody else.
    pub fn audit_id(&self) -> String {
        hex::encode(&Sha256::digest(self.primary.as_bytes())[..8])
    }

    /// Adds the hashes an item carries; true when one was new.
    pub(crate) fn learn(&mut self, item: &StoredItem) -> bool {
        let mut new = false;
        if let Some(hash) = &item.contact_wa_hash {
            new |= self.wa.insert(hash.clone());
        }
        if let Some(hash) = &item.contact_user_hash {
            new |= self.user.insert(hash.clone());
        }
        new
    }
}

/// Which contact index to query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactIndex {
    /// `by-contact-wa`, keyed by `contact_wa_hash`.
    WaId,
    /// `by-contact-user`, keyed by `contact_user_hash`.
    UserId,
}
