//! Serving a hyper service on a free loopback port: shared by the Runtime API emulator, the HTTP front door and
//! the fake Graph API so that each only writes its request handler.

use std::future::Future;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use crate::{Error, Result};

/// Binds `127.0.0.1:0` (non-blocking, ready for tokio); `what` names the server in error messages.
///
/// Binding here rather than probing for a free port first leaves no window for another process to take it.
pub(crate) fn bind_loopback(what: &str) -> Result<(std::net::TcpListener, SocketAddr)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(Error::io(format!("binding the {what} listener")))?;
    listener
        .set_nonblocking(true)
        .map_err(Error::io(format!("configuring the {what} listener")))?;
    let addr = listener
        .local_addr()
        .map_err(Error::io(format!("reading the {what} address")))?;
    Ok((listener, addr))
}

/// Accepts connections on `listener` forever, serving each with HTTP/1 and `handler(request, peer)`.
///
/// Must run inside a tokio runtime; connections are spawned tasks of that runtime, so they end with it.
/// `label` prefixes the (rare) diagnostics on stderr.
pub(crate) async fn serve_connections<H, F, B, E>(
    listener: std::net::TcpListener,
    label: &'static str,
    handler: H,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + 'static,
    F: Future<Output = Result<Response<B>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{label}: cannot use the listener: {e}");
            return;
        }
    };
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("{label}: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handler(req, peer));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A server on `127.0.0.1:<free port>` running on its own thread and current-thread runtime, so it outlives any
/// one `#[tokio::test]` runtime; dropping it stops the server and cuts its open connections.
pub(crate) struct LoopbackServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Binds and starts serving; `what` names the server in errors, on stderr and in the thread name.
    ///
    /// A handler that answers `Err` gives up the connection without an answer (hyper closes it), which is how the
    /// fault proxy loses an answer; every other server answers `Infallible`.
    pub(crate) fn start<H, F, B, E>(what: &'static str, handler: H) -> Result<LoopbackServer>
    where
        H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + 'static,
        F: Future<Output = Result<Response<B>, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (listener, addr) = bind_loopback(what)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::io(format!("building the {what} runtime")))?;
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(what.replace(' ', "-"))
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        _ = serve_connections(listener, what, handler) => {}
                        _ = shutdown_rx => {}
                    }
                });
            })
            .map_err(Error::io(format!("starting the {what} thread")))?;
        Ok(LoopbackServer {
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// The listening address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
