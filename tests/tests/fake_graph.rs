//! Tests of the fake Graph API itself: every media behaviour and token endpoint observable as documented, with
//! reqwest as the client (the media-fetcher and the rotator use it too). Loopback only; each test has its own fake.

use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::StreamExt as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING, USER_AGENT};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wavault_tests::fake_graph::{
    appsecret_proof, FakeGraph, InfoFormat, MediaBehaviour, MediaBody, ProofStatus, TokenFlaw,
    DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_PHONE_NUMBER_ID, DEFAULT_TOKEN,
    EXCHANGED_TOKEN_EXPIRES_IN,
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const V: &str = "v23.0";
const UA: &str = "wavault-tests/0.1";
const JPEG: &str = "image/jpeg";

/// A client like the fetcher's: no proxy, no default User-Agent (reqwest sends none unless told).
fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Percent-encodes a query or form value (the reqwest here is built without its `query`/`form` features).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

struct Reply {
    status: u16,
    json: Value,
}

async fn get_json(url: &str, token: Option<&str>) -> Reply {
    let mut request = client().get(url).header(USER_AGENT, UA);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    Reply {
        status,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

async fn post_form(url: &str, form: &str) -> Reply {
    let response = client()
        .post(url)
        .header(USER_AGENT, UA)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    Reply {
        status,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

async fn media_info(fake: &FakeGraph, id: &str, token: &str) -> Reply {
    get_json(&format!("{}/{V}/{id}", fake.base_url()), Some(token)).await
}

async fn download(url: &str, token: &str) -> reqwest::Response {
    client()
        .get(url)
        .bearer_auth(token)
        .header(USER_AGENT, UA)
        .send()
        .await
        .unwrap()
}

fn url_of(info: &Reply) -> String {
    info.json["url"].as_str().unwrap().to_string()
}

fn error_code(reply: &Reply) -> i64 {
    reply.json["error"]["code"].as_i64().unwrap()
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Media: the happy path and the protocol details
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn media_info_then_download_serves_the_bytes() -> TestResult {
    let fake = FakeGraph::start()?;
    let body = bytes(3000);
    fake.add_media("111", body.clone(), JPEG, MediaBehaviour::Ok);

    let info = get_json(
        &format!(
            "{}/{V}/111?phone_number_id={DEFAULT_PHONE_NUMBER_ID}",
            fake.base_url()
        ),
        Some(DEFAULT_TOKEN),
    )
    .await;
    assert_eq!(info.status, 200);
    assert_eq!(info.json["messaging_product"], "whatsapp");
    assert_eq!(info.json["mime_type"], JPEG);
    assert_eq!(info.json["sha256"], json!(sha_hex(&body)));
    assert_eq!(info.json["file_size"], json!("3000"));
    assert_eq!(info.json["id"], "111");
    let url = url_of(&info);
    assert!(url.starts_with(&format!("{}/media-download/111?token=", fake.base_url())));
    assert!(url.ends_with("&ext=1"));
    assert_eq!(fake.sha256_hex("111"), Some(sha_hex(&body)));

    let response = download(&url, DEFAULT_TOKEN).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()[CONTENT_LENGTH], "3000");
    assert_eq!(response.headers()[CONTENT_TYPE], JPEG);
    assert_eq!(response.bytes().await?.to_vec(), body);

    assert_eq!(fake.media_info_calls("111"), 1);
    assert_eq!(fake.download_calls("111"), 1);
    assert_eq!(fake.last_user_agent().as_deref(), Some(UA));
    let requests = fake.requests();
    let seen: Vec<(&str, &str, u16)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", "/v23.0/111", 200),
            ("GET", "/media-download/111", 200)
        ]
    );
    // Nothing recorded carries a token or a query string.
    let recorded = format!("{requests:?} {fake:?}");
    assert!(!recorded.contains(DEFAULT_TOKEN) && !recorded.contains('?'));
    Ok(())
}

#[tokio::test]
async fn any_version_works_and_other_paths_are_graph_errors() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("5", bytes(10), JPEG, MediaBehaviour::Ok);
    assert_eq!(
        get_json(&format!("{}/v19.0/5", fake.base_url()), Some(DEFAULT_TOKEN))
            .await
            .status,
        200
    );
    for path in ["/5", "/23.0/5", "/v23.0/5/extra/more"] {
        let reply = get_json(&format!("{}{path}", fake.base_url()), Some(DEFAULT_TOKEN)).await;
        assert_eq!((reply.status, error_code(&reply)), (400, 2500), "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn each_info_call_issues_a_fresh_url_that_only_fits_its_media() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(10), JPEG, MediaBehaviour::Ok);
    fake.add_media("2", bytes(20), JPEG, MediaBehaviour::Ok);
    let first = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    let second = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    assert_ne!(first, second);
    assert_eq!(download(&first, DEFAULT_TOKEN).await.status().as_u16(), 200);
    assert_eq!(
        download(&second, DEFAULT_TOKEN).await.status().as_u16(),
        200
    );

    // Media 1's URL with media 2's path, and a made-up URL, are both "expired".
    let stolen = first.replace("/media-download/1?", "/media-download/2?");
    assert_eq!(
        download(&stolen, DEFAULT_TOKEN).await.status().as_u16(),
        404
    );
    let forged = format!("{}/media-download/1?token=nope&ext=1", fake.base_url());
    assert_eq!(
        download(&forged, DEFAULT_TOKEN).await.status().as_u16(),
        404
    );

    // A zero lifetime expires every URL, old or new, without waiting.
    fake.set_url_lifetime(Duration::ZERO);
    let fresh = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    assert_eq!(download(&fresh, DEFAULT_TOKEN).await.status().as_u16(), 404);
    assert_eq!(download(&first, DEFAULT_TOKEN).await.status().as_u16(), 404);
    Ok(())
}

#[tokio::test]
async fn info_format_flags_switch_sha256_to_base64_and_file_size_to_a_number() -> TestResult {
    let fake = FakeGraph::start()?;
    let body = bytes(77);
    fake.add_media(
        "9",
        body.clone(),
        "audio/ogg; codecs=opus",
        MediaBehaviour::Ok,
    );
    fake.set_info_format(
        "9",
        InfoFormat {
            sha256_base64: true,
            file_size_number: true,
            ..InfoFormat::default()
        },
    )?;
    let info = media_info(&fake, "9", DEFAULT_TOKEN).await;
    let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body));
    assert_eq!(info.json["sha256"], json!(expected));
    assert_eq!(info.json["file_size"], json!(77));
    let response = download(&url_of(&info), DEFAULT_TOKEN).await;
    assert_eq!(response.headers()[CONTENT_TYPE], "audio/ogg; codecs=opus");
    assert!(fake.set_info_format("nope", InfoFormat::default()).is_err());
    Ok(())
}

#[tokio::test]
async fn bearer_tokens_are_required_checked_and_revocable() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(10), JPEG, MediaBehaviour::Ok);
    let info_url = format!("{}/{V}/1", fake.base_url());

    let anonymous = get_json(&info_url, None).await;
    assert_eq!((anonymous.status, error_code(&anonymous)), (401, 190));
    assert_eq!(anonymous.json["error"]["type"], "OAuthException");
    // A token in the query string is refused: it would end up in access logs.
    let in_query = get_json(
        &format!("{info_url}?access_token={}", enc(DEFAULT_TOKEN)),
        None,
    )
    .await;
    assert_eq!(in_query.status, 401);

    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    let response = client().get(&url).header(USER_AGENT, UA).send().await?;
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = serde_json::from_slice(&response.bytes().await?)?;
    assert_eq!(body["error"]["code"], 190);

    fake.set_valid_tokens(&["EAAG-one", "EAAG-two"]);
    assert_eq!(media_info(&fake, "1", DEFAULT_TOKEN).await.status, 401);
    assert_eq!(media_info(&fake, "1", "EAAG-two").await.status, 200);
    fake.revoke_token("EAAG-two");
    assert!(!fake.is_token_valid("EAAG-two") && fake.is_token_valid("EAAG-one"));
    assert_eq!(media_info(&fake, "1", "EAAG-two").await.status, 401);
    // Failed attempts count too (the fetcher's retries must stay bounded).
    assert_eq!(fake.media_info_calls("1"), 6);
    Ok(())
}

#[tokio::test]
async fn a_download_without_user_agent_is_served_and_recorded() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(10), JPEG, MediaBehaviour::Ok);
    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    assert_eq!(fake.last_user_agent().as_deref(), Some(UA));
    let response = client().get(&url).bearer_auth(DEFAULT_TOKEN).send().await?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await?.len(), 10);
    assert_eq!(fake.last_user_agent(), None);
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        (last.path.as_str(), last.user_agent),
        ("/media-download/1", None)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Media behaviours
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn url_expired_once_fails_the_first_download_only() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(100), JPEG, MediaBehaviour::UrlExpiredOnce);
    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    assert_eq!(download(&url, DEFAULT_TOKEN).await.status().as_u16(), 404);
    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    let response = download(&url, DEFAULT_TOKEN).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await?.len(), 100);
    assert_eq!(
        (fake.media_info_calls("1"), fake.download_calls("1")),
        (2, 2)
    );

    // Switching the behaviour again re-arms it.
    fake.set_behaviour("1", MediaBehaviour::UrlExpiredOnce)?;
    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    assert_eq!(download(&url, DEFAULT_TOKEN).await.status().as_u16(), 404);
    Ok(())
}

#[tokio::test]
async fn token_expired_rejects_the_presented_token_until_another_valid_one_is_used() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(100), JPEG, MediaBehaviour::TokenExpired);
    let expired = media_info(&fake, "1", DEFAULT_TOKEN).await;
    assert_eq!((expired.status, error_code(&expired)), (401, 190));
    assert_eq!(
        expired.json["error"]["message"],
        "Error validating access token: Session has expired"
    );
    assert_eq!(expired.json["error"]["type"], "OAuthException");
    assert!(expired.json["error"]["fbtrace_id"].is_string());

    // The rotation: a second valid token. The first stays "expired" for this media.
    fake.set_valid_tokens(&[DEFAULT_TOKEN, "EAAG-rotated"]);
    assert_eq!(media_info(&fake, "1", DEFAULT_TOKEN).await.status, 401);
    let info = media_info(&fake, "1", "EAAG-rotated").await;
    assert_eq!(info.status, 200);
    let url = url_of(&info);
    assert_eq!(download(&url, DEFAULT_TOKEN).await.status().as_u16(), 401);
    assert_eq!(download(&url, "EAAG-rotated").await.status().as_u16(), 200);
    Ok(())
}

#[tokio::test]
async fn rate_limits_are_http_400_code_130429_then_clear() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media(
        "1",
        bytes(10),
        JPEG,
        MediaBehaviour::RateLimited { times: 2 },
    );
    for _ in 0..2 {
        let reply = media_info(&fake, "1", DEFAULT_TOKEN).await;
        assert_eq!((reply.status, error_code(&reply)), (400, 130429));
        assert_eq!(reply.json["error"]["message"], "Rate limit hit");
    }
    assert_eq!(media_info(&fake, "1", DEFAULT_TOKEN).await.status, 200);
    assert_eq!(fake.media_info_calls("1"), 3);

    // Switchable at runtime, and Ok really switches it off.
    fake.set_behaviour("1", MediaBehaviour::RateLimited { times: 5 })?;
    assert_eq!(media_info(&fake, "1", DEFAULT_TOKEN).await.status, 400);
    fake.set_behaviour("1", MediaBehaviour::Ok)?;
    assert_eq!(media_info(&fake, "1", DEFAULT_TOKEN).await.status, 200);
    assert!(fake
        .set_behaviour("never-added", MediaBehaviour::Ok)
        .is_err());
    Ok(())
}

#[tokio::test]
async fn server_errors_are_http_500_with_a_graph_body_then_clear() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media(
        "1",
        bytes(10),
        JPEG,
        MediaBehaviour::ServerError { times: 1 },
    );
    let reply = media_info(&fake, "1", DEFAULT_TOKEN).await;
    assert_eq!((reply.status, error_code(&reply)), (500, 2));
    assert_eq!(media_info(&fake, "1", DEFAULT_TOKEN).await.status, 200);
    Ok(())
}

#[tokio::test]
async fn slow_downloads_trip_a_client_timeout_and_otherwise_complete() -> TestResult {
    let fake = FakeGraph::start()?;
    let body = bytes(1000);
    let slow = MediaBehaviour::Slow {
        delay_ms_per_chunk: 40,
        chunk: 100,
    };
    fake.add_media("1", body.clone(), JPEG, slow);

    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()?;
    let outcome = async {
        impatient
            .get(&url)
            .bearer_auth(DEFAULT_TOKEN)
            .header(USER_AGENT, UA)
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(outcome.is_err_and(|e| e.is_timeout()));

    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    let started = Instant::now();
    let response = download(&url, DEFAULT_TOKEN).await;
    assert_eq!(response.headers()[CONTENT_LENGTH], "1000");
    assert_eq!(response.bytes().await?.to_vec(), body);
    // Ten chunks, each after a 40 ms pause.
    assert!(started.elapsed() >= Duration::from_millis(400));
    Ok(())
}

#[tokio::test]
async fn truncated_downloads_declare_the_full_length_and_cut_the_connection() -> TestResult {
    let fake = FakeGraph::start()?;
    let body = bytes(200_000);
    fake.add_media(
        "1",
        body.clone(),
        JPEG,
        MediaBehaviour::Truncated { after: 100_000 },
    );
    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    let response = download(&url, DEFAULT_TOKEN).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()[CONTENT_LENGTH], "200000");
    let mut received = Vec::new();
    let mut stream = response.bytes_stream();
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => received.extend_from_slice(&chunk),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body must end in an error, not look complete");
    assert_eq!(received.len(), 100_000);
    assert_eq!(received[..], body[..100_000]);
    Ok(())
}

#[tokio::test]
async fn wrong_sha256_advertises_a_digest_that_does_not_match() -> TestResult {
    let fake = FakeGraph::start()?;
    let body = bytes(500);
    fake.add_media("1", body.clone(), JPEG, MediaBehaviour::WrongSha256);
    let info = media_info(&fake, "1", DEFAULT_TOKEN).await;
    let advertised = info.json["sha256"].as_str().unwrap().to_string();
    assert_eq!(advertised.len(), 64);
    let downloaded = download(&url_of(&info), DEFAULT_TOKEN)
        .await
        .bytes()
        .await?;
    assert_eq!(downloaded.to_vec(), body);
    assert_ne!(advertised, sha_hex(&downloaded));
    assert_eq!(fake.sha256_hex("1"), Some(sha_hex(&body)));
    Ok(())
}

#[tokio::test]
async fn chunked_downloads_have_no_content_length() -> TestResult {
    let fake = FakeGraph::start()?;
    let body = bytes(150_000);
    fake.add_media("1", body.clone(), JPEG, MediaBehaviour::Chunked);
    let url = url_of(&media_info(&fake, "1", DEFAULT_TOKEN).await);
    let response = download(&url, DEFAULT_TOKEN).await;
    assert!(response.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(response.headers()[TRANSFER_ENCODING], "chunked");
    assert_eq!(response.bytes().await?.to_vec(), body);
    Ok(())
}

#[tokio::test]
async fn oversized_media_streams_more_than_the_declared_size() -> TestResult {
    let fake = FakeGraph::start()?;
    let body = bytes(5000);
    fake.add_media(
        "1",
        body.clone(),
        JPEG,
        MediaBehaviour::Oversized { declared: Some(10) },
    );
    let info = media_info(&fake, "1", DEFAULT_TOKEN).await;
    assert_eq!(info.json["file_size"], json!("10"));
    let response = download(&url_of(&info), DEFAULT_TOKEN).await;
    assert!(response.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(response.bytes().await?.len(), 5000);

    fake.set_behaviour("1", MediaBehaviour::Oversized { declared: None })?;
    let info = media_info(&fake, "1", DEFAULT_TOKEN).await;
    assert_eq!(info.json["file_size"], json!("2500"));
    Ok(())
}

#[tokio::test]
async fn unknown_ids_answer_graph_error_100_subcode_33() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(10), JPEG, MediaBehaviour::UnknownId);
    for id in ["1", "never-added"] {
        let reply = media_info(&fake, id, DEFAULT_TOKEN).await;
        assert_eq!((reply.status, error_code(&reply)), (400, 100), "{id}");
        assert_eq!(reply.json["error"]["error_subcode"], 33);
        assert_eq!(reply.json["error"]["type"], "GraphMethodException");
        let message = reply.json["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!(
            "Unsupported get request. Object with ID '{id}' does not exist"
        )));
    }
    assert_eq!(fake.media_info_calls("never-added"), 1);
    let url = format!("{}/media-download/never-added?token=x", fake.base_url());
    assert_eq!(download(&url, DEFAULT_TOKEN).await.status().as_u16(), 404);
    assert_eq!(fake.download_calls("never-added"), 1);
    Ok(())
}

#[tokio::test]
async fn a_100_mib_generated_body_streams_and_hashes_as_advertised() -> TestResult {
    const LEN: u64 = 100 * 1024 * 1024;
    let fake = FakeGraph::start()?;
    let started = Instant::now();
    fake.add_media(
        "big",
        MediaBody::Generated { len: LEN, seed: 42 },
        "video/mp4",
        MediaBehaviour::Ok,
    );
    let hashed_in = started.elapsed();
    let info = media_info(&fake, "big", DEFAULT_TOKEN).await;
    assert_eq!(info.json["file_size"], json!(LEN.to_string()));
    let response = download(&url_of(&info), DEFAULT_TOKEN).await;
    assert_eq!(response.headers()[CONTENT_LENGTH], LEN.to_string().as_str());

    // aws-lc's assembly SHA-256: sha2 would take seconds for 100 MiB in a debug build.
    let mut hasher = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut received = 0u64;
    let mut head = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if head.len() < 4096 {
            head.extend_from_slice(&chunk[..chunk.len().min(4096 - head.len())]);
        }
        hasher.update(&chunk);
        received += chunk.len() as u64;
    }
    assert_eq!(received, LEN);
    assert_eq!(info.json["sha256"], json!(hex::encode(hasher.finish())));
    assert_eq!(head, MediaBody::generated_range(42, 0, 4096));
    eprintln!(
        "100 MiB: hashed at add time in {hashed_in:?}, total {:?}",
        started.elapsed()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Phone number and token endpoints
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn phone_numbers_answer_with_a_valid_bearer() -> TestResult {
    let fake = FakeGraph::start()?;
    let url = format!("{}/{V}/{DEFAULT_PHONE_NUMBER_ID}", fake.base_url());
    let reply = get_json(&url, Some(DEFAULT_TOKEN)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json,
        json!({"id": DEFAULT_PHONE_NUMBER_ID, "display_phone_number": "+1 555-000-0000", "verified_name": "Test"})
    );
    assert_eq!(get_json(&url, Some("EAAG-bogus")).await.status, 401);
    let other = format!("{}/{V}/2222", fake.base_url());
    assert_eq!(get_json(&other, Some(DEFAULT_TOKEN)).await.status, 400);
    fake.add_phone_number("2222");
    assert_eq!(get_json(&other, Some(DEFAULT_TOKEN)).await.status, 200);
    Ok(())
}

fn exchange_url(fake: &FakeGraph, client_id: &str, client_secret: &str, token: &str) -> String {
    format!(
        "{}/{V}/oauth/access_token?{}",
        fake.base_url(),
        query(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("fb_exchange_token", token),
        ])
    )
}

#[tokio::test]
async fn exchanging_a_valid_token_issues_a_new_one_and_keeps_the_old() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(10), JPEG, MediaBehaviour::Ok);
    let reply = get_json(
        &exchange_url(&fake, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_TOKEN),
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["token_type"], "bearer");
    assert_eq!(reply.json["expires_in"], json!(EXCHANGED_TOKEN_EXPIRES_IN));
    let new = reply.json["access_token"].as_str().unwrap().to_string();
    assert_ne!(new, DEFAULT_TOKEN);
    assert_eq!(fake.last_issued_token().as_deref(), Some(new.as_str()));
    assert_eq!(media_info(&fake, "1", &new).await.status, 200);
    assert_eq!(media_info(&fake, "1", DEFAULT_TOKEN).await.status, 200);

    let bogus = get_json(
        &exchange_url(&fake, DEFAULT_APP_ID, DEFAULT_APP_SECRET, "EAAG-bogus"),
        None,
    )
    .await;
    assert_eq!((bogus.status, error_code(&bogus)), (400, 190));
    fake.revoke_token(&new);
    let revoked = get_json(
        &exchange_url(&fake, DEFAULT_APP_ID, DEFAULT_APP_SECRET, &new),
        None,
    )
    .await;
    assert_eq!((revoked.status, error_code(&revoked)), (400, 190));
    let bad_secret = get_json(
        &exchange_url(&fake, DEFAULT_APP_ID, "wrong", DEFAULT_TOKEN),
        None,
    )
    .await;
    assert_eq!((bad_secret.status, error_code(&bad_secret)), (400, 1));
    let bad_app = get_json(
        &exchange_url(&fake, "999", DEFAULT_APP_SECRET, DEFAULT_TOKEN),
        None,
    )
    .await;
    assert_eq!((bad_app.status, error_code(&bad_app)), (400, 101));
    Ok(())
}

fn mint_form(admin: &str, proof: Option<&str>) -> String {
    let mut pairs = vec![
        ("business_app", DEFAULT_APP_ID),
        (
            "scope",
            "whatsapp_business_messaging,whatsapp_business_management",
        ),
        ("access_token", admin),
    ];
    if let Some(proof) = proof {
        pairs.push(("appsecret_proof", proof));
    }
    query(&pairs)
}

#[tokio::test]
async fn minting_requires_a_valid_admin_token_and_a_correct_appsecret_proof() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(10), JPEG, MediaBehaviour::Ok);
    let url = format!("{}/{V}/61550000000001/access_tokens", fake.base_url());
    let proof = appsecret_proof(DEFAULT_APP_SECRET, DEFAULT_TOKEN);

    let minted = post_form(&url, &mint_form(DEFAULT_TOKEN, Some(&proof))).await;
    assert_eq!(minted.status, 200);
    let token = minted.json["access_token"].as_str().unwrap().to_string();
    assert_eq!(media_info(&fake, "1", &token).await.status, 200);

    let missing = post_form(&url, &mint_form(DEFAULT_TOKEN, None)).await;
    assert_eq!((missing.status, error_code(&missing)), (400, 100));
    let wrong = appsecret_proof("not-the-secret", DEFAULT_TOKEN);
    let wrong = post_form(&url, &mint_form(DEFAULT_TOKEN, Some(&wrong))).await;
    assert_eq!((wrong.status, error_code(&wrong)), (400, 100));
    let upper = post_form(&url, &mint_form(DEFAULT_TOKEN, Some(&proof.to_uppercase()))).await;
    assert_eq!(upper.status, 400, "the proof is lowercase hex");
    let bogus_admin = appsecret_proof(DEFAULT_APP_SECRET, "EAAG-bogus");
    let bogus = post_form(&url, &mint_form("EAAG-bogus", Some(&bogus_admin))).await;
    assert_eq!((bogus.status, error_code(&bogus)), (401, 190));

    // Parameters in the query string work as well as a form body.
    let in_query = client()
        .post(format!("{url}?{}", mint_form(DEFAULT_TOKEN, Some(&proof))))
        .header(USER_AGENT, UA)
        .send()
        .await?;
    assert_eq!(in_query.status().as_u16(), 200);

    let checks: Vec<ProofStatus> = fake
        .appsecret_proof_checks()
        .into_iter()
        .filter(|(path, _)| path.ends_with("/access_tokens"))
        .map(|(_, status)| status)
        .collect();
    use ProofStatus::*;
    assert_eq!(checks, [Valid, Absent, Invalid, Invalid, Valid, Valid]);
    assert_eq!(
        fake.appsecret_proof_checks().first(),
        Some(&("/v23.0/61550000000001/access_tokens".to_string(), Valid))
    );
    // A media request with a wrong proof is refused too; without one it is fine.
    let info = get_json(
        &format!(
            "{}/{V}/1?appsecret_proof={}",
            fake.base_url(),
            "00".repeat(32)
        ),
        Some(DEFAULT_TOKEN),
    )
    .await;
    assert_eq!((info.status, error_code(&info)), (400, 100));
    Ok(())
}

fn debug_url(fake: &FakeGraph, input: &str, access_token: &str) -> String {
    format!(
        "{}/{V}/debug_token?{}",
        fake.base_url(),
        query(&[("input_token", input), ("access_token", access_token)])
    )
}

#[tokio::test]
async fn debug_token_reports_validity_expiry_and_scopes() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.set_app("4242", "other-secret");
    let app_token = "4242|other-secret";

    let reply = get_json(&debug_url(&fake, DEFAULT_TOKEN, app_token), None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json["data"],
        json!({
            "app_id": "4242",
            "type": "SYSTEM_USER",
            "application": "wavault",
            "expires_at": 0,
            "is_valid": true,
            "scopes": ["whatsapp_business_messaging", "whatsapp_business_management"],
        })
    );
    let wrong_app = get_json(&debug_url(&fake, DEFAULT_TOKEN, "4242|nope"), None).await;
    assert_eq!((wrong_app.status, error_code(&wrong_app)), (400, 190));
    let unknown = get_json(&debug_url(&fake, "EAAG-bogus", app_token), None).await;
    assert_eq!(unknown.json["data"]["is_valid"], false);

    // An exchanged token expires about 60 days from now.
    let exchanged = get_json(
        &exchange_url(&fake, "4242", "other-secret", DEFAULT_TOKEN),
        None,
    )
    .await;
    let exchanged = exchanged.json["access_token"].as_str().unwrap().to_string();
    let reply = get_json(&debug_url(&fake, &exchanged, app_token), None).await;
    let expires_at = reply.json["data"]["expires_at"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    assert!(expires_at > now + EXCHANGED_TOKEN_EXPIRES_IN - 60);
    fake.revoke_token(&exchanged);
    let reply = get_json(&debug_url(&fake, &exchanged, app_token), None).await;
    assert_eq!(reply.json["data"]["is_valid"], false);
    assert_eq!(reply.json["data"]["error"]["code"], 190);
    Ok(())
}

#[tokio::test]
async fn flawed_and_failing_token_calls_can_be_injected() -> TestResult {
    let fake = FakeGraph::start()?;
    fake.add_media("1", bytes(10), JPEG, MediaBehaviour::Ok);
    let app_token = format!("{DEFAULT_APP_ID}|{DEFAULT_APP_SECRET}");
    let mint_url = format!("{}/{V}/61550000000001/access_tokens", fake.base_url());
    let form = mint_form(
        DEFAULT_TOKEN,
        Some(&appsecret_proof(DEFAULT_APP_SECRET, DEFAULT_TOKEN)),
    );

    fake.flaw_next_token(TokenFlaw::Invalid);
    let invalid = post_form(&mint_url, &form).await;
    assert_eq!(
        invalid.status, 200,
        "the flaw shows later, as in testSecret"
    );
    let invalid = invalid.json["access_token"].as_str().unwrap().to_string();
    let report = get_json(&debug_url(&fake, &invalid, &app_token), None).await;
    assert_eq!(report.json["data"]["is_valid"], false);
    assert_eq!(media_info(&fake, "1", &invalid).await.status, 401);

    fake.flaw_next_token(TokenFlaw::MissingScopes);
    let narrow = post_form(&mint_url, &form).await;
    let narrow = narrow.json["access_token"].as_str().unwrap().to_string();
    let report = get_json(&debug_url(&fake, &narrow, &app_token), None).await;
    assert_eq!(report.json["data"]["is_valid"], true);
    assert_eq!(
        report.json["data"]["scopes"],
        json!(["whatsapp_business_management"])
    );

    // One-shot failures, for mint and exchange alike.
    fake.fail_next_token_call(500, 2);
    let failed = post_form(&mint_url, &form).await;
    assert_eq!((failed.status, error_code(&failed)), (500, 2));
    let healthy = post_form(&mint_url, &form).await;
    assert_eq!(healthy.status, 200);
    let report = get_json(
        &debug_url(
            &fake,
            healthy.json["access_token"].as_str().unwrap(),
            &app_token,
        ),
        None,
    )
    .await;
    assert_eq!(report.json["data"]["is_valid"], true);
    assert_eq!(report.json["data"]["scopes"].as_array().unwrap().len(), 2);

    fake.fail_next_token_call(400, 4);
    let exchange = exchange_url(&fake, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_TOKEN);
    let failed = get_json(&exchange, None).await;
    assert_eq!((failed.status, error_code(&failed)), (400, 4));
    assert_eq!(get_json(&exchange, None).await.status, 200);
    Ok(())
}

#[tokio::test]
async fn dropping_the_fake_stops_the_server() -> TestResult {
    let fake = FakeGraph::start()?;
    let base = fake.base_url();
    assert_eq!(
        get_json(
            &format!("{base}/{V}/{DEFAULT_PHONE_NUMBER_ID}"),
            Some(DEFAULT_TOKEN)
        )
        .await
        .status,
        200
    );
    drop(fake);
    let addr = base.trim_start_matches("http://");
    assert!(std::net::TcpStream::connect(addr).is_err());
    Ok(())
}
