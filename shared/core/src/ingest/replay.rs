//! Replay: journal objects recorded again through the same idempotent [`Recorder`], after a fix
//! (a parser that now reads what it could not, a lost media job, a bug in planning).
//!
//! Nothing is duplicated and no later state is overwritten: records are conditional puts keyed
//! by their ids, so a record already there (archived media, a tombstone) stays as it is, and only
//! what is missing is created. Each object is recorded on its original clock (the receipt time
//! the webhook wrote with it, else the object's last write), so nothing replayed outlives the
//! retention the original had; an object past its retention is skipped. Erased contacts' old
//! data is taken out as at delivery (the erasure markers), and the journal object is never
//! written.

use crate::error::PortError;
use crate::ingest::{IngestError, Origin, Recorder};
use crate::records::journal_digest;
use async_trait::async_trait;
use std::sync::Arc;

/// A journal object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub key: String,
    /// Epoch seconds of its last write (its receipt, or an erasure's rewrite).
    pub last_modified: Option<i64>,
}

/// A journal object's bytes and when the webhook received them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBody {
    pub body: Vec<u8>,
    /// The receipt time the webhook wrote with the object (absent on objects from before it did).
    pub received_at: Option<i64>,
    pub last_modified: Option<i64>,
}

/// The journal, as a replay reads it.
#[async_trait]
pub trait JournalSource: Send + Sync {
    /// The journal objects under `prefix` (`journal/` or `journal/unparsed/`) whose keys sort
    /// after `start_after` (all when `None`), in key order, at most `limit` of them (whole pages
    /// may go a page over; the caller cuts).
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, PortError>;
    /// The object, `None` when absent.
    async fn read(&self, key: &str) -> Result<Option<StoredBody>, PortError>;
}

/// Which journal objects to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplaySelection {
    /// Objects last written in `[since, until)` (epoch seconds; either bound may be open), only
    /// those under `journal/unparsed/` when `unparsed_only`.
    Range {
        since: Option<i64>,
        until: Option<i64>,
        unparsed_only: bool,
    },
    /// These keys.
    Keys(Vec<String>),
}

/// How far a replay is (counts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayProgress {
    pub done: usize,
    pub total: usize,
}

/// What a replay did. Counts only.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplayReport {
    /// Journal objects read and recorded.
    pub objects: u64,
    pub records_created: u64,
    /// Records already there, left as they are (a later state is never overwritten).
    pub records_already_present: u64,
    pub media_jobs_enqueued: u64,
    /// Objects that still do not parse as a notification (kept in the journal, as they were).
    pub still_unparsed: u64,
    /// Elements that still cannot be read.
    pub still_unreadable_elements: u64,
    /// Objects holding nothing but an erased contact's old data: nothing recorded.
    pub withheld: u64,
    /// Objects past their retention: skipped (the sweep is about to delete them).
    pub expired: u64,
    /// Keys asked for that are not in the journal.
    pub missing: u64,
}

/// One run of a replay that may stop before its selection is done (a Lambda invocation's time).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplayBatch {
    #[serde(flatten)]
    pub report: ReplayReport,
    /// The last key replayed, when the run stopped before the selection was done: the next run
    /// starts after it. `None`: done.
    pub next: Option<String>,
}

/// Why a replay stopped. Rerunning it is safe: what was recorded is found as already present.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0} is not a journal key (journal/<sha256>.json or journal/unparsed/<sha256>.json)")]
    NotAJournalKey(String),
    #[error("listing the journal failed: {0}")]
    Listing(PortError),
    #[error("reading a journal object failed: {0}")]
    Reading(PortError),
    #[error("recording a journal object failed (run the replay again to finish): {0}")]
    Recording(#[from] IngestError),
}

/// The replay use case.
pub struct Replayer {
    pub recorder: Arc<Recorder>,
    pub journal: Arc<dyn JournalSource>,
    /// A progress call every this many objects (and at the end).
    pub progress_every: usize,
    /// Journal objects listed per run at most ([`usize::MAX`]: the whole range at once). A run
    /// in a Lambda lists only what it can replay in its time, not the rest of a large range.
    pub listing_limit: usize,
}

impl Replayer {
    /// Records every selected journal object again, in key order.
    pub async fn replay(
        &self,
        selection: &ReplaySelection,
        progress: &(dyn Fn(ReplayProgress) + Sync),
    ) -> Result<ReplayReport, ReplayError> {
        Ok(self
            .replay_from(selection, None, &|| true, progress)
            .await?
            .report)
    }

    /// Records the selected journal objects whose keys sort after `start_after`, in key order,
    /// while `keep_going` says there is time for one more: a long replay as a series of runs,
    /// each starting after the last key the one before replayed ([`ReplayBatch::next`]).
    pub async fn replay_from(
        &self,
        selection: &ReplaySelection,
        start_after: Option<&str>,
        keep_going: &(dyn Fn() -> bool + Sync),
        progress: &(dyn Fn(ReplayProgress) + Sync),
    ) -> Result<ReplayBatch, ReplayError> {
        let (keys, listing_cut_at) = self.select(selection, start_after).await?;
        let mut batch = ReplayBatch::default();
        let now = self.recorder.clock.now_epoch_seconds();
        let every = self.progress_every.max(1);
        for (index, key) in keys.iter().enumerate() {
            if !keep_going() {
                // At least one object per run, so a series of runs always moves on.
                if index > 0 {
                    batch.next = Some(keys[index - 1].clone());
                    break;
                }
            }
            self.replay_one(key, now, &mut batch.report).await?;
            if (index + 1) % every == 0 || index + 1 == keys.len() {
                progress(ReplayProgress {
                    done: index + 1,
                    total: keys.len(),
                });
            }
        }
        if batch.next.is_none() {
            // Everything listed was replayed; the listing itself stopped short of the range's end.
            batch.next = listing_cut_at;
        }
        self.recorder
            .metrics
            .count("JournalReplayed", batch.report.objects);
        self.recorder.metrics.flush();
        Ok(batch)
    }

    /// The selected keys after `start_after`, sorted, and where the listing was cut (its last
    /// key, when it held [`Self::listing_limit`] objects and more may follow).
    async fn select(
        &self,
        selection: &ReplaySelection,
        start_after: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), ReplayError> {
        let mut cut_at = None;
        let mut keys: Vec<String> = match selection {
            ReplaySelection::Keys(keys) => {
                if let Some(bad) = keys.iter().find(|key| journal_digest(key).is_none()) {
                    return Err(ReplayError::NotAJournalKey(bad.clone()));
                }
                keys.clone()
            }
            ReplaySelection::Range {
                since,
                until,
                unparsed_only,
            } => {
                let prefix = if *unparsed_only {
                    "journal/unparsed/"
                } else {
                    "journal/"
                };
                let limit = self.listing_limit.max(1);
                let mut listed = self
                    .journal
                    .list(prefix, start_after, limit)
                    .await
                    .map_err(ReplayError::Listing)?;
                if listed.len() >= limit {
                    listed.truncate(limit);
                    cut_at = listed.last().map(|entry| entry.key.clone());
                }
                listed
                    .into_iter()
                    .filter(|entry| journal_digest(&entry.key).is_some())
                    .filter(|entry| in_range(entry.last_modified, *since, *until))
                    .map(|entry| entry.key)
                    .collect()
            }
        };
        keys.retain(|key| start_after.is_none_or(|after| key.as_str() > after));
        keys.sort();
        keys.dedup();
        Ok((keys, cut_at))
    }

    async fn replay_one(
        &self,
        key: &str,
        now: i64,
        report: &mut ReplayReport,
    ) -> Result<(), ReplayError> {
        let Some(stored) = self.journal.read(key).await.map_err(ReplayError::Reading)? else {
            report.missing += 1;
            return Ok(());
        };
        let received_at = stored.received_at.or(stored.last_modified).unwrap_or(now);
        if self.recorder.retention.expires_at(received_at) <= now {
            report.expired += 1;
            return Ok(());
        }
        let recorded = self
            .recorder
            .record(&stored.body, Origin::Journal { key, received_at })
            .await?;
        report.objects += 1;
        report.records_created += recorded.records_created as u64;
        report.records_already_present += recorded.records_duplicate as u64;
        report.media_jobs_enqueued += (recorded.jobs_enqueued + recorded.jobs_reenqueued) as u64;
        report.still_unparsed += u64::from(!recorded.parsed && !recorded.withheld);
        report.still_unreadable_elements += recorded.malformed_elements as u64;
        report.withheld += u64::from(recorded.withheld);
        Ok(())
    }
}

/// True when `at` is in `[since, until)`; an object without a date is in every range.
fn in_range(at: Option<i64>, since: Option<i64>, until: Option<i64>) -> bool {
    let Some(at) = at else {
        return true;
    };
    since.is_none_or(|since| at >= since) && until.is_none_or(|until| at < until)
}

#[cfg(test)]
#[path = "tests/replay.rs"]
mod tests;
