//! The reqwest Graph adapter (`HttpGraphClient`) against the fake Graph API on loopback: media info,
//! streamed downloads, and how Graph's errors are classified.

use futures::StreamExt as _;
use sha2::{Digest, Sha256};
use wavault_core::graph::{GraphError, GraphErrorKind};
use wavault_core::media::{Download, GraphMedia};
use wavault_graph::http::{HttpGraphClient, USER_AGENT};
use wavault_tests::fake_graph::{
    FakeGraph, InfoFormat, MediaBehaviour, MediaBody, DEFAULT_PHONE_NUMBER_ID, DEFAULT_TOKEN,
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const VERSION: &str = "v23.0";

fn setup() -> Result<(FakeGraph, HttpGraphClient), Box<dyn std::error::Error + Send + Sync>> {
    let fake = FakeGraph::start()?;
    // The fake serves downloads on 127.0.0.1: the one download host allowed here (Meta's by default).
    let client = HttpGraphClient::with_download_hosts(&fake.base_url(), VERSION, &local_hosts())?;
    Ok((fake, client))
}

fn local_hosts() -> Vec<String> {
    vec!["127.0.0.1".to_owned()]
}

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Reads the whole stream: the bytes, or the first error.
async fn drain(download: Download) -> Result<Vec<u8>, GraphError> {
    let mut out = Vec::new();
    let mut stream = download.body;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn kind<T>(result: Result<T, GraphError>) -> Option<(GraphErrorKind, Option<u16>, Option<i64>)> {
    result.err().map(|e| (e.kind, e.http_status, e.code))
}

#[tokio::test]
async fn media_info_reads_the_hex_digest_and_a_string_size() -> TestResult {
    let (fake, client) = setup()?;
    let bytes = body(5000);
    fake.add_media("m1", bytes.clone(), "image/jpeg", MediaBehaviour::Ok);
    let info = client
        .media_info(DEFAULT_TOKEN, "m1", Some(DEFAULT_PHONE_NUMBER_ID))
        .await?;
    assert_eq!(info.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(info.sha256, Some(hex::encode(Sha256::digest(&bytes))));
    assert_eq!(info.sha256, fake.sha256_hex("m1"));
    assert_eq!(info.file_size, Some(5000));
    assert!(info.url.starts_with(&fake.base_url()));
    assert_eq!(fake.media_info_calls("m1"), 1);

    // The same with file_size as a number and sha256 in base64.
    fake.set_info_format(
        "m1",
        InfoFormat {
            sha256_base64: true,
            file_size_number: true,
            ..InfoFormat::default()
        },
    )?;
    let info = client.media_info(DEFAULT_TOKEN, "m1", None).await?;
    assert_eq!(info.file_size, Some(5000));
    assert_eq!(info.sha256.map(|s| s.len()), Some(44));
    Ok(())
}

#[tokio::test]
async fn download_streams_the_exact_bytes_with_a_user_agent() -> TestResult {
    let (fake, client) = setup()?;
    // Several of the fake's 64 KiB chunks.
    let bytes = body(300_000);
    fake.add_media("m2", bytes.clone(), "video/mp4", MediaBehaviour::Ok);
    let info = client.media_info(DEFAULT_TOKEN, "m2", None).await?;
    assert_eq!(fake.last_user_agent().as_deref(), Some(USER_AGENT));
    let download = client.download(DEFAULT_TOKEN, &info.url).await?;
    assert_eq!(download.content_length, Some(300_000));
    assert!(drain(download).await? == bytes);
    assert_eq!(fake.download_calls("m2"), 1);
    assert_eq!(fake.last_user_agent().as_deref(), Some(USER_AGENT));
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.user_agent.as_deref() == Some(USER_AGENT)));
    Ok(())
}

#[tokio::test]
async fn a_chunked_generated_download_streams_too() -> TestResult {
    let (fake, client) = setup()?;
    let (len, seed) = (1_000_003u64, 42);
    fake.add_media(
        "m3",
        MediaBody::Generated { len, seed },
        "audio/ogg",
        MediaBehaviour::Chunked,
    );
    let info = client.media_info(DEFAULT_TOKEN, "m3", None).await?;
    let download = client.download(DEFAULT_TOKEN, &info.url).await?;
    assert_eq!(download.content_length, None);
    let got = drain(download).await?;
    assert!(got == MediaBody::generated_range(seed, 0, len as usize));
    Ok(())
}

#[tokio::test]
async fn an_invalid_token_is_token_invalid() -> TestResult {
    let (fake, client) = setup()?;
    fake.add_media("m4", body(10), "image/png", MediaBehaviour::Ok);
    assert_eq!(
        kind(client.media_info("EAAG-wrong", "m4", None).await),
        Some((GraphErrorKind::TokenInvalid, Some(401), Some(190)))
    );
    // A download with a revoked token, on a URL fetched while it was valid.
    let info = client.media_info(DEFAULT_TOKEN, "m4", None).await?;
    fake.revoke_token(DEFAULT_TOKEN);
    assert_eq!(
        kind(client.download(DEFAULT_TOKEN, &info.url).await),
        Some((GraphErrorKind::TokenInvalid, Some(401), Some(190)))
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_session_is_token_invalid() -> TestResult {
    let (fake, client) = setup()?;
    fake.add_media("m5", body(10), "image/png", MediaBehaviour::TokenExpired);
    assert_eq!(
        kind(client.media_info(DEFAULT_TOKEN, "m5", None).await),
        Some((GraphErrorKind::TokenInvalid, Some(401), Some(190)))
    );
    Ok(())
}

#[tokio::test]
async fn a_rate_limit_is_a_400_with_code_130429() -> TestResult {
    let (fake, client) = setup()?;
    fake.add_media(
        "m6",
        body(10),
        "image/png",
        MediaBehaviour::RateLimited { times: 1 },
    );
    assert_eq!(
        kind(client.media_info(DEFAULT_TOKEN, "m6", None).await),
        Some((GraphErrorKind::RateLimited, Some(400), Some(130_429)))
    );
    client.media_info(DEFAULT_TOKEN, "m6", None).await?;
    Ok(())
}

#[tokio::test]
async fn a_server_error_is_transient() -> TestResult {
    let (fake, client) = setup()?;
    fake.add_media(
        "m7",
        body(10),
        "image/png",
        MediaBehaviour::ServerError { times: 1 },
    );
    assert_eq!(
        kind(client.media_info(DEFAULT_TOKEN, "m7", None).await),
        Some((GraphErrorKind::Transient, Some(500), Some(2)))
    );
    client.media_info(DEFAULT_TOKEN, "m7", None).await?;
    Ok(())
}

#[tokio::test]
async fn an_unknown_id_is_permanent() -> TestResult {
    let (fake, client) = setup()?;
    assert_eq!(
        kind(client.media_info(DEFAULT_TOKEN, "never-added", None).await),
        Some((GraphErrorKind::Permanent, Some(400), Some(100)))
    );
    fake.add_media("m8", body(10), "image/png", MediaBehaviour::UnknownId);
    let error = client
        .media_info(DEFAULT_TOKEN, "m8", None)
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(error.kind, GraphErrorKind::Permanent);
    assert_eq!(error.short(), "100: unknown media id");
    Ok(())
}

#[tokio::test]
async fn an_expired_url_is_url_expired() -> TestResult {
    let (fake, client) = setup()?;
    fake.add_media("m9", body(100), "image/png", MediaBehaviour::UrlExpiredOnce);
    let info = client.media_info(DEFAULT_TOKEN, "m9", None).await?;
    assert_eq!(
        kind(client.download(DEFAULT_TOKEN, &info.url).await),
        Some((GraphErrorKind::UrlExpired, Some(404), None))
    );
    // A fresh URL works.
    let info = client.media_info(DEFAULT_TOKEN, "m9", None).await?;
    let download = client.download(DEFAULT_TOKEN, &info.url).await?;
    assert_eq!(drain(download).await?, body(100));

    // A URL past its lifetime: expired on arrival.
    fake.set_url_lifetime(std::time::Duration::ZERO);
    let info = client.media_info(DEFAULT_TOKEN, "m9", None).await?;
    assert_eq!(
        kind(client.download(DEFAULT_TOKEN, &info.url).await),
        Some((GraphErrorKind::UrlExpired, Some(404), None))
    );
    Ok(())
}

#[tokio::test]
async fn a_truncated_body_fails_the_stream_transiently() -> TestResult {
    let (fake, client) = setup()?;
    let bytes = body(200_000);
    fake.add_media(
        "m10",
        bytes.clone(),
        "video/mp4",
        MediaBehaviour::Truncated { after: 100_000 },
    );
    let info = client.media_info(DEFAULT_TOKEN, "m10", None).await?;
    let download = client.download(DEFAULT_TOKEN, &info.url).await?;
    assert_eq!(download.content_length, Some(200_000));
    let mut stream = download.body;
    let mut received = Vec::new();
    let error = loop {
        match stream.next().await {
            Some(Ok(chunk)) => received.extend_from_slice(&chunk),
            Some(Err(error)) => break error,
            None => return Err("a truncated body ended without an error".into()),
        }
    };
    assert_eq!(error.kind, GraphErrorKind::Transient);
    assert_eq!(error.reason, "truncated or interrupted body");
    assert!(received.len() <= 100_000);
    assert!(received[..] == bytes[..received.len()]);
    assert!(stream.next().await.is_none());
    Ok(())
}

#[tokio::test]
async fn errors_carry_no_token_and_no_url() -> TestResult {
    let (fake, client) = setup()?;
    fake.add_media("m11", body(10), "image/png", MediaBehaviour::UrlExpiredOnce);
    let info = client.media_info(DEFAULT_TOKEN, "m11", None).await?;
    let error = client
        .download(DEFAULT_TOKEN, &info.url)
        .await
        .err()
        .ok_or("expected an error")?;
    let text = format!("{error} {error:?} {}", error.short());
    assert!(!text.contains(DEFAULT_TOKEN));
    assert!(!text.contains("media-download") && !text.contains("token="));
    assert!(!text.contains("127.0.0.1"));
    Ok(())
}

#[tokio::test]
async fn a_closed_port_is_transient() -> TestResult {
    let (fake, _) = setup()?;
    let base = fake.base_url();
    drop(fake);
    let client = HttpGraphClient::with_download_hosts(&base, VERSION, &local_hosts())?;
    let error = client
        .media_info(DEFAULT_TOKEN, "m12", None)
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(error.kind, GraphErrorKind::Transient);
    assert_eq!(error.http_status, None);
    Ok(())
}

#[tokio::test]
async fn a_plain_http_download_url_is_refused_under_https() -> TestResult {
    // No request is made: the client refuses before connecting.
    let client = HttpGraphClient::new("https://graph.example.invalid", VERSION)?;
    let error = client
        .download(DEFAULT_TOKEN, "http://127.0.0.1:9/media?x=1")
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(error.kind, GraphErrorKind::Permanent);
    Ok(())
}

/// A loopback server answering every request with a redirect to `location`; returns its base URL.
fn redirector(location: String) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    Ok(format!("http://{addr}"))
}

/// Media is fetched from the allowed media hosts only: a download URL on another host is a permanent failure
/// (no request made), and so is a redirect to another host (refused before it is followed).
#[tokio::test]
async fn downloads_stay_on_the_allowed_media_hosts() -> TestResult {
    let (fake, client) = setup()?;
    let elsewhere = fake.base_url().replace("127.0.0.1", "localhost");
    let error = client
        .download(
            DEFAULT_TOKEN,
            &format!("{elsewhere}/media-download/m1?token=x"),
        )
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(error.kind, GraphErrorKind::Permanent, "{error}");
    assert_eq!(error.reason, "download URL is not on a Meta media host");
    assert!(fake.requests().is_empty(), "nothing was requested");

    let redirecting = redirector(format!("{elsewhere}/media-download/m1?token=x"))?;
    let error = client
        .download(DEFAULT_TOKEN, &format!("{redirecting}/media?x=1"))
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(error.kind, GraphErrorKind::Permanent, "{error}");
    assert_eq!(error.reason, "download redirected off Meta's media hosts");
    assert!(fake.requests().is_empty(), "the redirect was not followed");

    // Meta's own host is the default list.
    let meta = HttpGraphClient::new(&fake.base_url(), VERSION)?;
    let error = meta
        .download(
            DEFAULT_TOKEN,
            &format!("{}/media-download/m1?token=x", fake.base_url()),
        )
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(error.reason, "download URL is not on a Meta media host");
    Ok(())
}
