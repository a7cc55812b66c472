//! A private moto server (AWS emulator) per test process, on a free loopback port.
//!
//! The project installs its own moto into `.venv` (scripts/bootstrap.sh) rather than relying on a system-wide one,
//! so every machine runs the same emulator version.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::process::{Output, Supervisor};
use crate::{free_loopback_port, target_dir, workspace_root, Error, Result};

/// Environment variable that overrides where `moto_server` is found.
pub const MOTO_SERVER_ENV: &str = "WAVAULT_MOTO_SERVER";

const READY_DEADLINE: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const START_ATTEMPTS: u32 = 3;

/// A running `moto_server`; dropping it kills the server.
pub struct MotoServer {
    port: u16,
    log_path: PathBuf,
    startup: Duration,
    _supervisor: Supervisor,
}

impl MotoServer {
    /// Starts moto on a free loopback port and waits until it answers `GET /moto-api/`.
    ///
    /// Blocking (about a second): it is meant to run once per test binary, see [`MotoServer::shared`]. A start
    /// that fails (typically the port being taken between probe and bind) is retried on a new port.
    pub fn start() -> Result<MotoServer> {
        let binary = moto_server_path()?;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&binary) {
                Ok(server) => return Ok(server),
                Err(e) => failures.push(e.to_string()),
            }
        }
        Err(Error::MotoStart(failures.join("; then: ")))
    }

    /// One moto for the whole test process, started on first use.
    ///
    /// Tests isolate themselves with per-test resource names (see `LocalStack::provision`) instead of one server
    /// each: moto takes about a second to start and tens of MB of memory. The server is killed with the
    /// process (statics are never dropped; `PR_SET_PDEATHSIG` does it).
    pub fn shared() -> Result<&'static MotoServer> {
        static SHARED: OnceLock<std::result::Result<MotoServer, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| MotoServer::start().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::MotoStart(e.clone()))
    }

    fn start_once(binary: &Path) -> Result<MotoServer> {
        let started = Instant::now();
        let port = free_loopback_port()?;
        let log_path = target_dir().join("moto").join(format!("moto-{port}.log"));
        let mut cmd = std::process::Command::new(binary);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let supervisor = Supervisor::spawn(cmd, Output::File(log_path.clone()), None, "moto")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = started + READY_DEADLINE;
        loop {
            if probe(addr) {
                return Ok(MotoServer {
                    port,
                    log_path,
                    startup: started.elapsed(),
                    _supervisor: supervisor,
                });
            }
            if let Some(status) = supervisor.exit_status() {
                return Err(Error::MotoStart(format!(
                    "moto_server on port {port} exited ({status}); log {}:\n{}",
                    log_path.display(),
                    log_tail(&log_path)
                )));
            }
            if Instant::now() >= deadline {
                return Err(Error::MotoStart(format!(
                    "moto_server on port {port} not ready after {READY_DEADLINE:?}; log {}:\n{}",
                    log_path.display(),
                    log_tail(&log_path)
                )));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Base URL for SDK clients and `AWS_ENDPOINT_URL`, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How long `start` took from spawn to the first successful readiness probe.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// moto's own log (its stdout and stderr), under the target directory.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Wipes every emulated resource (`POST /moto-api/reset`), for suites that prefer a clean slate to
    /// per-test names.
    pub fn reset(&self) -> Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let status = http_status(addr, "POST", "/moto-api/reset")
            .map_err(Error::io("POST /moto-api/reset"))?;
        if status == 200 {
            Ok(())
        } else {
            Err(Error::MotoStart(format!(
                "POST /moto-api/reset answered {status}"
            )))
        }
    }
}

/// Where `moto_server` is: `$WAVAULT_MOTO_SERVER`, else `<workspace>/.venv/bin/moto_server`.
pub fn moto_server_path() -> Result<PathBuf> {
    let path = match std::env::var_os(MOTO_SERVER_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root()
            .join(".venv")
            .join("bin")
            .join("moto_server"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::MotoMissing(path))
    }
}

fn probe(addr: SocketAddr) -> bool {
    matches!(http_status(addr, "GET", "/moto-api/"), Ok(200))
}

/// A minimal HTTP/1.1 exchange returning the status code; enough for readiness and reset, and keeps this
/// module synchronous so `start` works from any thread or runtime.
fn http_status(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 32];
    let mut filled = 0;
    while filled < 12 {
        let n = stream.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let line = String::from_utf8_lossy(&head[..filled]);
    line.split(' ')
        .nth(1)
        .and_then(|code| code.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {line:?}")))
}

fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        }
        Err(e) => format!("(log unreadable: {e})"),
    }
}
