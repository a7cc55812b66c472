//! The journal in S3: content-addressed, written once with `If-None-Match: *`.

use crate::classify;
use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};
use wavault_core::archive::ArchiveObjects;
use wavault_core::error::PortError;
use wavault_core::ingest::{Journal, JournalWrite};
use wavault_core::media::{MediaStore, ObjectMeta, PartStream, PutResult, UploadedPart};

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
    async fn put_if_absent(
        &self,
        key: &str,
        body: &[u8],
        received_at: i64,
    ) -> Result<JournalWrite, PortError> {
        let request = journal_put(
            &self.client,
            &self.bucket,
            key,
            body.to_vec(),
            self.kms_key_id.as_deref(),
            Some(received_at),
        )
        .if_none_match("*");
        match request.send().await {
            Ok(_) => Ok(JournalWrite::Created),
            // Content addressing makes an existing object the same body.
            Err(error) if is_precondition_failed(&error) => Ok(JournalWrite::AlreadyPresent),
            Err(error) => Err(classify("s3", &error)),
        }
    }
}

/// The journal object's metadata naming when the webhook received the body (epoch seconds): a
/// replay records the body on its original retention clock, and an erasure's rewrite keeps it.
pub const RECEIVED_AT_METADATA: &str = "received-at";

/// A PutObject of a journal body: JSON, SHA-256 checksummed in transit, SSE-KMS with a bucket key
/// when `kms_key_id` is set (AES256 otherwise), the receipt time as metadata. Shared by the
/// webhook's write and erasure's rewrite.
pub(crate) fn journal_put(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    kms_key_id: Option<&str>,
    received_at: Option<i64>,
) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
    let mut request = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .content_type("application/json")
        .checksum_algorithm(ChecksumAlgorithm::Sha256);
    if let Some(at) = received_at {
        request = request.metadata(RECEIVED_AT_METADATA, at.to_string());
    }
    match kms_key_id {
        Some(key_id) => request
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key_id)
            .bucket_key_enabled(true),
        None => request.server_side_encryption(ServerSideEncryption::Aes256),
    }
}

/// GetObject, with an absent key as `None`.
#[cfg(any(feature = "contact", feature = "replay"))]
pub(crate) async fn get_if_present(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, PortError> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => Ok(Some(output)),
        Err(error)
            if error.code() == Some("NoSuchKey")
                || error.raw_response().map(|r| r.status().as_u16()) == Some(404) =>
        {
            Ok(None)
        }
        Err(error) => Err(classify("s3", &error)),
    }
}

/// Archived media in the archive bucket.
pub struct S3MediaStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    kms_key_id: Option<String>,
}

impl S3MediaStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, kms_key_id: Option<String>) -> Self {
        Self {
            client,
            bucket,
            kms_key_id,
        }
    }

    fn metadata(meta: &ObjectMeta) -> std::collections::HashMap<String, String> {
        // Object metadata is readable by whoever may HEAD the object, outside the encrypted
        // content: the record's key (a keyed hash), never the wamid or the media id.
        let mut map = std::collections::HashMap::from([("record".to_owned(), meta.record.clone())]);
        if let Some(mime) = &meta.mime_type {
            map.insert("mime-type".to_owned(), mime.clone());
        }
        if !meta.sha256_hex.is_empty() {
            map.insert("sha256".to_owned(), meta.sha256_hex.clone());
        }
        map
    }

    fn sse(&self) -> (ServerSideEncryption, Option<String>) {
        match &self.kms_key_id {
            Some(key) => (ServerSideEncryption::AwsKms, Some(key.clone())),
            None => (ServerSideEncryption::Aes256, None),
        }
    }
}

/// 412 / PreconditionFailed: `If-None-Match: *` found an object already there.
fn is_precondition_failed<E: ProvideErrorMetadata>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    error.code() == Some("PreconditionFailed")
        || error.raw_response().map(|r| r.status().as_u16()) == Some(412)
}

impl S3MediaStore {
    /// An UploadPart of `length` bytes that S3 checksums (SHA-256) in transit; the body is added
    /// by the caller.
    fn part_request(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        length: u64,
    ) -> aws_sdk_s3::operation::upload_part::builders::UploadPartFluentBuilder {
        self.client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .content_length(length as i64)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
    }
}

fn uploaded_part(
    part_number: i32,
    output: &aws_sdk_s3::operation::upload_part::UploadPartOutput,
) -> UploadedPart {
    UploadedPart {
        part_number,
        etag: output.e_tag().unwrap_or_default().to_owned(),
        checksum_sha256: output.checksum_sha256().map(str::to_owned),
    }
}

#[async_trait]
impl MediaStore for S3MediaStore {
    async fn put_whole(
        &self,
        key: &str,
        body: bytes::Bytes,
        sha256: [u8; 32],
        meta: &ObjectMeta,
    ) -> Result<PutResult, PortError> {
        use base64::Engine;
        let (sse, kms) = self.sse();
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(body.len() as i64)
            .body(ByteStream::from(body))
            .set_content_type(meta.mime_type.clone())
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(sha256))
            .set_metadata(Some(Self::metadata(meta)))
            .server_side_encryption(sse)
            .set_ssekms_key_id(kms)
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutResult::Created),
            Err(error) if is_precondition_failed(&error) => Ok(PutResult::AlreadyExists),
            Err(error) => Err(classify("s3", &error)),
        }
    }

    async fn begin_multipart(&self, key: &str, meta: &ObjectMeta) -> Result<String, PortError> {
        let (sse, kms) = self.sse();
        let output = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(meta.mime_type.clone())
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .set_metadata(Some(Self::metadata(meta)))
            .server_side_encryption(sse)
            .set_ssekms_key_id(kms)
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        output
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| PortError::failed("s3", "CreateMultipartUpload returned no upload id"))
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: bytes::Bytes,
    ) -> Result<UploadedPart, PortError> {
        let output = self
            .part_request(key, upload_id, part_number, body.len() as u64)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        Ok(uploaded_part(part_number, &output))
    }

    async fn upload_part_stream(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        part: PartStream,
    ) -> Result<UploadedPart, PortError> {
        let length = part.length;
        // The body waits on the download whenever Meta is slower than S3; that is not a stalled
        // upload (the download has its own timeouts), so upload stall detection is off here.
        // For the same reason its timeouts are the streamed part's, not the buffered calls'.
        let patience = aws_sdk_s3::config::Builder::default()
            .stalled_stream_protection(
                aws_sdk_s3::config::StalledStreamProtectionConfig::enabled()
                    .upload_enabled(false)
                    .build(),
            )
            .timeout_config(crate::sdk::AwsTimeouts::STREAMED_PART.config());
        let output = self
            .part_request(key, upload_id, part_number, length)
            .body(ByteStream::from_body_1_x(PartBody::from(part)))
            .customize()
            .config_override(patience)
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        Ok(uploaded_part(part_number, &output))
    }

    /// Completes the upload only if the key is still free (`If-None-Match: *`): the object then
    /// appears whole, verified, with the metadata it was created with (`sha256` included), and
    /// nothing is written onto it afterwards. A key already taken (a concurrent or earlier run)
    /// keeps its object; this upload is aborted rather than left open.
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<UploadedPart>,
    ) -> Result<PutResult, PortError> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .into_iter()
                    .map(|p| {
                        CompletedPart::builder()
                            .part_number(p.part_number)
                            .e_tag(p.etag)
                            .set_checksum_sha256(p.checksum_sha256)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutResult::Created),
            Err(error) if is_precondition_failed(&error) => {
                self.abort_multipart(key, upload_id).await?;
                Ok(PutResult::AlreadyExists)
            }
            Err(error) => Err(classify("s3", &error)),
        }
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), PortError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        Ok(())
    }
}

/// Deletes archive objects with every version (retention, erasure).
pub struct S3ArchiveObjects {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ArchiveObjects {
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { client, bucket }
    }
}

#[async_trait]
impl ArchiveObjects for S3ArchiveObjects {
    async fn delete_all_versions(&self, key: &str) -> Result<(), PortError> {
        // The plain delete removes the object of an unversioned bucket (one request, the common
        // case: the bucket is not versioned). In a versioned (or suspended) one it only adds a
        // delete marker, and S3 says so: then every version and marker under the key goes too.
        let deleted = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        if deleted.delete_marker() != Some(true) {
            return Ok(());
        }
        delete_versions_except(&self.client, &self.bucket, key, None).await
    }
}

/// Deletes every version and delete marker of exactly `key` (not its prefix neighbours), except
/// version `keep`.
pub(crate) async fn delete_versions_except(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    keep: Option<&str>,
) -> Result<(), PortError> {
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let listed = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| classify("s3", &e))?;
        let version_ids: Vec<String> = listed
            .versions()
            .iter()
            .filter(|v| v.key() == Some(key))
            .filter_map(|v| v.version_id())
            .chain(
                listed
                    .delete_markers()
                    .iter()
                    .filter(|m| m.key() == Some(key))
                    .filter_map(|m| m.version_id()),
            )
            .filter(|version| Some(*version) != keep)
            .map(str::to_owned)
            .collect();
        for version_id in version_ids {
            client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .version_id(version_id)
                .send()
                .await
                .map_err(|e| classify("s3", &e))?;
        }
        if listed.is_truncated() != Some(true) {
            return Ok(());
        }
        key_marker = listed.next_key_marker().map(str::to_owned);
        version_marker = listed.next_version_id_marker().map(str::to_owned);
    }
}

/// An HTTP body over a [`PartStream`] that announces its exact length (S3 needs it for the
/// trailing checksum) and fails, rather than ends, when the download stops short.
struct PartBody {
    chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    remaining: u64,
}

impl From<PartStream> for PartBody {
    fn from(part: PartStream) -> Self {
        Self {
            chunks: part.chunks,
            remaining: part.length,
        }
    }
}

impl http_body::Body for PartBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        match self.chunks.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                let len = chunk.len() as u64;
                if len > self.remaining {
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "part longer than announced",
                    ))));
                }
                self.remaining -= len;
                Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
            }
            Poll::Ready(None) if self.remaining > 0 => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "part ended early",
            )))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}
