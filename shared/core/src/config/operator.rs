//! The `wavault` tool's settings (erasure and export): the functions' variable names, only those it needs.

use super::sections::{
    ArchiveBucket, ArchiveEncryption, AwsEndpoint, ContactHashSecret, RecordsTable,
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
