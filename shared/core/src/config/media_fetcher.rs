//! The media fetcher's settings: Graph to download from, the archive to write to, the queue and its
//! dead letters to work through.

use super::sections::{
    ArchiveBucket, ArchiveEncryption, AwsEndpoint, ContactHashSecret, GraphApi, MediaDeadLetters,
    MediaDeadline, MediaDownloadHosts, MediaQueue, MetaSecret, MetricsNamespace, RecordsTable,
    Retention,
};
use super::ReplaySettings;

settings! {
    /// The contact-hash key, retention and media deadline serve the replay action only (archiving
    /// reads what the webhook stamped on the records).
    pub struct MediaFetcherSettings {
        pub records: RecordsTable,
        pub archive: ArchiveBucket,
        pub encryption: ArchiveEncryption,
        /// Postponed retries and the sweep's re-enqueues.
        pub queue: MediaQueue,
        pub dead_letters: MediaDeadLetters,
        /// The access token for Graph.
        pub meta_secret: MetaSecret,
        pub graph: GraphApi,
        pub download_hosts: MediaDownloadHosts,
        pub metrics: MetricsNamespace,
        /// The replay action records journal objects as the webhook did.
        pub contact_hash_secret: ContactHashSecret,
        pub retention: Retention,
        pub media_deadline: MediaDeadline,
        pub aws: AwsEndpoint,
    }
}

impl MediaFetcherSettings {
    /// What the replay action needs, as `wavault replay` reads it.
    pub fn replay(&self) -> ReplaySettings {
        ReplaySettings {
            records: self.records.clone(),
            archive: self.archive.clone(),
            queue: self.queue.clone(),
            contact_hash_secret: self.contact_hash_secret.clone(),
            retention: self.retention,
            media_deadline: self.media_deadline,
            aws: self.aws.clone(),
        }
    }
}
