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
}
