//! The journal in S3: content-addressed, written once with `If-None-Match: *`.

use super::classify;
use crate::ports::{Journal, JournalWrite, PortError};
use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};

/// Writes verified webhook bodies to the archive bucket.
pub struct S3Journal {
    client: aws_sdk_s3::Client,
    bucket: String,
    kms_key_id: Option<String>,
}

impl S3Journal {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, kms_key_id: Option<String>) -> Self {
        Self {
            client,
            bucket,
            kms_key_id,
        }
    }
}

#[async_trait]
impl Journal for S3Journal {
    async fn put_if_absent(&self, key: &str, body: &[u8]) -> Result<JournalWrite, PortError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()))
            .content_type("application/json")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .if_none_match("*");
        request = match &self.kms_key_id {
            Some(key_id) => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id)
                .bucket_key_enabled(true),
            None => request.server_side_encryption(ServerSideEncryption::Aes256),
        };
        match request.send().await {
            Ok(_) => Ok(JournalWrite::Created),
            Err(error) => {
                let status = error.raw_response().map(|r| r.status().as_u16());
                let code = error.code();
                // 412: an object is already there; content addressing makes it the same body.
                if status == Some(412) || code == Some("PreconditionFailed") {
                    Ok(JournalWrite::AlreadyPresent)
                } else {
                    Err(classify("s3", &error))
                }
            }
        }
    }
}
