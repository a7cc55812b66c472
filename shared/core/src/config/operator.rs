//! The `wavault` tool's settings (erasure, export, replay): the functions' variable names, only those each needs.

use super::sections::{
    ArchiveBucket, ArchiveEncryption, AwsEndpoint, ContactHashSecret, MediaDeadline, MediaQueue,
    RecordsTable, Retention,
};

settings! {
    /// No queue and no Meta secret. The tool's `--table` / `--bucket` flags win over the
    /// variables: it passes a lookup that answers them first.
    pub struct OperatorSettings {
        pub records: RecordsTable,
        pub archive: ArchiveBucket,
        /// Redacted journal objects are written as the webhook writes them.
        pub encryption: ArchiveEncryption,
        pub contact_hash_secret: ContactHashSecret,
        pub aws: AwsEndpoint,
    }
}

settings! {
    /// `wavault replay`: what the webhook's recording needs (records, the media queue, the
    /// contact-hash key, retention and the media deadline as the stack sets them), and the archive
    /// it reads the journal from. No Meta secret: a replay verifies no signature (the journal
    /// holds only bodies that were verified on arrival).
    pub struct ReplaySettings {
        pub records: RecordsTable,
        pub archive: ArchiveBucket,
        pub queue: MediaQueue,
        pub contact_hash_secret: ContactHashSecret,
        /// Must be the stack's: replayed records expire `RETENTION_DAYS` after the original
        /// receipt, as the first recording did.
        pub retention: Retention,
        pub media_deadline: MediaDeadline,
        pub aws: AwsEndpoint,
    }
}
