//! Unit tests of `http` (kept beside the module, with access to its private items).
use super::*;
use base64::Engine;
use wavault_core::testkit::memory::MemoryIngest;
use wavault_core::webhook::signature::signature_header;

/// The response body as text (these responses are all plain text).
fn body(response: &HttpResponse) -> &str {
    match &response.body {
        Some(Body::Text(text)) => text,
        _ => "",
    }
}

const SECRET: &str =
    r#"{"app_id":"1","app_secret":"s3cret","verify_token":"vt","access_token":"t"}"#;

/// An API Gateway HTTP API (2.0) event as AWS sends it.
fn apigw_event(
    method: &str,
    query: serde_json::Value,
    headers: serde_json::Value,
    body: Option<&str>,
    b64: bool,
) -> HttpEvent {
    let mut event = serde_json::json!({
        "version": "2.0", "routeKey": "POST /webhook", "rawPath": "/webhook", "rawQueryString": "",
        "headers": headers, "queryStringParameters": query,
        "requestContext": {"accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": "/webhook", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "facebookexternalua"},
            "requestId": "r1", "routeKey": "POST /webhook", "stage": "$default", "time": "22/Nov/2026:04:00:00 +0000", "timeEpoch": 1},
        "isBase64Encoded": b64
    });
    if let Some(body) = body {
        event["body"] = body.into();
    }
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn get_handshake_returns_the_challenge_as_plain_text() {
    let world = MemoryIngest::new(SECRET);
    let q = serde_json::json!({"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "CHALLENGE_ACCEPTED_123"});
    let response = handle(
        &world.ingest,
        apigw_event("GET", q, serde_json::json!({}), None, false),
    )
    .await;
    assert_eq!(response.status_code, 200);
    assert_eq!(body(&response), "CHALLENGE_ACCEPTED_123");
    assert!(response.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));

    let q = serde_json::json!({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "x"});
    let response = handle(
        &world.ingest,
        apigw_event("GET", q, serde_json::json!({}), None, false),
    )
    .await;
    assert_eq!(response.status_code, 403);
    assert_ne!(body(&response), "x");
}

#[tokio::test]
async fn base64_bodies_are_decoded_before_verification() {
    let world = MemoryIngest::new(SECRET);
    let body = wavault_core::testkit::samples::text_body("wamid.B64", "15550001111", "Olá 😀");
    let sig = signature_header(b"s3cret", &body);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
    let event = apigw_event(
        "POST",
        serde_json::json!({}),
        serde_json::json!({"X-Hub-Signature-256": sig}),
        Some(&encoded),
        true,
    );
    let response = handle(&world.ingest, event).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(world.records.records_len(), 1);
    let stored = world
        .journal
        .objects
        .lock()
        .unwrap()
        .values()
        .next()
        .cloned()
        .unwrap();
    assert_eq!(stored, body, "the journal holds the decoded raw bytes");
}

#[tokio::test]
async fn malformed_base64_is_a_400_not_a_panic() {
    let world = MemoryIngest::new(SECRET);
    let event = apigw_event(
        "POST",
        serde_json::json!({}),
        serde_json::json!({}),
        Some("%%%not base64"),
        true,
    );
    assert_eq!(handle(&world.ingest, event).await.status_code, 400);
    assert!(world.journal.objects.lock().unwrap().is_empty());
}

#[tokio::test]
async fn bad_signatures_are_401_and_other_methods_405() {
    let world = MemoryIngest::new(SECRET);
    let event = apigw_event(
        "POST",
        serde_json::json!({}),
        serde_json::json!({"x-hub-signature-256": "sha256=00"}),
        Some("{}"),
        false,
    );
    let response = handle(&world.ingest, event).await;
    assert_eq!(response.status_code, 401);
    assert!(!body(&response).contains("sha256"), "no internals echoed");
    let response = handle(
        &world.ingest,
        apigw_event(
            "PUT",
            serde_json::json!({}),
            serde_json::json!({}),
            None,
            false,
        ),
    )
    .await;
    assert_eq!(response.status_code, 405);
    assert_eq!(response.headers["allow"], "GET, POST");
}

#[tokio::test]
async fn function_url_events_are_handled_the_same() {
    let world = MemoryIngest::new(SECRET);
    let body = wavault_core::testkit::samples::text_body("wamid.FURL", "15550001111", "hi");
    let event: HttpEvent = serde_json::from_value(serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"x-hub-signature-256": signature_header(b"s3cret", &body), "content-type": "application/json"},
        "requestContext": {"accountId": "anonymous", "apiId": "fnurl", "domainName": "fnurl.lambda-url.us-east-1.on.aws",
            "domainPrefix": "fnurl", "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "x"},
            "requestId": "r2", "routeKey": "$default", "stage": "$default", "time": "22/Nov/2026:04:00:00 +0000", "timeEpoch": 1},
        "body": String::from_utf8(body.clone()).unwrap(), "isBase64Encoded": false
    })).unwrap();
    assert_eq!(handle(&world.ingest, event).await.status_code, 200);
    assert_eq!(world.records.records_len(), 1);
}

#[test]
fn responses_serialise_in_the_payload_2_0_shape() {
    let json = serde_json::to_value(text(200, "ok")).unwrap();
    assert_eq!(json["statusCode"], 200);
    assert_eq!(json["body"], "ok");
    assert_eq!(json["isBase64Encoded"], false);
}

#[tokio::test]
async fn query_values_keep_their_commas() {
    // The event parser splits query values at commas; the handshake sees them as sent.
    let world = MemoryIngest::new(SECRET);
    let q = serde_json::json!({"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "a,b,,c"});
    let response = handle(
        &world.ingest,
        apigw_event("GET", q, serde_json::json!({}), None, false),
    )
    .await;
    assert_eq!(response.status_code, 200);
    assert_eq!(body(&response), "a,b,,c");
}

#[test]
fn responses_carry_their_headers_as_a_plain_map() {
    let json = serde_json::to_value(text(200, "ok")).unwrap();
    assert_eq!(json["headers"]["content-type"], "text/plain; charset=utf-8");
}
