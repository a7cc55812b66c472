//! The media fetcher's settings: Graph to download from, the archive to write to, the queue and its
//! dead letters to work through.

use super::sections::{
    ArchiveBucket, ArchiveEncryption, AwsEndpoint, GraphApi, MediaDeadLetters, MediaDownloadHosts,
    MediaQueue, MetaSecret, MetricsNamespace, RecordsTable,
};

settings! {
    /// No contact-hash key, no retention, no media deadline: the webhook stamped both on the records.
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
        pub aws: AwsEndpoint,
    }
}
