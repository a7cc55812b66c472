//! The media sweep over in-memory ports: a job queued or backing off is never enqueued again; a
//! lost one is, once per stale window.

use super::*;
use crate::clock::FixedClock;
use crate::testkit::media::{Backlog, MemoryArchiver};
use crate::testkit::memory::{MemoryMetrics, MemoryQueue};

struct Fixture {
    m: MemoryArchiver,
    queue: Arc<MemoryQueue>,
    backlog: Arc<Backlog>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            m: MemoryArchiver::new(),
            queue: Arc::new(MemoryQueue::default()),
            backlog: Arc::new(Backlog::default()),
        }
    }

    fn sweep(&self) -> MediaSweep {
        MediaSweep {
            index: self.m.records.clone(),
            queue: self.queue.clone(),
            backlog: self.backlog.clone(),
            records: self.m.records.clone(),
            dead_letters: None,
            clock: self.m.clock.clone() as Arc<dyn Clock>,
            metrics: Arc::new(MemoryMetrics::default()),
        }
    }

    /// A pending job received two hours ago whose message is gone from the queue.
    fn old_job(&self, media_id: &str) -> crate::media::MediaJob {
        let mut job = self.m.job(media_id);
        job.received_at = MemoryArchiver::NOW - 2 * 3600;
        self.m.records.insert_pending(&job);
        job
    }

    fn clock(&self) -> &FixedClock {
        &self.m.clock
    }
}

#[tokio::test]
async fn a_job_backing_off_for_an_hour_is_not_enqueued_by_repeated_sweeps() {
    let f = Fixture::new();
    let job = f.old_job("m-backoff");
    // The fetcher's retry path: the next delivery is an hour away.
    f.m.archiver.expect_retry(&job, 3600).await;
    for _ in 0..4 {
        let report = f.sweep().run().await.expect("sweep");
        assert_eq!(report.pending, 1);
        assert_eq!(report.reenqueued, 0, "{report:?}");
        f.clock().advance(15 * 60);
    }
    assert!(f.queue.jobs().is_empty());
    // Silent for a stale window past its expected delivery: now it is lost.
    f.clock().advance(STALE_PENDING_SECONDS);
    assert_eq!(f.sweep().run().await.expect("sweep").reenqueued, 1);
}

#[tokio::test]
async fn a_lost_job_is_enqueued_once_per_stale_window() {
    let f = Fixture::new();
    let job = f.old_job("m-lost");
    let (first, second) = (f.sweep(), f.sweep());
    let (a, b) = tokio::join!(first.run(), second.run());
    assert_eq!(
        a.expect("sweep").reenqueued + b.expect("sweep").reenqueued,
        1,
        "two sweeps at once enqueue one copy"
    );
    assert_eq!(f.queue.jobs(), vec![job.clone()]);
    // The copy is lost too: nothing more within the window, one more after it.
    for _ in 0..(STALE_PENDING_SECONDS / (15 * 60)) {
        f.clock().advance(15 * 60);
        assert_eq!(f.sweep().run().await.expect("sweep").reenqueued, 0);
    }
    f.clock().advance(15 * 60);
    assert_eq!(f.sweep().run().await.expect("sweep").reenqueued, 1);
    assert_eq!(f.queue.jobs().len(), 2);
}

#[tokio::test]
async fn a_visible_backlog_means_jobs_are_waiting_not_lost() {
    let f = Fixture::new();
    f.old_job("m-waiting");
    f.backlog.set(250);
    let report = f.sweep().run().await.expect("sweep");
    assert_eq!((report.reenqueued, report.waiting), (0, 1), "{report:?}");
    f.backlog.set(0);
    assert_eq!(f.sweep().run().await.expect("sweep").reenqueued, 1);
}

#[tokio::test]
async fn a_recent_job_costs_no_claim_and_a_redriven_one_is_not_enqueued_twice() {
    let f = Fixture::new();
    f.m.job("m-recent");
    let job = f.old_job("m-redriven");
    f.m.records
        .mark_failed(&job.record, "dead-lettered", MemoryArchiver::NOW, true)
        .await
        .expect("failed");
    assert_eq!(f.sweep().redrive_dead_lettered().await.expect("redrive"), 1);
    assert_eq!(f.queue.jobs().len(), 1);
    let report = f.sweep().run().await.expect("sweep");
    assert_eq!((report.pending, report.reenqueued), (2, 0), "{report:?}");
}

#[tokio::test]
async fn unverified_archives_are_counted() {
    let f = Fixture::new();
    let job = f.m.job("m-unverified");
    let archived = crate::media::ArchivedMedia {
        key: "media/k".to_owned(),
        sha256_hex: "ab".to_owned(),
        bytes: 1,
        archived_at: MemoryArchiver::NOW,
        verified: false,
    };
    f.m.records
        .mark_archived(&job.record, &archived)
        .await
        .expect("archived");
    let report = f.sweep().run().await.expect("sweep");
    assert_eq!((report.pending, report.unverified), (0, 1), "{report:?}");
}
