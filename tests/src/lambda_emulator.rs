//! Runs a real function binary the way Lambda does: a minimal Runtime API server on loopback, and the binary
//! started with the Lambda environment pointing at it.
//!
//! This tests what unit tests cannot: the binary's `main` (config from the environment, client construction,
//! `lambda_runtime::run`), its event deserialization and its logs. Only the Runtime API endpoints a runtime
//! client uses are implemented: `invocation/next` (long poll), `invocation/{id}/response`,
//! `invocation/{id}/error` and `init/error`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::process::{Output, Sidecar, Supervisor};
use crate::{Error, Result};

/// Set to `1` to echo every function log line to the test's stderr as it happens.
pub const ECHO_LOGS_ENV: &str = "WAVAULT_ECHO_LAMBDA_LOGS";

const API_PREFIX: &str = "/2018-06-01/runtime/";

/// Settings for the emulated function; the defaults match a small wavault function.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME`; defaults to the binary's file name.
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// The function timeout: sets each invocation's deadline and how long `invoke` waits.
    pub timeout: Duration,
    /// `AWS_REGION` (the caller's env can override it).
    pub region: String,
}

impl Default for LambdaConfig {
    fn default() -> Self {
        LambdaConfig {
            function_name: None,
            memory_mb: 256,
            timeout: Duration::from_secs(60),
            region: crate::aws::REGION.to_string(),
        }
    }
}

/// An error reported by the function through the Runtime API.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    /// `errorType`, e.g. `&lambda_runtime::Error` type name or `Runtime.ExitError`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// The whole error document as posted.
    pub raw: Value,
}

/// The outcome of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The handler returned this response document.
    Ok(Value),
    /// The handler returned an error (`/invocation/{id}/error`).
    FunctionError(FunctionError),
    /// The runtime failed to initialise (`/init/error`); no invocation can succeed.
    InitError(FunctionError),
}

impl Invocation {
    /// The response document, or `None` for an error outcome.
    pub fn ok(self) -> Option<Value> {
        match self {
            Invocation::Ok(v) => Some(v),
            _ => None,
        }
    }
}

/// A function binary running under the emulated Runtime API; dropping it kills the process.
pub struct LambdaProcess {
    state: Arc<EmuState>,
    supervisor: Supervisor,
    logs: Arc<Mutex<Vec<String>>>,
    runtime_api: SocketAddr,
    function_name: String,
    timeout: Duration,
}

struct Pending {
    request_id: String,
    body: Bytes,
    responder: oneshot::Sender<Outcome>,
}

enum Outcome {
    Response(Bytes),
    Error(FunctionError),
}

#[derive(Debug, Clone, Default)]
struct EmuStatus {
    first_poll: Option<Duration>,
    init_error: Option<FunctionError>,
}

struct EmuState {
    queue_tx: mpsc::UnboundedSender<Pending>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    inflight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    status: watch::Sender<EmuStatus>,
    spawned_at: Instant,
    function_arn: String,
    timeout: Duration,
}

impl LambdaProcess {
    /// Starts the emulator and `binary` with the Lambda environment plus `env` (which wins on conflicts).
    ///
    /// The child's environment is otherwise empty (only `PATH`, `HOME`, `RUST_LOG` and `RUST_BACKTRACE` are
    /// passed through), as on Lambda: a developer's AWS profile or credentials must not leak into a function
    /// under test.
    pub fn spawn(binary: &Path, env: &[(String, String)]) -> Result<LambdaProcess> {
        LambdaProcess::spawn_with(binary, env, LambdaConfig::default())
    }

    /// [`LambdaProcess::spawn`] with explicit settings.
    pub fn spawn_with(
        binary: &Path,
        env: &[(String, String)],
        config: LambdaConfig,
    ) -> Result<LambdaProcess> {
        let function_name = config.function_name.clone().unwrap_or_else(|| {
            binary
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "function".to_string())
        });
        let (listener, runtime_api) = crate::serve::bind_loopback("Runtime API")?;

        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let state = Arc::new(EmuState {
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            inflight: Mutex::new(HashMap::new()),
            status: watch::Sender::new(EmuStatus::default()),
            spawned_at: Instant::now(),
            function_arn: format!(
                "arn:aws:lambda:{}:123456789012:function:{function_name}",
                config.region
            ),
            timeout: config.timeout,
        });

        let mut cmd = std::process::Command::new(binary);
        cmd.env_clear();
        for key in ["PATH", "HOME", "RUST_LOG", "RUST_BACKTRACE"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        let log_stream = format!("local/[$LATEST]{}", hex_id(16));
        cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &function_name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                config.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream)
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            )
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_REGION", &config.region)
            .env("AWS_DEFAULT_REGION", &config.region);
        for (k, v) in env {
            cmd.env(k, v);
        }

        let logs = Arc::new(Mutex::new(Vec::new()));
        let echo = std::env::var(ECHO_LOGS_ENV).is_ok_and(|v| v == "1");
        let output = Output::Capture {
            lines: logs.clone(),
            echo_prefix: echo.then(|| function_name.clone()),
        };
        let server_state = state.clone();
        let sidecar: Sidecar = Box::new(move || {
            Box::pin(crate::serve::serve_connections(
                listener,
                "lambda emulator",
                move |req, _peer| handle(server_state.clone(), req),
            ))
        });
        let supervisor = Supervisor::spawn(cmd, output, Some(sidecar), &function_name)?;
        Ok(LambdaProcess {
            state,
            supervisor,
            logs,
            runtime_api,
            function_name,
            timeout: config.timeout,
        })
    }

    /// Invokes the function with `event` and waits (up to the configured timeout) for its outcome.
    ///
    /// Invocations are queued and served one at a time, as by one Lambda execution environment; any number may
    /// be made sequentially (or concurrently, then they queue) on one process.
    pub async fn invoke(&self, event: Value) -> Result<Invocation> {
        self.invoke_with_timeout(event, self.timeout).await
    }

    /// [`LambdaProcess::invoke`] with an explicit timeout.
    pub async fn invoke_with_timeout(&self, event: Value, timeout: Duration) -> Result<Invocation> {
        let mut status = self.state.status.subscribe();
        let mut exit = self.supervisor.exit_receiver();
        if let Some(e) = status.borrow().init_error.clone() {
            return Ok(Invocation::InitError(e));
        }
        if let Some(exited) = self.supervisor.exit_status() {
            return Err(self.exited(exited));
        }
        let body = serde_json::to_vec(&event)
            .map_err(|e| Error::Emulator(format!("event is not serializable: {e}")))?;
        let request_id = request_id();
        let (responder, mut outcome) = oneshot::channel();
        self.state
            .queue_tx
            .send(Pending {
                request_id: request_id.clone(),
                body: Bytes::from(body),
                responder,
            })
            .map_err(|_| Error::Emulator("the Runtime API server has stopped".to_string()))?;

        let waited = tokio::time::timeout(timeout, async {
            tokio::select! {
                biased;
                outcome = &mut outcome => Waited::Outcome(outcome.ok()),
                _ = status.wait_for(|s| s.init_error.is_some()) => Waited::InitError,
                _ = exit.wait_for(Option::is_some) => Waited::Exited,
            }
        })
        .await;
        let result = match waited {
            Err(_) => Err(Error::InvokeTimeout {
                request_id: request_id.clone(),
                timeout,
            }),
            Ok(Waited::Outcome(Some(outcome))) => self.decode(outcome),
            Ok(Waited::Outcome(None)) => Err(self.exited(
                self.supervisor
                    .exit_status()
                    .unwrap_or_else(|| "the emulator dropped the invocation".to_string()),
            )),
            Ok(Waited::InitError) => match self.state.status.borrow().init_error.clone() {
                Some(e) => Ok(Invocation::InitError(e)),
                None => Err(Error::Emulator("init error vanished".to_string())),
            },
            Ok(Waited::Exited) => match outcome.try_recv() {
                // The function answered just before exiting.
                Ok(outcome) => self.decode(outcome),
                Err(_) => match self.state.status.borrow().init_error.clone() {
                    Some(e) => Ok(Invocation::InitError(e)),
                    None => Err(self.exited(self.supervisor.exit_status().unwrap_or_default())),
                },
            },
        };
        self.state
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&request_id);
        result
    }

    fn decode(&self, outcome: Outcome) -> Result<Invocation> {
        match outcome {
            Outcome::Response(body) => {
                serde_json::from_slice(&body)
                    .map(Invocation::Ok)
                    .map_err(|e| {
                        Error::BadResponse(format!("{e}: {}", String::from_utf8_lossy(&body)))
                    })
            }
            Outcome::Error(e) => Ok(Invocation::FunctionError(e)),
        }
    }

    fn exited(&self, status: String) -> Error {
        let logs = self.logs();
        Error::LambdaExited {
            status,
            last_logs: logs[logs.len().saturating_sub(30)..].join("\n"),
        }
    }

    /// Every line the function wrote to stdout or stderr so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Time from spawn to the function's first `invocation/next` poll: the local analogue of a cold start
    /// (process start plus the function's init), `None` until it has polled.
    pub fn first_poll_latency(&self) -> Option<Duration> {
        self.state.status.borrow().first_poll
    }

    /// Waits until the function first polls for work, returning [`LambdaProcess::first_poll_latency`].
    pub async fn wait_for_first_poll(&self, timeout: Duration) -> Result<Duration> {
        let mut status = self.state.status.subscribe();
        let mut exit = self.supervisor.exit_receiver();
        let waited = tokio::time::timeout(timeout, async {
            tokio::select! {
                s = status.wait_for(|s| s.first_poll.is_some()) => s.ok().and_then(|s| s.first_poll),
                _ = exit.wait_for(Option::is_some) => None,
            }
        })
        .await;
        match waited {
            Ok(Some(latency)) => Ok(latency),
            Ok(None) => Err(self.exited(self.supervisor.exit_status().unwrap_or_default())),
            Err(_) => Err(Error::Emulator(format!(
                "{} did not poll for work within {timeout:?}",
                self.function_name
            ))),
        }
    }

    /// The init error the function reported, if any.
    pub fn init_error(&self) -> Option<FunctionError> {
        self.state.status.borrow().init_error.clone()
    }

    /// `Some(description)` once the process has exited.
    pub fn exit_status(&self) -> Option<String> {
        self.supervisor.exit_status()
    }

    /// The `AWS_LAMBDA_RUNTIME_API` address given to the function.
    pub fn runtime_api(&self) -> SocketAddr {
        self.runtime_api
    }

    /// The function process's id (peak RSS and CPU time are read from /proc by the benchmarks).
    pub fn pid(&self) -> Option<u32> {
        self.supervisor.pid()
    }

    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub fn function_name(&self) -> &str {
        &self.function_name
    }
}

enum Waited {
    Outcome(Option<Outcome>),
    InitError,
    Exited,
}

async fn handle(
    state: Arc<EmuState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let Some(route) = path.strip_prefix(API_PREFIX) else {
        return Ok(reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#));
    };
    let method = req.method().clone();
    let parts: Vec<&str> = route.split('/').collect();
    let response = match (method, parts.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(&state).await,
        (Method::POST, ["invocation", id, "response"]) => {
            let body = read_body(req).await;
            complete(&state, id, Outcome::Response(body))
        }
        (Method::POST, ["invocation", id, "error"]) => {
            let error = function_error(&req_error_type(&req), &read_body(req).await);
            complete(&state, id, Outcome::Error(error))
        }
        (Method::POST, ["init", "error"]) => {
            let error = function_error(&req_error_type(&req), &read_body(req).await);
            state.status.send_modify(|s| s.init_error = Some(error));
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#),
    };
    Ok(response)
}

/// The long poll: blocks until an invocation is queued, skipping ones whose caller gave up.
async fn next(state: &EmuState) -> Response<Full<Bytes>> {
    let elapsed = state.spawned_at.elapsed();
    state.status.send_if_modified(|s| {
        if s.first_poll.is_none() {
            s.first_poll = Some(elapsed);
            true
        } else {
            false
        }
    });
    let pending = {
        let mut queue = state.queue_rx.lock().await;
        loop {
            match queue.recv().await {
                Some(p) if p.responder.is_closed() => continue,
                Some(p) => break p,
                None => {
                    return reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        r#"{"errorType":"Shutdown"}"#,
                    )
                }
            }
        }
    };
    let deadline = SystemTime::now() + state.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    state
        .inflight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(pending.request_id.clone(), pending.responder);
    let built = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("Lambda-Runtime-Aws-Request-Id", &pending.request_id)
        .header("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string())
        .header("Lambda-Runtime-Invoked-Function-Arn", &state.function_arn)
        .header("Lambda-Runtime-Trace-Id", trace_id())
        .body(Full::new(pending.body));
    built.unwrap_or_else(|e| {
        reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(r#"{{"errorType":"Emulator","errorMessage":"{e}"}}"#),
        )
    })
}

fn complete(state: &EmuState, id: &str, outcome: Outcome) -> Response<Full<Bytes>> {
    let responder = state
        .inflight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(id);
    match responder {
        Some(tx) => {
            // The caller may have timed out meanwhile; the function still gets its 202, as on Lambda.
            let _ = tx.send(outcome);
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        None => reply(
            StatusCode::BAD_REQUEST,
            r#"{"errorType":"InvalidRequestID","errorMessage":"unknown or already answered request id"}"#,
        ),
    }
}

fn req_error_type(req: &Request<Incoming>) -> String {
    req.headers()
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn function_error(header_type: &str, body: &[u8]) -> FunctionError {
    let raw: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let field = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
    FunctionError {
        error_type: field("errorType").unwrap_or_else(|| header_type.to_string()),
        error_message: field("errorMessage").unwrap_or_default(),
        raw,
    }
}

async fn read_body(req: Request<Incoming>) -> Bytes {
    match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
}

/// A unique id in UUID layout (uniqueness only matters within this process).
pub(crate) fn request_id() -> String {
    let h = hex_id(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `len` hex digits from the clock, a counter and the process id: unique, not secret.
pub(crate) fn hex_id(len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut s = format!(
        "{:016x}{:08x}{:08x}{:016x}",
        nanos as u64,
        std::process::id(),
        n as u32,
        (nanos as u64).rotate_left(17) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
    s.truncate(len);
    s
}

fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        hex_id(24),
        hex_id(16)
    )
}
