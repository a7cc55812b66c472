//! The webhook's settings: what ingesting a delivery writes to, and the two secrets it verifies and hashes with.

use super::sections::{
    ArchiveBucket, ArchiveEncryption, AwsEndpoint, ContactHashSecret, MediaDeadline, MediaQueue,
    MetaSecret, MetricsNamespace, RecordsTable, Retention,
};

settings! {
    /// No Graph API and no dead-letter queue (the media fetcher's); the retention and the media
    /// deadline are here because the webhook stamps both on the records it creates.
    pub struct WebhookSettings {
        pub records: RecordsTable,
        /// The journal of raw bodies.
        pub archive: ArchiveBucket,
        pub encryption: ArchiveEncryption,
        /// Where media jobs go.
        pub queue: MediaQueue,
        /// The app secret (signatures) and the verify token (the GET handshake).
        pub meta_secret: MetaSecret,
        pub contact_hash_secret: ContactHashSecret,
        pub retention: Retention,
        pub media_deadline: MediaDeadline,
        pub metrics: MetricsNamespace,
        pub aws: AwsEndpoint,
    }
}
