//! Graph as the media fetcher needs it: look a media id up, download its file.

use crate::graph::GraphError;
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

/// What `GET /{version}/{media-id}` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// The download URL: valid for about five minutes, needs the bearer token. Never logged.
    pub url: String,
    pub mime_type: Option<String>,
    /// Meta's digest (hex in this endpoint's answers, base64 in webhooks; both are accepted).
    pub sha256: Option<String>,
    /// Declared size; Meta sends it as a string or a number.
    pub file_size: Option<u64>,
}

/// A download in progress: the declared length and the body as a stream of chunks.
pub struct Download {
    pub content_length: Option<u64>,
    pub body: BoxStream<'static, Result<Bytes, GraphError>>,
}

/// The Graph API calls the media fetcher makes.
#[async_trait]
pub trait GraphMedia: Send + Sync {
    /// `GET /{version}/{media_id}[?phone_number_id=]` with the bearer token: a fresh URL.
    async fn media_info(
        &self,
        token: &str,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Result<MediaInfo, GraphError>;

    /// `GET url` with the bearer token and an explicit User-Agent: the bytes, streamed.
    async fn download(&self, token: &str, url: &str) -> Result<Download, GraphError>;
}
