//! The Graph API as the media fetcher needs it: a port, its typed errors, and the classification
//! of Graph error codes into what to do (Meta rate-limits with HTTP 400, not 429; branch on `code`).

/// What to do about a failed Graph call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphErrorKind {
    /// 5xx, timeouts, truncated bodies, codes 1, 2, 131000, 131016, 131057: retry with backoff.
    Transient,
    /// Codes 4, 17, 341, 80007, 130429, 131056 (HTTP 400): retry later with backoff.
    RateLimited,
    /// Code 190 / 0 or HTTP 401: refresh the token once and retry once.
    TokenInvalid,
    /// HTTP 404 on a download URL: the URL expired; ask for a new one.
    UrlExpired,
    /// Code 100 (unknown id), 131052 (cannot be downloaded) and other 4xx: record the failure.
    Permanent,
    /// Codes 3, 10, 200-299: permission problem; record the failure and alarm.
    Permission,
}

/// A failed Graph call: its class, the Graph error code and the HTTP status. Never carries a
/// token, a URL or user data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("graph {kind:?} (http {http_status:?}, code {code:?}): {reason}")]
pub struct GraphError {
    pub kind: GraphErrorKind,
    pub http_status: Option<u16>,
    pub code: Option<i64>,
    /// A short reason of our own words (not Meta's message, which can echo ids).
    pub reason: &'static str,
}

impl GraphError {
    pub fn transient(reason: &'static str) -> Self {
        Self {
            kind: GraphErrorKind::Transient,
            http_status: None,
            code: None,
            reason,
        }
    }

    /// `"<code or http status>: <reason>"`, the short form stored as `media_error`.
    pub fn short(&self) -> String {
        match (self.code, self.http_status) {
            (Some(code), _) => format!("{code}: {}", self.reason),
            (None, Some(status)) => format!("http {status}: {}", self.reason),
            (None, None) => self.reason.to_owned(),
        }
    }
}

/// Classifies a Graph error response by HTTP status and the body's `error.code`.
pub fn classify(http_status: u16, code: Option<i64>, on_download_url: bool) -> GraphError {
    let (kind, reason) = match code {
        Some(190) | Some(0) => (
            GraphErrorKind::TokenInvalid,
            "access token expired or invalid",
        ),
        Some(1) | Some(2) | Some(131000) | Some(131016) | Some(131057) => {
            (GraphErrorKind::Transient, "service temporarily unavailable")
        }
        Some(4) | Some(17) | Some(341) | Some(80007) | Some(130429) | Some(131056) => {
            (GraphErrorKind::RateLimited, "rate limited")
        }
        Some(100) => (GraphErrorKind::Permanent, "unknown media id"),
        Some(131052) => (GraphErrorKind::Permanent, "media cannot be downloaded"),
        Some(3) | Some(10) => (GraphErrorKind::Permission, "permission denied"),
        Some(c) if (200..=299).contains(&c) => (GraphErrorKind::Permission, "permission denied"),
        _ => match http_status {
            401 => (GraphErrorKind::TokenInvalid, "unauthorised"),
            404 if on_download_url => (GraphErrorKind::UrlExpired, "download URL expired"),
            408 | 429 => (GraphErrorKind::RateLimited, "rate limited"),
            s if s >= 500 => (GraphErrorKind::Transient, "server error"),
            _ => (GraphErrorKind::Permanent, "request refused"),
        },
    };
    GraphError {
        kind,
        http_status: Some(http_status),
        code,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_not_http_statuses() {
        assert_eq!(
            classify(400, Some(130429), false).kind,
            GraphErrorKind::RateLimited
        );
        assert_eq!(
            classify(400, Some(4), false).kind,
            GraphErrorKind::RateLimited
        );
        assert_eq!(
            classify(401, Some(190), false).kind,
            GraphErrorKind::TokenInvalid
        );
        assert_eq!(
            classify(400, Some(0), false).kind,
            GraphErrorKind::TokenInvalid
        );
        assert_eq!(
            classify(500, Some(2), false).kind,
            GraphErrorKind::Transient
        );
        assert_eq!(
            classify(400, Some(100), false).kind,
            GraphErrorKind::Permanent
        );
        assert_eq!(
            classify(400, Some(131052), false).kind,
            GraphErrorKind::Permanent
        );
        assert_eq!(
            classify(403, Some(10), false).kind,
            GraphErrorKind::Permission
        );
        assert_eq!(
            classify(403, Some(200), false).kind,
            GraphErrorKind::Permission
        );
        assert_eq!(classify(503, None, false).kind, GraphErrorKind::Transient);
        assert_eq!(classify(404, None, true).kind, GraphErrorKind::UrlExpired);
        assert_eq!(classify(404, None, false).kind, GraphErrorKind::Permanent);
        assert_eq!(classify(401, None, true).kind, GraphErrorKind::TokenInvalid);
        assert_eq!(
            classify(400, Some(130429), false).short(),
            "130429: rate limited"
        );
    }
}
