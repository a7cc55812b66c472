//! The token rotator's settings: the Meta secret, Graph's token endpoints and how to rotate.

use super::sections::{AwsEndpoint, GraphApi, MetaSecret, MetricsNamespace, Rotation};

settings! {
    /// No table, bucket or queue (least privilege: the rotator is given only the Meta secret and
    /// Graph).
    pub struct TokenRotatorSettings {
        /// The secret whose `access_token` scheduled runs rotate.
        pub meta_secret: MetaSecret,
        pub graph: GraphApi,
        pub rotation: Rotation,
        pub metrics: MetricsNamespace,
        pub aws: AwsEndpoint,
    }
}
