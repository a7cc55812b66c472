//! The IAM gateway: a loopback proxy between the wavault processes and moto that evaluates every AWS request
//! against the caller's template policy (iam-rs), records what it found, and answers a denied request as AWS
//! would (enforcing mode, the default), so the tests exercise the code under the permissions it ships with.
//!
//! moto enforces no IAM and answers 404 for a missing key whatever the policy; this gateway adds what AWS does:
//! - a call no grant allows (or a resource policy denies) gets AWS's access-denied answer and never reaches moto;
//! - the KMS calls services make on the caller's behalf (SSE-KMS objects, encrypted queues and secrets) are
//!   checked too, with `kms:ViaService` and the encryption context AWS sends;
//! - an S3 GET/HEAD of a missing key answers 403 AccessDenied unless the caller has `s3:ListBucket`.
//!
//! Callers are told apart by their access key id ([`Principal::access_key_id`]), which the local stack gives
//! each process it spawns. Requests signed with any other key (the tests' own inspection clients) are forwarded
//! unchecked and not recorded.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::iam::policies::{iam_request, resource_policy_denies, StackPolicies};
use crate::iam::principal::Principal;
use crate::iam::requests::{
    classify, list_bucket_check, Check, Classified, HttpRequest, StackResources,
};
use crate::serve::LoopbackServer;
use crate::{target_dir, Error, Result};

/// Environment variable: `record` evaluates and records but forwards denied calls (to list every missing
/// permission in one run); anything else (or unset) enforces.
pub const IAM_MODE_ENV: &str = "WAVAULT_IAM_MODE";

/// Where every gateway of every test process appends its records (`calls-<pid>.jsonl`).
pub fn records_dir() -> PathBuf {
    target_dir().join("iam")
}

/// The outcome of one check, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckRecord {
    pub action: String,
    pub resource: String,
    pub why: String,
    pub allowed: bool,
    /// Ids of the atomic grants that allow it ([`crate::iam::policies::AtomicGrant::id`]).
    pub grants: Vec<String>,
    /// The resource policy whose Deny matched, if any.
    pub denied_by: Option<String>,
    /// When denied: the statement to change (or to add), in words.
    pub fix: Option<String>,
}

/// One request, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallRecord {
    pub principal: Principal,
    /// The identity policy's logical id in the template.
    pub policy_source: String,
    pub stack: String,
    pub service: String,
    pub operation: String,
    pub checks: Vec<CheckRecord>,
    /// `forwarded`, `denied`, `missing-key-403`, `unclassified`.
    pub answer: String,
    /// A test that provokes denials on purpose registers its stack so; the check does not count them.
    pub expected_denial: bool,
    /// Why the request could not be mapped (answer `unclassified`).
    pub unclassified: Option<String>,
}

struct RegisteredStack {
    policies: StackPolicies,
    resources: StackResources,
    expect_denials: bool,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    stacks: Mutex<HashMap<String, Arc<RegisteredStack>>>,
    /// Shard iterator -> stream ARN (GetRecords names only the iterator).
    iterators: Mutex<HashMap<String, String>>,
    enforce: bool,
    records: Mutex<Option<std::fs::File>>,
    seen: Mutex<Vec<CallRecord>>,
}

/// A running gateway in front of one upstream (moto, or a proxy in front of it).
pub struct Gateway {
    shared: Arc<Shared>,
    server: LoopbackServer,
}

impl Gateway {
    /// The process-wide gateway in front of `upstream`, started on first use.
    pub fn for_upstream(upstream: &str) -> Result<Arc<Gateway>> {
        static GATEWAYS: OnceLock<Mutex<HashMap<String, Arc<Gateway>>>> = OnceLock::new();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let map = GATEWAYS.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = map
            .lock()
            .map_err(|_| Error::Emulator("IAM gateway registry poisoned".into()))?;
        if let Some(existing) = map.get(&upstream) {
            return Ok(existing.clone());
        }
        let gateway = Arc::new(Gateway::start(&upstream)?);
        map.insert(upstream, gateway.clone());
        Ok(gateway)
    }

    /// Starts a gateway forwarding to `upstream`.
    pub fn start(upstream: &str) -> Result<Gateway> {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Emulator(format!("IAM gateway client: {e}")))?;
        let enforce = std::env::var(IAM_MODE_ENV).map_or(true, |m| m != "record");
        let dir = records_dir();
        std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        // One file per gateway (a test process may run several, one per upstream), each line written whole.
        static GATEWAYS_STARTED: std::sync::atomic::AtomicUsize =
            std::sync::atomic::AtomicUsize::new(0);
        let index = GATEWAYS_STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.join(format!("calls-{}-{index}.jsonl", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(Error::io(format!("opening {}", path.display())))?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            stacks: Mutex::new(HashMap::new()),
            iterators: Mutex::new(HashMap::new()),
            enforce,
            records: Mutex::new(Some(file)),
            seen: Mutex::new(Vec::new()),
        });
        let handler_state = shared.clone();
        let server = LoopbackServer::start("iam gateway", move |req, _peer| {
            handle(handler_state.clone(), req)
        })?;
        Ok(Gateway { shared, server })
    }

    /// The endpoint to give a process as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Registers (or replaces) the policies of the stack named `stack`; `expect_denials` marks a test that
    /// provokes denials on purpose.
    pub fn register(
        &self,
        stack: &str,
        policies: StackPolicies,
        resources: StackResources,
        expect_denials: bool,
    ) -> Result<()> {
        let mut stacks = self
            .shared
            .stacks
            .lock()
            .map_err(|_| Error::Emulator("IAM gateway stacks poisoned".into()))?;
        stacks.insert(
            stack.to_owned(),
            Arc::new(RegisteredStack {
                policies,
                resources,
                expect_denials,
            }),
        );
        Ok(())
    }

    /// Whether `stack` is registered.
    pub fn knows(&self, stack: &str) -> bool {
        self.shared
            .stacks
            .lock()
            .is_ok_and(|stacks| stacks.contains_key(stack))
    }

    /// Every call this gateway recorded for `stack` so far (tests assert on them).
    pub fn calls(&self, stack: &str) -> Vec<CallRecord> {
        self.shared
            .seen
            .lock()
            .map(|seen| seen.iter().filter(|c| c.stack == stack).cloned().collect())
            .unwrap_or_default()
    }
}

use crate::proxy::plain;

/// The access key id in a SigV4 `Authorization` header, and the service of its credential scope.
fn credential(authorization: &str) -> Option<(String, String)> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    let key = parts.next()?.to_owned();
    let _date = parts.next()?;
    let _region = parts.next()?;
    let service = parts.next()?.to_owned();
    Some((key, service))
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = match crate::proxy::collect(req, "iam gateway").await {
        Ok(collected) => collected,
        Err(answer) => return Ok(answer),
    };
    let header_of = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let identity = header_of("authorization")
        .as_deref()
        .and_then(credential)
        .and_then(|(key, service)| {
            Principal::from_access_key_id(&key).map(|(p, stack)| (p, stack, service))
        });
    let Some((principal, stack_name, service)) = identity else {
        return Ok(forward(&shared, &parts, body).await.response);
    };
    let stack = shared
        .stacks
        .lock()
        .ok()
        .and_then(|s| s.get(&stack_name).cloned());
    let Some(stack) = stack else {
        return Ok(plain(
            StatusCode::FORBIDDEN,
            format!("iam gateway: no stack {stack_name} registered (LocalStack::provision registers it)"),
        ));
    };
    let Some(policies) = stack.policies.principals.get(&principal) else {
        return Ok(plain(
            StatusCode::FORBIDDEN,
            format!("iam gateway: no policy for {principal}"),
        ));
    };

    let mut record = CallRecord {
        principal,
        policy_source: policies.source_logical_id.clone(),
        stack: stack_name.clone(),
        service: service.clone(),
        operation: String::new(),
        checks: Vec::new(),
        answer: String::new(),
        expected_denial: stack.expect_denials,
        unclassified: None,
    };
    let classification = {
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let lookup = |name: &str| header_of(name);
        let http = HttpRequest {
            method: parts.method.as_str(),
            path: &path,
            query: &query,
            header: &lookup,
            body: &body,
        };
        let iterators = |iterator: &str| {
            shared
                .iterators
                .lock()
                .ok()
                .and_then(|m| m.get(iterator).cloned())
        };
        classify(&service, &http, &stack.resources, &iterators)
    };
    let classified = match classification {
        Ok(c) => c,
        Err(e) => {
            record.operation =
                header_of("x-amz-target").unwrap_or_else(|| parts.method.to_string());
            record.answer = "unclassified".into();
            record.unclassified = Some(e.0.clone());
            save(&shared, record);
            return Ok(denial(
                &service,
                parts.method.as_str(),
                &format!("the IAM gateway cannot map this request to IAM actions ({e}); extend tests/src/iam/requests.rs"),
            ));
        }
    };
    record.operation = classified.operation.clone();
    record.checks = classified
        .checks
        .iter()
        .map(|check| evaluate(&stack, principal, check))
        .collect();
    if let Some(first) = record.checks.iter().find(|c| !c.allowed).cloned() {
        record.answer = "denied".into();
        save(&shared, record.clone());
        if shared.enforce {
            return Ok(denial(
                &service,
                parts.method.as_str(),
                &denial_message(principal, &first),
            ));
        }
    }
    let forwarded = forward(&shared, &parts, body).await;
    let (response, status) = (forwarded.response, forwarded.status);
    remember_iterators(&shared, &classified, &forwarded.body);
    if let (Some(bucket), 404) = (&classified.missing_key_bucket, status) {
        // AWS answers a missing key with 404 only to callers allowed s3:ListBucket on the bucket.
        let mut list = evaluate(
            &stack,
            principal,
            &list_bucket_check(bucket, &classified.operation),
        );
        if !list.allowed {
            list.fix = Some(format!(
                "{} reads a key that may be missing: grant s3:ListBucket on the bucket in {} or do not read keys that may not exist",
                classified.operation, policies.source_logical_id
            ));
        }
        let allowed = list.allowed;
        record.checks.push(list.clone());
        if !allowed {
            record.answer = "missing-key-403".into();
            save(&shared, record);
            if shared.enforce {
                return Ok(denial(
                    "s3",
                    parts.method.as_str(),
                    &denial_message(principal, &list),
                ));
            }
            return Ok(response);
        }
    }
    if record.answer.is_empty() {
        record.answer = "forwarded".into();
        save(&shared, record);
    }
    Ok(response)
}

fn evaluate(stack: &RegisteredStack, principal: Principal, check: &Check) -> CheckRecord {
    evaluate_check(&stack.policies, principal, check)
}

/// Evaluates one check as AWS would for `principal`: allowed when an identity grant allows it and no resource
/// policy denies it; a denial names the statement to change.
pub fn evaluate_check(stack: &StackPolicies, principal: Principal, check: &Check) -> CheckRecord {
    let Some(policies) = stack.principals.get(&principal) else {
        return CheckRecord {
            action: check.action.clone(),
            resource: check.resource.clone(),
            why: check.why.clone(),
            allowed: false,
            grants: Vec::new(),
            denied_by: None,
            fix: Some(format!("no policy for {principal}")),
        };
    };
    let request = match iam_request(
        &policies.arn,
        &check.action,
        &check.resource,
        &check.context,
    ) {
        Ok(r) => r,
        Err(e) => {
            return CheckRecord {
                action: check.action.clone(),
                resource: check.resource.clone(),
                why: check.why.clone(),
                allowed: false,
                grants: Vec::new(),
                denied_by: None,
                fix: Some(e.to_string()),
            }
        }
    };
    let grants: Vec<String> = policies
        .grants
        .iter()
        .filter(|g| g.allows(&request))
        .map(|g| g.id())
        .collect();
    let denied_by = stack
        .resource_policies
        .iter()
        .find(|p| resource_policy_denies(&p.policy, &request))
        .map(|p| p.logical_id.clone());
    let allowed = !grants.is_empty() && denied_by.is_none();
    let fix = if allowed {
        None
    } else if let Some(policy) = &denied_by {
        Some(format!(
            "{policy} (a resource policy) denies it: change the request or that statement"
        ))
    } else {
        Some(suggest_fix(policies, check))
    };
    CheckRecord {
        action: check.action.clone(),
        resource: check.resource.clone(),
        why: check.why.clone(),
        allowed,
        grants,
        denied_by,
        fix,
    }
}

/// Names the statement to change: one granting the action whose resource or condition did not match, else one
/// on the same resource, else a new statement in the policy's source.
fn suggest_fix(policies: &crate::iam::policies::PrincipalPolicies, check: &Check) -> String {
    let action_matches = |pattern: &str| iam_rs::Arn::wildcard_match(&check.action, pattern);
    let resource_matches =
        |pattern: &str| iam_rs::Arn::wildcard_match(&check.resource, pattern) || pattern == "*";
    if let Some(g) = policies
        .grants
        .iter()
        .find(|g| action_matches(&g.action) && resource_matches(&g.resource))
    {
        return format!(
            "statement {} of {} grants {} on {} but its Condition does not hold for this request",
            g.sid, policies.source_logical_id, g.action, g.resource_display
        );
    }
    if let Some(g) = policies.grants.iter().find(|g| action_matches(&g.action)) {
        return format!(
            "statement {} of {} grants {} but not on this resource (it has {}): add the resource there",
            g.sid, policies.source_logical_id, g.action, g.resource_display
        );
    }
    if let Some(g) = policies
        .grants
        .iter()
        .find(|g| resource_matches(&g.resource))
    {
        return format!(
            "add {} to statement {} of {} (it already covers {})",
            check.action, g.sid, policies.source_logical_id, g.resource_display
        );
    }
    format!(
        "add a statement granting {} to {} in infra/template.yaml",
        check.action, policies.source_logical_id
    )
}

fn denial_message(principal: Principal, check: &CheckRecord) -> String {
    let reason = match &check.denied_by {
        Some(_) => "with an explicit deny in a resource-based policy".to_owned(),
        None => format!(
            "because no identity-based policy allows the {} action",
            check.action
        ),
    };
    let resource = if check.resource == crate::iam::requests::NO_RESOURCE_LEVEL {
        format!("* ({} supports no resource-level permission)", check.action)
    } else {
        check.resource.clone()
    };
    format!(
        "User: {} is not authorized to perform: {} on resource: {resource} {reason}",
        principal.arn(),
        check.action,
    )
}

/// AWS's access-denied answer in each service's protocol, so the SDK raises the error code it raises on AWS.
fn denial(service: &str, method: &str, message: &str) -> Response<Full<Bytes>> {
    let (status, content_type, body, extra): (u16, &str, String, Option<(&str, &str)>) =
        match service {
            "s3" => {
                let body = if method == "HEAD" {
                    String::new()
                } else {
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{}</Message><RequestId>IAMGATEWAY</RequestId><HostId>local</HostId></Error>",
                        xml_escape(message)
                    )
                };
                (403, "application/xml", body, None)
            }
            "dynamodb" => (
                400,
                "application/x-amz-json-1.0",
                serde_json::json!({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}).to_string(),
                None,
            ),
            "sqs" => (
                403,
                "application/x-amz-json-1.0",
                serde_json::json!({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}).to_string(),
                Some(("x-amzn-query-error", "AccessDenied;Sender")),
            ),
            _ => (
                400,
                "application/x-amz-json-1.1",
                serde_json::json!({"__type": "AccessDeniedException", "Message": message}).to_string(),
                None,
            ),
        };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    let headers = response.headers_mut();
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        headers.insert(hyper::header::CONTENT_TYPE, v);
    }
    headers.insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("IAMGATEWAY"),
    );
    if let Some((name, value)) = extra {
        if let Ok(v) = hyper::header::HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    response
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn remember_iterators(shared: &Shared, classified: &Classified, body: &Bytes) {
    let operation = classified.operation.as_str();
    if operation != "GetShardIterator" && operation != "GetRecords" {
        return;
    }
    let Some(stream_arn) = classified.checks.first().map(|c| c.resource.clone()) else {
        return;
    };
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let next = answer
        .get("ShardIterator")
        .or_else(|| answer.get("NextShardIterator"))
        .and_then(Value::as_str);
    if let (Some(next), Ok(mut map)) = (next, shared.iterators.lock()) {
        map.insert(next.to_owned(), stream_arn);
    }
}

fn save(shared: &Shared, record: CallRecord) {
    if let Ok(mut line) = serde_json::to_string(&record) {
        line.push('\n');
        if let Ok(mut file) = shared.records.lock() {
            if let Some(file) = file.as_mut() {
                // One write per record: a line is never split by another writer.
                let _ = file.write_all(line.as_bytes());
            }
        }
    }
    if let Ok(mut seen) = shared.seen.lock() {
        seen.push(record);
    }
}

/// Forwards to the upstream (moto, or a proxy in front of it).
async fn forward(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: Bytes,
) -> crate::proxy::Forwarded {
    crate::proxy::forward(&shared.client, &shared.upstream, parts, body, "iam gateway").await
}
