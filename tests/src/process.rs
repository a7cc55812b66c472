//! Child-process supervision shared by the moto launcher and the Lambda emulator.
//!
//! Each child is spawned from a dedicated thread that lives exactly as long as its [`Supervisor`]: Linux delivers
//! `PR_SET_PDEATHSIG` when the *thread* that forked the child exits, so spawning from a short-lived test thread
//! would kill a server that other tests still share. The thread runs a current-thread tokio runtime, which also
//! hosts any sidecar (the Runtime API server) so it keeps serving whichever runtime the caller uses.

use std::future::Future;
use std::io;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::sync::{oneshot, watch};

use crate::{Error, Result};

/// Where a child's stdout and stderr go.
pub(crate) enum Output {
    /// Written to a (truncated) log file (moto: chatty, only needed when something fails).
    File(PathBuf),
    /// Captured line by line into a shared buffer, optionally echoed to our stderr with a prefix.
    Capture {
        lines: Arc<Mutex<Vec<String>>>,
        echo_prefix: Option<String>,
    },
}

/// A future factory run inside the supervisor's runtime before the child starts.
pub(crate) type Sidecar = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Owns one child process; dropping it kills and reaps the child.
pub(crate) struct Supervisor {
    exit: watch::Receiver<Option<String>>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    pid: Option<u32>,
}

impl Supervisor {
    /// Spawns `cmd` with `PR_SET_PDEATHSIG = SIGKILL`, routing its output as asked.
    pub(crate) fn spawn(
        cmd: std::process::Command,
        output: Output,
        sidecar: Option<Sidecar>,
        name: &str,
    ) -> Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<Option<u32>>>();
        let (exit_tx, exit_rx) = watch::channel(None);
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("supervise-{name}"))
            .spawn(move || supervise(cmd, output, sidecar, ready_tx, exit_tx, shutdown_rx))
            .map_err(Error::io(format!(
                "starting the supervisor thread for {name}"
            )))?;
        let mut supervisor = Supervisor {
            exit: exit_rx,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            pid: None,
        };
        match ready_rx.recv() {
            Ok(Ok(pid)) => {
                supervisor.pid = pid;
                Ok(supervisor)
            }
            Ok(Err(e)) => {
                supervisor.stop();
                Err(Error::Io {
                    context: format!("spawning {name}"),
                    source: e,
                })
            }
            Err(_) => {
                supervisor.stop();
                Err(Error::Emulator(format!(
                    "the supervisor thread for {name} ended before spawning it"
                )))
            }
        }
    }

    /// The child's process id (for resource measurements such as peak RSS).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// `Some(description)` once the child has exited.
    pub(crate) fn exit_status(&self) -> Option<String> {
        self.exit.borrow().clone()
    }

    /// A receiver that changes to `Some` when the child exits (or closes if the supervisor is gone).
    pub(crate) fn exit_receiver(&self) -> watch::Receiver<Option<String>> {
        self.exit.clone()
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The thread may already be gone (child exited and the thread found the sender dropped): fine.
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            // Joining our own thread would deadlock; that only happens if the last owner is dropped inside the
            // supervisor's runtime, in which case the runtime is already shutting down.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

fn supervise(
    cmd: std::process::Command,
    output: Output,
    sidecar: Option<Sidecar>,
    ready: std::sync::mpsc::Sender<io::Result<Option<u32>>>,
    exit: watch::Sender<Option<String>>,
    shutdown: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        if let Some(sidecar) = sidecar {
            tokio::spawn(sidecar());
        }
        let mut cmd = cmd;
        if let Err(e) = route_output(&mut cmd, &output) {
            let _ = ready.send(Err(e));
            return;
        }
        die_with_this_thread(&mut cmd);
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let mut readers = Vec::new();
        if let Output::Capture { lines, echo_prefix } = &output {
            if let Some(out) = child.stdout.take() {
                readers.push(tokio::spawn(capture(
                    out,
                    lines.clone(),
                    echo_prefix.clone(),
                )));
            }
            if let Some(err) = child.stderr.take() {
                readers.push(tokio::spawn(capture(
                    err,
                    lines.clone(),
                    echo_prefix.clone(),
                )));
            }
        }
        let _ = ready.send(Ok(child.id()));

        let mut shutdown = shutdown;
        let mut shutdown_requested = false;
        let status = tokio::select! {
            status = child.wait() => status,
            _ = &mut shutdown => {
                shutdown_requested = true;
                let _ = child.start_kill();
                child.wait().await
            }
        };
        // Drain the pipes so an exit error can show the last lines; bounded because a grandchild could keep
        // the pipe open.
        for reader in readers {
            let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
        }
        exit.send_replace(Some(describe(status)));
        if !shutdown_requested {
            // Keep the sidecar serving (it reports the exit to callers) until the owner lets go.
            let _ = shutdown.await;
        }
    });
}

fn route_output(cmd: &mut std::process::Command, output: &Output) -> io::Result<()> {
    cmd.stdin(Stdio::null());
    match output {
        Output::File(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::File::create(path)?;
            cmd.stdout(file.try_clone()?);
            cmd.stderr(file);
        }
        Output::Capture { .. } => {
            cmd.stdout(Stdio::piped());
            cmd.stderr(Stdio::piped());
        }
    }
    Ok(())
}

/// Makes the kernel SIGKILL the child when the spawning thread (and so the test process) goes away, so a
/// crashed or killed test run leaves no orphan servers holding ports.
fn die_with_this_thread(cmd: &mut std::process::Command) {
    // SAFETY: getpid is async-signal-safe and has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe functions (prctl,
    // getppid) and builds an io::Error from errno, which does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl; then no signal would ever come.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

async fn capture(
    stream: impl AsyncRead + Unpin,
    lines: Arc<Mutex<Vec<String>>>,
    echo_prefix: Option<String>,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\n', '\r'])
                    .to_string();
                if let Some(prefix) = &echo_prefix {
                    eprintln!("[{prefix}] {line}");
                }
                lines
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(line);
            }
        }
    }
}

fn describe(status: io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => s.to_string(),
        },
        Err(e) => format!("could not wait for the process: {e}"),
    }
}
