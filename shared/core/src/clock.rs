//! Time as a port, so retention and caches can be tested without sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch. Injected everywhere time matters.
pub trait Clock: Send + Sync {
    fn now_epoch_seconds(&self) -> i64;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_epoch_seconds(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that stands still until told to move (tests, benchmarks; feature `testkit`).
#[cfg(any(test, feature = "testkit"))]
#[derive(Debug, Default)]
pub struct FixedClock(std::sync::atomic::AtomicI64);

#[cfg(any(test, feature = "testkit"))]
impl FixedClock {
    pub fn at(epoch_seconds: i64) -> Self {
        Self(std::sync::atomic::AtomicI64::new(epoch_seconds))
    }

    pub fn advance(&self, seconds: i64) {
        self.0
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "testkit"))]
impl Clock for FixedClock {
    fn now_epoch_seconds(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
