//! [`FaultyUpstream`]: a loopback proxy between the wavault processes and the IAM gateway that makes AWS fail the
//! way AWS does, at a set rate on every service, so the tests see what the code does when a call fails.
//!
//! moto answers every request at once and correctly; AWS does not. Three faults, each in the shape the service
//! really answers (so the SDK classifies and retries it as it would on AWS):
//! - **throttling**: DynamoDB/Secrets Manager/SQS `ThrottlingException` (HTTP 400), S3 `SlowDown` (HTTP 503);
//!   nothing reaches moto.
//! - **server error**: HTTP 500 `InternalServerError`/`InternalFailure`/`InternalError`; nothing reaches moto.
//! - **lost answer**: the request reaches moto and takes effect, then the connection is cut before the answer
//!   (a timeout or reset on the way back). The caller cannot tell it from a failure and retries: a conditional
//!   write then meets its own first attempt, which the code must take as success.
//!
//! Which request gets which fault comes from a seeded hash of the service and the request's number on that
//! service ([`FaultPlan::seed`]), so a failing run names its seed. The rate can change while a test runs ([`FaultyUpstream::set_plan`]), e.g. to
//! take one service down for a while. The proxy also keeps a ledger of the media jobs SQS accepted (a
//! `SendMessage`/`SendMessageBatch` moto answered 200, whether or not the answer reached the caller), so a test
//! can check at the moment of a webhook's 200 that its jobs were durable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;

use crate::proxy::{collect, forward, plain, signed_service};
use crate::serve::LoopbackServer;
use crate::{Error, Result};

/// The AWS services a fault can hit (the SigV4 credential scope's service).
pub const SERVICES: [&str; 4] = ["dynamodb", "s3", "sqs", "secretsmanager"];

/// What fails, and how often.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Share of requests (0.0..=1.0) answered with a fault, per service; a service not named gets none.
    pub rate: HashMap<&'static str, f64>,
    /// Seeds which request gets which fault.
    pub seed: u64,
    /// Services that are down: every request is answered 500 and none reaches moto.
    pub down: Vec<&'static str>,
}

impl FaultPlan {
    /// `rate` on every service, split evenly between the three faults.
    pub fn everywhere(rate: f64, seed: u64) -> FaultPlan {
        FaultPlan {
            rate: SERVICES.iter().map(|s| (*s, rate)).collect(),
            seed,
            down: Vec::new(),
        }
    }

    /// No faults.
    pub fn none() -> FaultPlan {
        FaultPlan {
            rate: HashMap::new(),
            seed: 0,
            down: Vec::new(),
        }
    }

    /// This plan with `service` down (an outage: 500s, nothing applied).
    pub fn with_outage(mut self, service: &'static str) -> FaultPlan {
        self.down.push(service);
        self
    }

    /// This plan with `service` failing at `rate` instead.
    pub fn with(mut self, service: &'static str, rate: f64) -> FaultPlan {
        self.rate.insert(service, rate);
        self
    }
}

/// The three faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    Throttled,
    ServerError,
    /// Forwarded and applied, then the connection cut before the answer.
    AnswerLost,
}

/// Counts of what the proxy did, per service.
#[derive(Debug, Default, Clone)]
pub struct FaultCounts {
    pub requests: HashMap<String, u64>,
    pub faults: HashMap<(String, Fault), u64>,
    /// The operations whose answer was lost after they took effect (S3 by method and query, the JSON protocols
    /// by `X-Amz-Target`), e.g. `CreateMultipartUpload`: an upload the caller never learnt the id of.
    pub lost_answers: Vec<String>,
}

impl FaultCounts {
    /// Faults of every kind on every service.
    pub fn total_faults(&self) -> u64 {
        self.faults.values().sum()
    }

    /// Requests on every service.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Faults of one kind, every service.
    pub fn of(&self, fault: Fault) -> u64 {
        self.faults
            .iter()
            .filter(|((_, f), _)| *f == fault)
            .map(|(_, n)| n)
            .sum()
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    plan: Mutex<FaultPlan>,
    /// Requests seen per service: each service's faults follow from the seed alone, whatever the interleaving.
    sequence: Mutex<HashMap<String, u64>>,
    counts: Mutex<FaultCounts>,
    /// Bodies of the SQS messages moto accepted, in order.
    accepted_messages: Mutex<Vec<String>>,
}

/// The proxy; dropping it stops the server and cuts its connections.
pub struct FaultyUpstream {
    shared: Arc<Shared>,
    server: LoopbackServer,
}

/// Why the handler gives up a connection without answering (the lost-answer fault).
#[derive(Debug, thiserror::Error)]
#[error("fault injected: the answer is lost")]
struct AnswerLost;

impl FaultyUpstream {
    /// Forwards to `upstream` (the IAM gateway's endpoint, so IAM is still checked) under `plan`.
    pub fn start(upstream: &str, plan: FaultPlan) -> Result<FaultyUpstream> {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Emulator(format!("faulty upstream client: {e}")))?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            plan: Mutex::new(plan),
            sequence: Mutex::new(HashMap::new()),
            counts: Mutex::new(FaultCounts::default()),
            accepted_messages: Mutex::new(Vec::new()),
        });
        let state = shared.clone();
        let server = LoopbackServer::start("faulty upstream", move |req, _peer| {
            handle(state.clone(), req)
        })?;
        Ok(FaultyUpstream { shared, server })
    }

    /// The endpoint to give a process as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Replaces the plan; requests already decided keep their fault.
    pub fn set_plan(&self, plan: FaultPlan) {
        if let Ok(mut current) = self.shared.plan.lock() {
            *current = plan;
        }
    }

    /// What the proxy did so far.
    pub fn counts(&self) -> FaultCounts {
        self.shared
            .counts
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// The bodies of every SQS message moto accepted so far (lost answers included).
    pub fn accepted_messages(&self) -> Vec<String> {
        self.shared
            .accepted_messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }
}

/// splitmix64: a well-mixed 64-bit hash, enough to spread faults over requests.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn decide(shared: &Shared, service: &str) -> Option<Fault> {
    let plan = shared.plan.lock().ok()?.clone();
    if plan.down.contains(&service) {
        return Some(Fault::ServerError);
    }
    let rate = plan.rate.get(service).copied().unwrap_or(0.0);
    if rate <= 0.0 {
        return None;
    }
    let n = {
        let mut sequence = shared.sequence.lock().ok()?;
        let next = sequence.entry(service.to_owned()).or_default();
        *next += 1;
        *next
    };
    let salt = service.bytes().fold(0u64, |h, b| mix(h ^ u64::from(b)));
    let draw = mix(plan.seed ^ mix(n ^ salt));
    // The top 53 bits as a uniform [0, 1), the rest picks the fault.
    let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
    if unit >= rate {
        return None;
    }
    Some(match draw % 3 {
        0 => Fault::Throttled,
        1 => Fault::ServerError,
        _ => Fault::AnswerLost,
    })
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> std::result::Result<Response<Full<Bytes>>, AnswerLost> {
    let service = signed_service(req.headers()).unwrap_or_default();
    let (parts, body) = match collect(req, "faulty upstream").await {
        Ok(collected) => collected,
        Err(answer) => return Ok(answer),
    };
    let fault = decide(&shared, &service);
    if let Ok(mut counts) = shared.counts.lock() {
        *counts.requests.entry(service.clone()).or_default() += 1;
        if let Some(fault) = fault {
            *counts.faults.entry((service.clone(), fault)).or_default() += 1;
        }
    }
    match fault {
        Some(Fault::Throttled) => return Ok(throttled(&service)),
        Some(Fault::ServerError) => return Ok(server_error(&service)),
        _ => {}
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let sent = forward(
        &shared.client,
        &shared.upstream,
        &parts,
        body.clone(),
        "faulty upstream",
    )
    .await;
    if service == "sqs" && sent.status == 200 {
        remember_accepted(&shared, &target, &body, &sent.body);
    }
    if fault == Some(Fault::AnswerLost) {
        let operation = if service == "s3" {
            s3_operation(parts.method.as_str(), parts.uri.query().unwrap_or_default())
        } else {
            target.rsplit('.').next().unwrap_or_default().to_owned()
        };
        if let Ok(mut counts) = shared.counts.lock() {
            counts.lost_answers.push(operation);
        }
        return Err(AnswerLost);
    }
    Ok(sent.response)
}

/// The S3 operations a lost answer can matter for, by method and query (others by method).
fn s3_operation(method: &str, query: &str) -> String {
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    match method {
        "POST" if has("uploads") => "CreateMultipartUpload",
        "POST" if has("uploadId") => "CompleteMultipartUpload",
        "PUT" if has("uploadId") => "UploadPart",
        "DELETE" if has("uploadId") => "AbortMultipartUpload",
        "PUT" => "PutObject",
        "DELETE" => "DeleteObject",
        "POST" if has("delete") => "DeleteObjects",
        other => other,
    }
    .to_owned()
}

/// Notes the bodies of the messages an accepted `SendMessage`/`SendMessageBatch` (JSON protocol) put on a queue.
fn remember_accepted(shared: &Shared, target: &str, request: &[u8], answer: &[u8]) {
    let Ok(request) = serde_json::from_slice::<Value>(request) else {
        return;
    };
    let mut bodies = Vec::new();
    match target {
        "AmazonSQS.SendMessage" => {
            bodies.extend(request["MessageBody"].as_str().map(str::to_owned))
        }
        "AmazonSQS.SendMessageBatch" => {
            let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
            let ok: Vec<&str> = answer["Successful"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["Id"].as_str()).collect())
                .unwrap_or_default();
            for entry in request["Entries"].as_array().into_iter().flatten() {
                if entry["Id"].as_str().is_some_and(|id| ok.contains(&id)) {
                    bodies.extend(entry["MessageBody"].as_str().map(str::to_owned));
                }
            }
        }
        _ => {}
    }
    if let Ok(mut accepted) = shared.accepted_messages.lock() {
        accepted.extend(bodies);
    }
}

fn json_error(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut response = plain(status, body);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let mut response = plain(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
             <RequestId>FAULT0000000000</RequestId><HostId>fault</HostId></Error>"
        ),
    );
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    response
}

/// A throttling answer in the service's own shape.
fn throttled(service: &str) -> Response<Full<Bytes>> {
    match service {
        "s3" => xml_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        "dynamodb" => json_error(
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.into(),
        ),
        "sqs" => {
            let mut response = json_error(
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.0",
                r#"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#.into(),
            );
            response.headers_mut().insert(
                "x-amzn-query-error",
                hyper::header::HeaderValue::from_static("ThrottlingException;Sender"),
            );
            response
        }
        _ => json_error(
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","Message":"Rate exceeded"}"#.into(),
        ),
    }
}

/// A 500 in the service's own shape.
fn server_error(service: &str) -> Response<Full<Bytes>> {
    match service {
        "s3" => xml_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        "dynamodb" => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#.into(),
        ),
        "sqs" => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.sqs#InternalError","message":"We encountered an internal error."}"#.into(),
        ),
        _ => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.1",
            r#"{"__type":"InternalServiceError","Message":"An error occurred on the server side."}"#.into(),
        ),
    }
}
