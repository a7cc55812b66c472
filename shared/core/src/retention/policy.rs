//! The retention clock: every record expires `RETENTION_DAYS` after we received it.
//!
//! The expiry is computed from our own clock at ingest, never from Meta's string `timestamp`
//! (DynamoDB TTL silently ignores strings, so a TTL on it never expires anything).

/// How long records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    days: u32,
}

pub const SECONDS_PER_DAY: i64 = 86_400;

/// Shards of each expiry hour in the `by-expiry-hour` index. One index partition takes about
/// 1,000 writes/s; every record and every journal link writes one entry, and at most one link per
/// record, so 10,000 records/s make at most 20,000 index writes/s: 32 shards hold that at 63% of
/// their capacity (the arithmetic: docs/data.md "The expiry index"). The count may grow, never
/// shrink: the sweep reads shards `0..EXPIRY_SHARDS`, and an entry above them would wait for TTL.
pub const EXPIRY_SHARDS: u32 = 32;

/// One partition of the `by-expiry-hour` index: an expiry hour and a shard of it, stored as
/// `<hour>#<shard>` (the `expiry_slot` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExpirySlot {
    pub hour: i64,
    pub shard: u32,
}

impl ExpirySlot {
    /// The slot of the item under `key` expiring at `expires_at`.
    pub fn of(key: &crate::records::ItemKey, expires_at: i64) -> Self {
        Self {
            hour: RetentionPolicy::expiry_hour(expires_at),
            shard: key.shard(EXPIRY_SHARDS),
        }
    }

    /// Every slot of one expiry hour, which a sweep of that hour reads.
    pub fn all_of_hour(hour: i64) -> impl Iterator<Item = ExpirySlot> {
        (0..EXPIRY_SHARDS).map(move |shard| ExpirySlot { hour, shard })
    }
}

impl std::fmt::Display for ExpirySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.hour, self.shard)
    }
}

impl RetentionPolicy {
    pub fn days(days: u32) -> Self {
        Self { days }
    }

    pub fn retention_days(&self) -> u32 {
        self.days
    }

    /// Epoch seconds at which something received at `received_at` expires.
    pub fn expires_at(&self, received_at: i64) -> i64 {
        received_at.saturating_add(i64::from(self.days) * SECONDS_PER_DAY)
    }

    /// The hour bucket an expiry falls in (the key of the expiry index the sweep reads).
    pub fn expiry_hour(expires_at: i64) -> i64 {
        expires_at.div_euclid(3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_received_plus_days() {
        let policy = RetentionPolicy::days(30);
        assert_eq!(policy.expires_at(1_000), 1_000 + 30 * 86_400);
        assert_eq!(RetentionPolicy::expiry_hour(7_199), 1);
        assert_eq!(RetentionPolicy::expiry_hour(7_200), 2);
    }

    #[test]
    fn slots_are_the_hour_and_a_shard_of_the_key() {
        use crate::records::ItemKey;
        let key = ItemKey::message("0123456789abcdef0123456789abcdef");
        let slot = ExpirySlot::of(&key, 7_200);
        assert_eq!(slot.hour, 2);
        assert!(slot.shard < EXPIRY_SHARDS);
        assert_eq!(slot.to_string(), format!("2#{}", slot.shard));
        assert_eq!(ExpirySlot::all_of_hour(2).count(), EXPIRY_SHARDS as usize);
        assert!(ExpirySlot::all_of_hour(2).any(|s| s == slot));
    }

    #[test]
    fn keys_spread_over_every_shard() {
        use crate::contact::{ContactHasher, RecordIdKind};
        let hasher = ContactHasher::new(b"a key of sixteen+ bytes");
        let mut counts = [0u32; EXPIRY_SHARDS as usize];
        let total = 32_000;
        for i in 0..total {
            let pk = hasher.record_key(RecordIdKind::Message, &format!("wamid.{i}"));
            let sk = if i % 2 == 0 { "message" } else { "status#read" };
            let key = crate::records::ItemKey {
                pk,
                sk: sk.to_owned(),
            };
            counts[key.shard(EXPIRY_SHARDS) as usize] += 1;
        }
        let mean = total / EXPIRY_SHARDS;
        // Within 15% of the mean everywhere (binomial spread is about 3% here).
        for count in counts {
            assert!(count.abs_diff(mean) * 100 < mean * 15, "{counts:?}");
        }
    }
}
