//! `{"action": "replay", ...}`: `wavault replay` run next to the data, for ranges too large for an
//! operator's machine. One invocation replays what fits in its time and answers where it stopped;
//! the operator (or a script, docs/operations.md "Replaying the journal") invokes again with that
//! key as `start_after` until the answer says `"next": null`. Every run is idempotent, so a run
//! cut short (a timeout, a throttled call) is simply repeated.

use serde::Deserialize;
use std::time::Duration;
use wavault_core::ingest::{ReplayBatch, ReplayError, ReplaySelection, Replayer};

/// No new object is started with less than this left before the invocation's deadline: one
/// object is a read and a few writes, each bounded by the fetcher's AWS timeouts (25 s a call).
pub const OBJECT_BUDGET: Duration = Duration::from_secs(60);

/// Journal objects listed per invocation: more than one run replays in 300 s against DynamoDB,
/// so a run never lists the rest of a large range.
pub const LISTING_LIMIT: usize = 5_000;

/// The one value of a replay request's `action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayAction {
    #[default]
    Replay,
}

/// What to replay: the CLI's selection, in epoch seconds, plus where the previous run stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// `"replay"`: nothing else routes an invocation here.
    pub action: ReplayAction,
    /// Objects last written at or after this time (epoch seconds).
    #[serde(default)]
    pub since: Option<i64>,
    /// Objects last written before this time (epoch seconds).
    #[serde(default)]
    pub until: Option<i64>,
    /// Only `journal/unparsed/`.
    #[serde(default)]
    pub unparsed: bool,
    /// These journal keys instead of a range.
    #[serde(default)]
    pub keys: Vec<String>,
    /// The previous run's `next`.
    #[serde(default)]
    pub start_after: Option<String>,
    /// At most this many objects this run (default: as many as the time allows), e.g. to bound
    /// one run's writes or to watch a replay advance.
    #[serde(default)]
    pub max_objects: Option<usize>,
}

impl ReplayRequest {
    fn selection(&self) -> ReplaySelection {
        if self.keys.is_empty() {
            ReplaySelection::Range {
                since: self.since,
                until: self.until,
                unparsed_only: self.unparsed,
            }
        } else {
            ReplaySelection::Keys(self.keys.clone())
        }
    }
}

/// One run: replays while more than [`OBJECT_BUDGET`] is left before `deadline` and fewer than
/// `max_objects` were started (always at least one object), and says where the next run starts.
pub async fn run(
    replayer: &Replayer,
    request: &ReplayRequest,
    deadline: Option<tokio::time::Instant>,
) -> Result<ReplayBatch, ReplayError> {
    let started = std::sync::atomic::AtomicUsize::new(0);
    let keep_going = || {
        let time_left =
            deadline.is_none_or(|deadline| tokio::time::Instant::now() + OBJECT_BUDGET < deadline);
        let room = request
            .max_objects
            .is_none_or(|max| started.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < max);
        time_left && room
    };
    replayer
        .replay_from(
            &request.selection(),
            request.start_after.as_deref(),
            &keep_going,
            &|_| {},
        )
        .await
}

#[cfg(test)]
#[path = "tests/replay.rs"]
mod tests;
