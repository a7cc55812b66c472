//! The HTTP edge (`webhook::http`): an arbitrary JSON-ish document as the API Gateway HTTP API (payload 2.0) /
//! Function URL event, handled by the real handler over the in-memory ports.
//!
//! Checks that no event panics, that the answer is always one of the edge's plain-text responses, that a
//! malformed base64 body is a 400, that nothing unsigned is stored, that a handshake echoes the challenge only to
//! the right token; then signs the event's decoded body as Meta would and checks that it is accepted (200), that
//! the journal holds exactly those bytes, and that a redelivery creates nothing more.
#![no_main]

use aws_lambda_events::encodings::Body;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wavault_core::testkit::memory::MemoryIngest;
use wavault_core::webhook::signature::{signature_header, SIGNATURE_HEADER};
use webhook::http::{handle, HttpEvent, HttpResponse};

const APP_SECRET: &str = "s3cret";
const VERIFY_TOKEN: &str = "vt";
const META_SECRET: &str =
    r#"{"app_id":"1","app_secret":"s3cret","verify_token":"vt","access_token":"t"}"#;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
}

fn text(response: &HttpResponse) -> &str {
    match &response.body {
        Some(Body::Text(text)) => text,
        other => panic!("not a text body: {other:?}"),
    }
}

fn stored(world: &MemoryIngest) -> (usize, usize) {
    (
        world.journal.objects.lock().expect("journal").len(),
        world.records.len(),
    )
}

fn query(event: &HttpEvent, name: &str) -> Option<String> {
    event
        .query_string_parameters
        .all(name)
        .map(|values| values.join(","))
}

fuzz_target!(|data: &[u8]| {
    // What the runtime cannot decode never reaches the handler (it answers the invocation with an error).
    let Ok(event) = serde_json::from_slice::<HttpEvent>(data) else {
        return;
    };
    let rt = runtime();
    let world = MemoryIngest::new(META_SECRET);
    let response = rt.block_on(handle(&world.ingest, event.clone()));
    let body = text(&response).to_owned();
    assert!(response.headers["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/plain")));

    let method = event
        .request_context
        .http
        .method
        .as_str()
        .to_ascii_uppercase();
    let decoded = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(event.body.as_deref().unwrap_or(""))
            .ok()
    } else {
        Some(event.body.as_deref().unwrap_or("").as_bytes().to_vec())
    };
    match method.as_str() {
        "POST" => match &decoded {
            None => {
                assert_eq!(response.status_code, 400, "a malformed body is a 400");
                assert_eq!(stored(&world), (0, 0));
            }
            Some(decoded) => match response.status_code {
                200 => {
                    // Only a body signed with the app secret gets here.
                    let objects = world.journal.objects.lock().expect("journal");
                    assert_eq!(objects.len(), 1);
                    assert!(objects.values().all(|o| o == decoded));
                }
                401 => {
                    assert_eq!(body, "invalid signature");
                    assert_eq!(stored(&world), (0, 0), "nothing unsigned is stored");
                }
                status => panic!("POST answered {status}"),
            },
        },
        "GET" => {
            assert_eq!(stored(&world), (0, 0));
            let accepted = query(&event, "hub.mode").as_deref() == Some("subscribe")
                && query(&event, "hub.verify_token").as_deref() == Some(VERIFY_TOKEN);
            match (response.status_code, query(&event, "hub.challenge")) {
                (200, Some(challenge)) if accepted => assert_eq!(body, challenge),
                (403, challenge) if !accepted || challenge.is_none() => {
                    assert_eq!(body, "forbidden")
                }
                (status, _) => panic!("GET answered {status} (accepted: {accepted})"),
            }
        }
        _ => {
            assert_eq!(response.status_code, 405);
            assert!(response.headers.contains_key("allow"));
            assert_eq!(stored(&world), (0, 0));
        }
    }

    // The same event signed as Meta signs: accepted, journaled byte for byte, and idempotent on redelivery.
    let (Some(decoded), "POST") = (decoded, method.as_str()) else {
        return;
    };
    let mut signed = event;
    let header = signature_header(APP_SECRET.as_bytes(), &decoded);
    signed.headers.insert(
        SIGNATURE_HEADER,
        header.parse().expect("a signature is a valid header value"),
    );
    let world = MemoryIngest::new(META_SECRET);
    let first = rt.block_on(handle(&world.ingest, signed.clone()));
    assert_eq!(first.status_code, 200, "a signed delivery is accepted");
    assert_eq!(text(&first), "ok");
    let after_first = stored(&world);
    assert_eq!(after_first.0, 1);
    assert!(
        after_first.1 >= 1,
        "every accepted body leaves at least one item"
    );
    assert!(world
        .journal
        .objects
        .lock()
        .expect("journal")
        .values()
        .all(|o| *o == decoded));
    let again = rt.block_on(handle(&world.ingest, signed));
    assert_eq!(again.status_code, 200);
    assert_eq!(stored(&world), after_first, "a redelivery creates nothing");
});
