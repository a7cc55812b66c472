//! The ttl-expirer's settings: only the table and the bucket (it deletes, so it is given nothing else).

use super::sections::{ArchiveBucket, AwsEndpoint, MetricsNamespace, RecordsTable};

settings! {
    /// No KMS key: deleting an object needs none.
    pub struct TtlExpirerSettings {
        pub records: RecordsTable,
        pub archive: ArchiveBucket,
        pub metrics: MetricsNamespace,
        pub aws: AwsEndpoint,
    }
}
