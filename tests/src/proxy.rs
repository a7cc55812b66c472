//! Forwarding one buffered HTTP request to an upstream endpoint: shared by the local stack's proxies (the IAM
//! gateway, the slow upstream, the current-stage proxy) so each only writes what it changes.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{header, Request, Response, StatusCode};

/// What the upstream answered: the response to hand back, and its status and body for proxies that look at them.
pub(crate) struct Forwarded {
    pub response: Response<Full<Bytes>>,
    pub status: u16,
    pub body: Bytes,
}

/// A plain-text answer of the proxy itself (`label` names it).
pub(crate) fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

/// The service of a request's SigV4 credential scope (`Credential=<key>/<date>/<region>/<service>/aws4_request`),
/// which names it alike for the REST (S3) and the JSON (DynamoDB, SQS, Secrets Manager) protocols.
pub(crate) fn signed_service(headers: &hyper::HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_owned)
}

/// Reads the whole request body; `Err` is the answer to give when it cannot be read.
pub(crate) async fn collect(
    req: Request<Incoming>,
    label: &str,
) -> Result<(Parts, Bytes), Response<Full<Bytes>>> {
    let (parts, body) = req.into_parts();
    match body.collect().await {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(e) => Err(plain(
            StatusCode::BAD_GATEWAY,
            format!("{label}: request body: {e}"),
        )),
    }
}

/// Sends `parts` + `body` to `upstream` (same method, path and query; headers but the hop-by-hop ones and `Host`)
/// and buffers the answer.
pub(crate) async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    parts: &Parts,
    body: Bytes,
    label: &str,
) -> Forwarded {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut request = client.request(parts.method.clone(), format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != header::HOST
            && name != header::CONTENT_LENGTH
            && name != header::EXPECT
            && name != header::TRANSFER_ENCODING
        {
            request = request.header(name, value);
        }
    }
    let answer = match request.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Forwarded {
                response: plain(StatusCode::BAD_GATEWAY, format!("{label}: upstream: {e}")),
                status: 502,
                body: Bytes::new(),
            }
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Full::new(bytes.clone()));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response.headers_mut().append(name, value.clone());
        }
    }
    Forwarded {
        response,
        status: status.as_u16(),
        body: bytes,
    }
}

/// [`collect`] then [`forward`], unchanged.
pub(crate) async fn pass_through(
    client: &reqwest::Client,
    upstream: &str,
    req: Request<Incoming>,
    label: &str,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match collect(req, label).await {
        Ok((parts, body)) => Ok(forward(client, upstream, &parts, body, label)
            .await
            .response),
        Err(answer) => Ok(answer),
    }
}
