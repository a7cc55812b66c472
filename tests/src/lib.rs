//! wavault's local stack: everything an integration test (or the demo) needs to run the real function binaries
//! against emulated AWS on this machine, with no Docker and no network beyond loopback.
//!
//! - [`moto::MotoServer`]: a private moto server on a free loopback port, killed with the test process.
//! - [`aws`]: SDK configuration pointed at that server.
//! - [`local_stack::LocalStack`]: the table, bucket, queues and secrets, provisioned from `infra/template.yaml`
//!   so the tests exercise the schema that ships, not a copy of it.
//! - [`lambda_emulator::LambdaProcess`]: a real function binary driven through a minimal Lambda Runtime API.
//! - [`http_front::HttpFrontDoor`]: an HTTP listener that turns requests into API Gateway HTTP API events.
//! - [`fake_graph::FakeGraph`]: Meta's Graph API (media and token endpoints) with switchable faults.
//! - [`slow_upstream::SlowUpstream`]: a proxy that holds back one AWS service's requests (timeout tests).
//! - [`faults::FaultyUpstream`]: a proxy that makes AWS calls fail as AWS does (throttling, 5xx, lost answers).

use std::path::PathBuf;
use std::time::Duration;

pub mod aws;
pub mod event_source;
pub mod fake_graph;
pub mod faults;
pub mod http_front;
pub mod iam;
pub mod lambda_emulator;
pub mod local_stack;
pub mod media_stack;
pub mod meta_ids;
pub mod moto;
pub mod privacy;
mod process;
mod proxy;
pub mod realistic;
pub mod rotation_stack;
mod serve;
pub mod slow_upstream;
pub mod template;
pub mod traffic;
pub mod webhook_stack;

/// Everything that can go wrong while standing up or driving the local stack.
///
/// Variants carry enough context to act on (which file, which variable, which call) because a test failure here
/// is usually an environment problem, not a product bug.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The moto launcher is not installed where we looked.
    #[error("moto_server not found at {0}: run scripts/bootstrap.sh (or set WAVAULT_MOTO_SERVER to its path)")]
    MotoMissing(PathBuf),
    /// moto was started but never answered its readiness probe.
    #[error("moto_server did not start: {0}")]
    MotoStart(String),
    /// An operating-system call failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The CloudFormation template could not be read or lacks what the local stack needs.
    #[error("template {origin}: {message}")]
    Template { origin: String, message: String },
    /// An AWS call against the emulator failed (full error context included).
    #[error("{operation}: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
    /// A resource-name suffix that would not make valid bucket/queue/table names.
    #[error("invalid name suffix {0:?}: use 1-30 characters of [a-z0-9-]")]
    InvalidSuffix(String),
    /// The function process exited while an invocation was pending (or before one could be queued).
    #[error("lambda function process exited ({status}); last log lines:\n{last_logs}")]
    LambdaExited { status: String, last_logs: String },
    /// The function did not answer within the invocation timeout.
    #[error("lambda invocation {request_id} timed out after {timeout:?}")]
    InvokeTimeout {
        request_id: String,
        timeout: Duration,
    },
    /// The function answered with a body that is not JSON.
    #[error("lambda response is not JSON: {0}")]
    BadResponse(String),
    /// The emulator or the front door failed internally.
    #[error("{0}")]
    Emulator(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}

/// The workspace root (the directory holding the root `Cargo.toml`, `infra/` and `.venv/`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The cargo target directory, where logs go: never inside a crate folder (it would retrigger `cargo lambda watch`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Binds 127.0.0.1:0 to learn a free port, then releases it for the caller's child process.
///
/// There is a window in which another process may take the port; callers retry on a start failure.
pub(crate) fn free_loopback_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(Error::io("binding 127.0.0.1:0 to find a free port"))?;
    let port = listener
        .local_addr()
        .map_err(Error::io("reading the bound port"))?
        .port();
    Ok(port)
}
