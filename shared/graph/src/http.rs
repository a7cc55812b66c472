//! The Graph API port ([`GraphMedia`]) over HTTP with reqwest (rustls, HTTP/1.1).
//!
//! Decisions:
//! - One client per instance, built once: connect timeout 5 s, a **per-read** timeout of 30 s
//!   (reset by every chunk, so a 100 MiB download may take as long as it needs while a stalled
//!   connection still fails) and no whole-request timeout on downloads; media info, a small JSON
//!   answer, also has a 20 s total deadline.
//! - An explicit `User-Agent: wavault/<version>` (reqwest sends none; Meta downloads were reported
//!   to fail without one).
//! - Download hosts: a download URL must be on one of Meta's media hosts
//!   ([`wavault_core::media::META_MEDIA_HOSTS`], what Graph returns; `MEDIA_DOWNLOAD_HOSTS` overrides it
//!   for a local fake), and so must every redirect (a custom policy: at most 10, each target's host
//!   checked, the Graph host itself also allowed). Anything else is a Permanent error with our own
//!   reason, recorded on the media record: our bearer token goes to Meta's hosts only, and an
//!   unknown host does not get retried for a week. reqwest still drops `Authorization` (and
//!   cookies) when a redirect changes host, port or scheme. When the base URL is `https`, the
//!   client is `https_only`: the token is never sent in clear.
//! - The bearer header is marked sensitive. Neither the token, nor a URL (download URLs carry
//!   signed query parameters), nor a response body is ever logged or put into an error: errors are
//!   [`GraphError`]s with reasons of our own; transport errors are logged without their URL.
//! - Error responses: the first 64 KiB of the body are read to find Graph's `error.code`, then
//!   [`classify`] decides. If that body cannot be read and the status alone would say Permanent,
//!   the call is Transient instead (a 400 whose body was cut may well have been a rate limit).
//! - A 2xx media-info answer that is not the expected JSON (or has no usable `url`) is Transient,
//!   "malformed media info": Meta has hiccups, and SQS redelivery bounds the retries.
//! - `file_size` is accepted as a number or a string of digits; anything else reads as unknown
//!   (`None`) rather than failing the call: the size is advisory, the fetcher counts the bytes.
//! - Download bodies are streamed, never buffered. A transport error mid-body, or a body that ends
//!   short of (or runs past) the declared Content-Length, is a Transient error from the stream.

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt as _;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Response, Url};
use std::time::Duration;
use wavault_core::graph::{classify, GraphError, GraphErrorKind};
use wavault_core::media::{Download, GraphMedia, MediaInfo};

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("wavault/", env!("CARGO_PKG_VERSION"));
/// Connecting (TCP and TLS) must finish within this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Each read (response head or body chunk) must finish within this; resets on every read.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The whole media-info call (a small JSON document) must finish within this.
pub const MEDIA_INFO_TIMEOUT: Duration = Duration::from_secs(20);
/// How much of an error body (or a media-info body) is read.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Why the client could not be built (configuration, not a Graph call).
#[derive(Debug, thiserror::Error)]
pub enum GraphClientBuildError {
    #[error("invalid Graph API base URL: {0}")]
    BaseUrl(&'static str),
    #[error("invalid Graph API version {0:?}")]
    Version(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Parses and checks `GRAPH_API_BASE_URL` and `GRAPH_API_VERSION` once, for every Graph client.
pub(crate) fn validated_base(base_url: &str, version: &str) -> Result<Url, GraphClientBuildError> {
    let base = Url::parse(base_url).map_err(|_| GraphClientBuildError::BaseUrl("unparseable"))?;
    if base.scheme() != "https" && base.scheme() != "http" {
        return Err(GraphClientBuildError::BaseUrl(
            "scheme must be http or https",
        ));
    }
    if base.cannot_be_a_base() || base.host_str().is_none() {
        return Err(GraphClientBuildError::BaseUrl("no host"));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(GraphClientBuildError::BaseUrl(
            "must not carry a query or fragment",
        ));
    }
    if version.is_empty() || version.contains(['/', '?', '#']) {
        return Err(GraphClientBuildError::Version(version.to_owned()));
    }
    Ok(base)
}

/// Redirects followed at most (reqwest's default limit).
const MAX_REDIRECTS: usize = 10;

/// A redirect the policy refused: its target is not an allowed media host.
#[derive(Debug, thiserror::Error)]
#[error("redirect to a host outside the allowed media hosts")]
struct DisallowedRedirect;

/// Whether `url`'s host (or `host:port`) is one of `hosts` (lowercase).
fn host_allowed(hosts: &[String], url: &Url) -> bool {
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    let with_port = url.port_or_known_default().map(|p| format!("{host}:{p}"));
    hosts
        .iter()
        .any(|h| *h == host || Some(h) == with_port.as_ref())
}

/// [`GraphMedia`] over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpGraphClient {
    client: reqwest::Client,
    /// `GRAPH_API_BASE_URL`, parsed once (e.g. `https://graph.facebook.com`).
    base_url: Url,
    /// `GRAPH_API_VERSION`, e.g. `v23.0`.
    version: String,
    /// Hosts a download (and any redirect) may go to.
    download_hosts: Vec<String>,
}

impl HttpGraphClient {
    /// Builds the client for `base_url` (`http(s)://host[:port][/path]`) and `version` (`v23.0`),
    /// downloading from Meta's media hosts only.
    pub fn new(base_url: &str, version: &str) -> Result<Self, GraphClientBuildError> {
        let hosts: Vec<String> = wavault_core::media::META_MEDIA_HOSTS
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        Self::with_download_hosts(base_url, version, &hosts)
    }

    /// As [`new`](Self::new), downloading only from `hosts` (`MEDIA_DOWNLOAD_HOSTS`).
    pub fn with_download_hosts(
        base_url: &str,
        version: &str,
        hosts: &[String],
    ) -> Result<Self, GraphClientBuildError> {
        let base = validated_base(base_url, version)?;
        let download_hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        // Redirects may stay on Graph's own host or go to a media host, nowhere else.
        let mut redirect_hosts = download_hosts.clone();
        if let Some(host) = base.host_str() {
            redirect_hosts.push(host.to_ascii_lowercase());
        }
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if host_allowed(&redirect_hosts, attempt.url()) {
                attempt.follow()
            } else {
                tracing::warn!(
                    event = "media_redirect_refused",
                    host = attempt.url().host_str().unwrap_or("")
                );
                attempt.error(DisallowedRedirect)
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .https_only(base.scheme() == "https")
            .redirect(policy)
            .build()
            .map_err(|e| GraphClientBuildError::Client(describe(&e)))?;
        Ok(Self {
            client,
            base_url: base,
            version: version.to_owned(),
            download_hosts,
        })
    }

    /// `{base}/{version}/{media_id}[?phone_number_id=]`, every part percent-encoded.
    fn media_info_url(
        &self,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Result<Url, GraphError> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| permanent("invalid base URL"))?
            .pop_if_empty()
            .push(&self.version)
            .push(media_id);
        if let Some(phone) = phone_number_id {
            url.query_pairs_mut().append_pair("phone_number_id", phone);
        }
        Ok(url)
    }

    fn get(&self, url: Url, token: &str) -> Result<reqwest::RequestBuilder, GraphError> {
        let mut auth =
            HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| GraphError {
                kind: GraphErrorKind::TokenInvalid,
                http_status: None,
                code: None,
                reason: "token is not a valid header value",
            })?;
        auth.set_sensitive(true);
        Ok(self.client.get(url).header(AUTHORIZATION, auth))
    }
}

#[async_trait]
impl GraphMedia for HttpGraphClient {
    async fn media_info(
        &self,
        token: &str,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Result<MediaInfo, GraphError> {
        if media_id.is_empty() {
            return Err(permanent("empty media id"));
        }
        let url = self.media_info_url(media_id, phone_number_id)?;
        let response = self
            .get(url, token)?
            .header(ACCEPT, "application/json")
            .timeout(MEDIA_INFO_TIMEOUT)
            .send()
            .await
            .map_err(|e| transport_error("media_info", e))?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(error_response(response, false).await);
        }
        let body = read_bounded(response)
            .await
            .map_err(|e| transport_error("media_info", e))?;
        parse_media_info(&body).ok_or(GraphError {
            kind: GraphErrorKind::Transient,
            http_status: Some(status),
            code: None,
            reason: "malformed media info",
        })
    }

    async fn download(&self, token: &str, url: &str) -> Result<Download, GraphError> {
        let url = Url::parse(url).map_err(|_| GraphError::transient("malformed download URL"))?;
        if self.base_url.scheme() == "https" && url.scheme() != "https" {
            // Never send the token in clear; the next attempt fetches a fresh URL.
            return Err(permanent("download URL is not https"));
        }
        if !host_allowed(&self.download_hosts, &url) {
            // The host (never the URL: it carries signed parameters) says where it pointed.
            tracing::warn!(
                event = "media_host_refused",
                host = url.host_str().unwrap_or("")
            );
            return Err(permanent("download URL is not on a Meta media host"));
        }
        let response = self
            .get(url, token)?
            .send()
            .await
            .map_err(|e| transport_error("download", e))?;
        if !response.status().is_success() {
            return Err(error_response(response, true).await);
        }
        let content_length = response.content_length();
        let body = checked_body(response.bytes_stream(), content_length);
        Ok(Download {
            content_length,
            body,
        })
    }
}

/// The body as [`GraphError`] results, failing when it is cut or differs from `expected` bytes.
fn checked_body<S>(
    inner: S,
    expected: Option<u64>,
) -> futures::stream::BoxStream<'static, Result<Bytes, GraphError>>
where
    S: futures::Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
{
    struct State<S> {
        inner: std::pin::Pin<Box<S>>,
        received: u64,
        expected: Option<u64>,
        done: bool,
    }
    let truncated = || GraphError::transient("truncated or interrupted body");
    let state = State {
        inner: Box::pin(inner),
        received: 0,
        expected,
        done: false,
    };
    futures::stream::unfold(state, move |mut state| async move {
        if state.done {
            return None;
        }
        match state.inner.next().await {
            Some(Ok(chunk)) => {
                state.received = state.received.saturating_add(chunk.len() as u64);
                if state.expected.is_some_and(|n| state.received > n) {
                    state.done = true;
                    return Some((
                        Err(GraphError::transient("body longer than declared")),
                        state,
                    ));
                }
                Some((Ok(chunk), state))
            }
            Some(Err(error)) => {
                log_transport("download_body", &error);
                state.done = true;
                Some((Err(truncated()), state))
            }
            None => match state.expected {
                Some(n) if state.received != n => {
                    state.done = true;
                    Some((Err(truncated()), state))
                }
                _ => None,
            },
        }
    })
    .boxed()
}

/// Classifies a non-2xx answer from its status and (if readable) Graph's `error.code`.
async fn error_response(response: Response, on_download_url: bool) -> GraphError {
    let status = response.status().as_u16();
    match read_bounded(response).await {
        Ok(body) => classify(status, graph_error_code(&body), on_download_url),
        Err(error) => {
            log_transport("error_body", &error);
            let by_status = classify(status, None, on_download_url);
            if by_status.kind == GraphErrorKind::Permanent {
                GraphError {
                    kind: GraphErrorKind::Transient,
                    reason: "error response interrupted",
                    ..by_status
                }
            } else {
                by_status
            }
        }
    }
}

/// The first [`MAX_JSON_BODY`] bytes of the body (the rest is dropped with the connection).
pub(crate) async fn read_bounded(mut response: Response) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while body.len() < MAX_JSON_BODY {
        match response.chunk().await? {
            Some(chunk) => {
                let room = MAX_JSON_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok(body)
}

/// Graph's `{"error":{"code":<int>}}`; the code may also come as a string of digits.
fn graph_error_code(body: &[u8]) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.get("error")?.get("code")? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `{"url","mime_type","sha256","file_size","id"}`; `None` when there is no usable `url`.
fn parse_media_info(body: &[u8]) -> Option<MediaInfo> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let url = text("url")?;
    let parsed = Url::parse(&url).ok()?;
    if parsed.scheme() != "https" && parsed.scheme() != "http" {
        return None;
    }
    Some(MediaInfo {
        url,
        mime_type: text("mime_type"),
        sha256: text("sha256"),
        file_size: value.get("file_size").and_then(file_size),
    })
}

/// A size sent as a JSON number or a string of digits.
fn file_size(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn permanent(reason: &'static str) -> GraphError {
    GraphError {
        kind: GraphErrorKind::Permanent,
        http_status: None,
        code: None,
        reason,
    }
}

/// A failed send: Transient, with a reason that names the kind of failure (never the URL).
fn transport_error(operation: &'static str, error: reqwest::Error) -> GraphError {
    log_transport(operation, &error);
    if error.is_redirect() && find_source::<DisallowedRedirect>(&error) {
        return permanent("download redirected off Meta's media hosts");
    }
    let reason = if error.is_builder() {
        // A URL reqwest refuses (e.g. a plain-http redirect under https_only) will not get better.
        return permanent("request refused by the HTTP client");
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    GraphError::transient(reason)
}

/// Whether `error`'s source chain holds an `E`.
fn find_source<E: std::error::Error + 'static>(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if e.is::<E>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn log_transport(operation: &'static str, error: &reqwest::Error) {
    let error = describe(error);
    tracing::warn!(event = "graph_transport_error", operation, error = %error);
}

/// The error and its sources, with reqwest errors rendered by kind only: their `Display` can
/// carry the URL, and download URLs carry signed query parameters. The other sources are hyper,
/// io and rustls errors, which carry no request data.
fn describe(error: &reqwest::Error) -> String {
    let mut text = reqwest_kind(error).to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text.push_str(": ");
        match e.downcast_ref::<reqwest::Error>() {
            Some(inner) => text.push_str(reqwest_kind(inner)),
            None => text.push_str(&e.to_string()),
        }
        source = e.source();
    }
    text
}

fn reqwest_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_redirect() {
        "redirect error"
    } else if e.is_body() {
        "body error"
    } else if e.is_decode() {
        "decode error"
    } else if e.is_builder() {
        "builder error"
    } else if e.is_request() {
        "request error"
    } else {
        "http error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_size_is_a_string_or_a_number() {
        let info = |file_size: &str| {
            parse_media_info(
                format!(
                    r#"{{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/x?a=1",
                    "mime_type":"image/jpeg","sha256":"ab","file_size":{file_size},"id":"1"}}"#
                )
                .as_bytes(),
            )
            .map(|i| i.file_size)
        };
        assert_eq!(info(r#""303833""#), Some(Some(303_833)));
        assert_eq!(info("303833"), Some(Some(303_833)));
        assert_eq!(info(r#"" 42 ""#), Some(Some(42)));
        assert_eq!(info("null"), Some(None));
        assert_eq!(info("-1"), Some(None));
        assert_eq!(info("1.5"), Some(None));
        assert_eq!(info(r#""big""#), Some(None));
        assert_eq!(info(r#"{"n":1}"#), Some(None));
    }

    #[test]
    fn media_info_needs_a_usable_url() {
        let full = parse_media_info(
            br#"{"url":"https://h/p?x=1","mime_type":"audio/ogg; codecs=opus","sha256":"c0ffee","id":"9"}"#,
        );
        assert_eq!(
            full,
            Some(MediaInfo {
                url: "https://h/p?x=1".into(),
                mime_type: Some("audio/ogg; codecs=opus".into()),
                sha256: Some("c0ffee".into()),
                file_size: None,
            })
        );
        assert_eq!(parse_media_info(br#"{"id":"9"}"#), None);
        assert_eq!(parse_media_info(br#"{"url":""}"#), None);
        assert_eq!(parse_media_info(br#"{"url":"not a url"}"#), None);
        assert_eq!(parse_media_info(br#"{"url":"file:///etc/passwd"}"#), None);
        assert_eq!(parse_media_info(b"<html>oops</html>"), None);
        assert_eq!(parse_media_info(b""), None);
    }

    #[test]
    fn error_bodies_yield_graph_codes() {
        let body = br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException",
            "code":130429,"error_data":{"details":"x"},"fbtrace_id":"Az"}}"#;
        assert_eq!(graph_error_code(body), Some(130_429));
        assert_eq!(graph_error_code(br#"{"error":{"code":"190"}}"#), Some(190));
        assert_eq!(
            graph_error_code(br#"{"error":{"message":"no code"}}"#),
            None
        );
        assert_eq!(graph_error_code(br#"{"code":100}"#), None);
        assert_eq!(graph_error_code(b"Not Found"), None);
        assert_eq!(graph_error_code(br#"{"error":{"code":1"#), None);
    }

    #[test]
    fn urls_are_built_and_encoded() -> Result<(), Box<dyn std::error::Error>> {
        let client = HttpGraphClient::new("https://graph.facebook.com", "v23.0")?;
        assert_eq!(
            client.media_info_url("123", None)?.as_str(),
            "https://graph.facebook.com/v23.0/123"
        );
        assert_eq!(
            client.media_info_url("1/2?x", Some("55 5&a=b"))?.as_str(),
            "https://graph.facebook.com/v23.0/1%2F2%3Fx?phone_number_id=55+5%26a%3Db"
        );
        let prefixed = HttpGraphClient::new("http://127.0.0.1:9/graph/", "v26.0")?;
        assert_eq!(
            prefixed.media_info_url("7", None)?.as_str(),
            "http://127.0.0.1:9/graph/v26.0/7"
        );
        assert!(HttpGraphClient::new("graph.facebook.com", "v23.0").is_err());
        assert!(HttpGraphClient::new("ftp://graph.facebook.com", "v23.0").is_err());
        assert!(HttpGraphClient::new("https://graph.facebook.com?a=1", "v23.0").is_err());
        assert!(HttpGraphClient::new("https://graph.facebook.com", "v2/3").is_err());
        Ok(())
    }

    #[test]
    fn user_agent_names_the_crate() {
        assert!(USER_AGENT.starts_with("wavault/"));
        assert!(USER_AGENT.len() > "wavault/".len());
    }

    #[tokio::test]
    async fn a_body_short_of_its_length_fails() {
        let chunks = vec![Ok(Bytes::from_static(b"abc"))];
        let mut body = checked_body(futures::stream::iter(chunks), Some(5));
        assert_eq!(body.next().await, Some(Ok(Bytes::from_static(b"abc"))));
        let end = body.next().await;
        assert!(matches!(end, Some(Err(ref e)) if e.kind == GraphErrorKind::Transient));
        assert_eq!(body.next().await, None);

        let chunks = vec![Ok(Bytes::from_static(b"abcdef"))];
        let mut body = checked_body(futures::stream::iter(chunks), Some(5));
        assert!(matches!(body.next().await, Some(Err(_))));

        let chunks = vec![
            Ok(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"cde")),
        ];
        let body = checked_body(futures::stream::iter(chunks), Some(5));
        let all: Vec<_> = body.collect().await;
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(Result::is_ok));

        let chunks = vec![Ok(Bytes::from_static(b"ab"))];
        let body = checked_body(futures::stream::iter(chunks), None);
        assert_eq!(body.collect::<Vec<_>>().await.len(), 1);
    }
}
