//! The one error a port returns: what failed, already classified by the adapter.

/// A failure of a backing store or service, already classified by the adapter.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// Throttled or briefly unavailable even after the adapter's own retries.
    #[error("{service} is throttling or unavailable: {detail}")]
    Unavailable {
        service: &'static str,
        detail: String,
    },
    /// Any other failure (permissions, missing resource, bad request).
    #[error("{service} call failed: {detail}")]
    Failed {
        service: &'static str,
        detail: String,
    },
}
