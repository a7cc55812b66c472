//! An HTTP front door for a function under the emulator: what API Gateway's HTTP API (or a Lambda Function URL)
//! does in production, so the demo and the tests can `curl` a webhook URL as Meta would.
//!
//! Events use payload format 2.0 as documented by AWS and as `aws_lambda_events::apigw::ApiGatewayV2httpRequest`
//! / `LambdaFunctionUrlRequest` read it, which is what `lambda_http` deserializes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::lambda_emulator::{hex_id, request_id, Invocation, LambdaProcess};
use crate::serve::LoopbackServer;
use crate::{Error, Result};

/// Which AWS front end the events imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventKind {
    /// API Gateway HTTP API, payload format 2.0, `$default` route and stage.
    #[default]
    ApiGatewayV2,
    /// Lambda Function URL (same 2.0 shape, `lambda-url` domain).
    FunctionUrl,
}

/// How the front door builds events.
#[derive(Debug, Clone, Default)]
pub struct FrontDoorOptions {
    /// Only paths under this prefix reach the function (others get API Gateway's 404); the path is passed on
    /// unchanged, as with a `$default` stage. `""` or `"/"` routes everything.
    pub route_prefix: String,
    /// Base64-encode every body, as API Gateway does for binary media types; otherwise only non-UTF-8 bodies.
    pub always_base64: bool,
    /// API Gateway or Function URL events.
    pub kind: EventKind,
}

/// A loopback HTTP server that forwards each request to a [`LambdaProcess`]; dropping it stops the server.
pub struct HttpFrontDoor {
    server: LoopbackServer,
    route_prefix: String,
}

impl HttpFrontDoor {
    /// Serves `lambda` on `127.0.0.1:<free port>`, routing paths under `route_prefix` to it.
    pub fn start(lambda: Arc<LambdaProcess>, route_prefix: &str) -> Result<HttpFrontDoor> {
        HttpFrontDoor::start_with(
            lambda,
            FrontDoorOptions {
                route_prefix: route_prefix.to_string(),
                ..FrontDoorOptions::default()
            },
        )
    }

    /// [`HttpFrontDoor::start`] with all options.
    ///
    /// The server runs on its own thread and runtime, so it outlives any one `#[tokio::test]` runtime.
    pub fn start_with(
        lambda: Arc<LambdaProcess>,
        options: FrontDoorOptions,
    ) -> Result<HttpFrontDoor> {
        let route_prefix = normalise_prefix(&options.route_prefix);
        let options = Arc::new(FrontDoorOptions {
            route_prefix: route_prefix.clone(),
            ..options
        });
        let server = LoopbackServer::start("front door", move |req, peer| {
            forward(req, peer, lambda.clone(), options.clone())
        })?;
        Ok(HttpFrontDoor {
            server,
            route_prefix,
        })
    }

    /// The URL the function is reachable at: `http://127.0.0.1:PORT` plus the route prefix.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.server.addr(), self.route_prefix)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }
}

fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

async fn forward(
    req: Request<Incoming>,
    peer: SocketAddr,
    lambda: Arc<LambdaProcess>,
    options: Arc<FrontDoorOptions>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let prefix = &options.route_prefix;
    let routed = prefix.is_empty()
        || path == *prefix
        || path
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.starts_with('/'));
    if !routed {
        return Ok(gateway_reply(StatusCode::NOT_FOUND, "Not Found"));
    }
    let method = req.method().as_str().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let protocol = format!("{:?}", req.version());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(gateway_reply(StatusCode::BAD_REQUEST, "Bad Request")),
    };
    let event = EventParts {
        method: &method,
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
        always_base64: options.always_base64,
        source_ip: &peer.ip().to_string(),
        protocol: &protocol,
        kind: options.kind,
    }
    .build();
    let response = match lambda.invoke(event).await {
        Ok(Invocation::Ok(value)) => response_from(&value),
        Ok(Invocation::FunctionError(_)) | Ok(Invocation::InitError(_)) => {
            gateway_reply(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
        Err(Error::InvokeTimeout { .. }) => {
            gateway_reply(StatusCode::GATEWAY_TIMEOUT, "Service Unavailable")
        }
        Err(e) => {
            eprintln!("front door: invocation failed: {e}");
            gateway_reply(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    };
    Ok(response)
}

/// API Gateway's own error shape: `{"message": "..."}`.
fn gateway_reply(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(
        json!({ "message": message }).to_string(),
    )));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// Maps a payload-2.0 response document to HTTP. A document without `statusCode` is, as on API Gateway, a
/// 200 whose JSON body is the document itself.
pub fn response_from(value: &Value) -> Response<Full<Bytes>> {
    let Some(status) = value.get("statusCode") else {
        let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return response;
    };
    let status = status
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok());
    let Some(status) = status else {
        return gateway_reply(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let body = match value.get("body") {
        Some(Value::String(s)) if value.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(bytes) => Bytes::from(bytes),
                Err(_) => {
                    return gateway_reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    )
                }
            }
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(Value::Null) | None => Bytes::new(),
        Some(other) => Bytes::from(other.to_string()),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(Value::Object(map)) = value.get("headers") {
        for (name, v) in map {
            if let (Ok(name), Some(v)) = (HeaderName::try_from(name.as_str()), header_text(v)) {
                if let Ok(v) = HeaderValue::try_from(v) {
                    headers.insert(name, v);
                }
            }
        }
    }
    if let Some(Value::Object(map)) = value.get("multiValueHeaders") {
        for (name, values) in map {
            let Ok(name) = HeaderName::try_from(name.as_str()) else {
                continue;
            };
            if headers.contains_key(&name) {
                continue;
            }
            for v in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(header_text)
            {
                if let Ok(v) = HeaderValue::try_from(v) {
                    headers.append(name.clone(), v);
                }
            }
        }
    }
    for cookie in value
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if let Ok(v) = HeaderValue::try_from(cookie) {
            headers.append("set-cookie", v);
        }
    }
    response
}

fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An API Gateway HTTP API (payload 2.0, `$default` route and stage) event, for tests that invoke directly.
///
/// `path` is the raw path, `query` the raw query string without `?`. The body is base64-encoded when `base64`
/// is set or when it is not UTF-8.
pub fn apigw_v2_event<K, V>(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(K, V)],
    body: &[u8],
    base64: bool,
) -> Value
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    event_of_kind(
        EventKind::ApiGatewayV2,
        method,
        path,
        query,
        headers,
        body,
        base64,
    )
}

/// A Lambda Function URL event: the 2.0 shape with a `<url-id>.lambda-url.<region>.on.aws` domain.
pub fn function_url_event<K, V>(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(K, V)],
    body: &[u8],
    base64: bool,
) -> Value
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    event_of_kind(
        EventKind::FunctionUrl,
        method,
        path,
        query,
        headers,
        body,
        base64,
    )
}

fn event_of_kind<K: AsRef<str>, V: AsRef<str>>(
    kind: EventKind,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(K, V)],
    body: &[u8],
    base64: bool,
) -> Value {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
        .collect();
    EventParts {
        method,
        path,
        query,
        headers: &headers,
        body,
        always_base64: base64,
        source_ip: "203.0.113.10",
        protocol: "HTTP/1.1",
        kind,
    }
    .build()
}

struct EventParts<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(String, String)],
    body: &'a [u8],
    always_base64: bool,
    source_ip: &'a str,
    protocol: &'a str,
    kind: EventKind,
}

impl EventParts<'_> {
    fn build(&self) -> Value {
        // Headers: lower-cased, repeated ones joined with ","; cookies move to their own list, as API Gateway
        // does for 2.0 payloads.
        let mut headers = Map::new();
        let mut cookies = Vec::new();
        for (name, value) in self.headers {
            let name = name.to_ascii_lowercase();
            if name == "cookie" {
                cookies.extend(
                    value
                        .split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| Value::String(c.to_string())),
                );
                continue;
            }
            match headers.get_mut(&name) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(value);
                }
                _ => {
                    headers.insert(name, Value::String(value.clone()));
                }
            }
        }
        let user_agent = headers
            .get("user-agent")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();

        let (api_id, domain) = match self.kind {
            EventKind::ApiGatewayV2 => {
                let id = "wavaultapi".to_string();
                let domain = format!("{id}.execute-api.{}.amazonaws.com", crate::aws::REGION);
                (id, domain)
            }
            EventKind::FunctionUrl => {
                let id = "wavaultlocalfunctionurlid000000".to_string();
                let domain = format!("{id}.lambda-url.{}.on.aws", crate::aws::REGION);
                (id, domain)
            }
        };
        headers
            .entry("host".to_string())
            .or_insert_with(|| Value::String(domain.clone()));

        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let mut context = json!({
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "http": {
                "method": self.method.to_ascii_uppercase(),
                "path": self.path,
                "protocol": self.protocol,
                "sourceIp": self.source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": clf_time(now_ms),
            "timeEpoch": now_ms,
        });
        if self.kind == EventKind::FunctionUrl {
            context["authentication"] = Value::Null;
        } else {
            context["requestId"] = Value::String(format!("{}=", hex_id(15)));
        }

        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": false,
        });
        if !cookies.is_empty() {
            event["cookies"] = Value::Array(cookies);
        }
        let params = query_parameters(self.query);
        if !params.is_empty() {
            event["queryStringParameters"] = Value::Object(params);
        }
        if !self.body.is_empty() {
            match std::str::from_utf8(self.body) {
                Ok(text) if !self.always_base64 => {
                    event["body"] = Value::String(text.to_string());
                }
                _ => {
                    event["body"] =
                        Value::String(base64::engine::general_purpose::STANDARD.encode(self.body));
                    event["isBase64Encoded"] = Value::Bool(true);
                }
            }
        }
        event
    }
}

/// Decoded query parameters, repeated names joined with "," (API Gateway's 2.0 behaviour).
fn query_parameters(query: &str) -> Map<String, Value> {
    let mut params = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match params.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                params.insert(k, Value::String(v));
            }
        }
    }
    params
}

/// Percent-decoding of a path segment or query value (`+` stays `+`: S3 keys keep it).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `requestContext.time` in API Gateway's format, e.g. `12/Mar/2020:19:03:58 +0000`.
fn clf_time(epoch_ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date crate for one field.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let month_name = MONTHS[usize::try_from(month - 1).unwrap_or(0).min(11)];
    format!(
        "{day:02}/{month_name}/{year}:{:02}:{:02}:{:02} +0000",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_time_matches_known_instants() {
        assert_eq!(clf_time(1_583_348_638_390), "04/Mar/2020:19:03:58 +0000");
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(951_782_400_000), "29/Feb/2000:00:00:00 +0000");
    }

    #[test]
    fn query_parameters_decode_and_join() {
        let p = query_parameters("a=1&a=2&b=x%20y&flag");
        assert_eq!(p.get("a"), Some(&json!("1,2")));
        assert_eq!(p.get("b"), Some(&json!("x y")));
        assert_eq!(p.get("flag"), Some(&json!("")));
    }

    #[test]
    fn headers_lowercase_join_and_cookies_split() {
        let e = apigw_v2_event(
            "post",
            "/webhook",
            "",
            &[("X-Multi", "a"), ("x-multi", "b"), ("Cookie", "c1=1; c2=2")],
            b"\xff\x00",
            false,
        );
        assert_eq!(e["headers"]["x-multi"], json!("a,b"));
        assert_eq!(e["cookies"], json!(["c1=1", "c2=2"]));
        assert_eq!(e["requestContext"]["http"]["method"], json!("POST"));
        assert_eq!(e["isBase64Encoded"], json!(true));
        assert_eq!(e["body"], json!("/wA="));
        assert!(e.get("queryStringParameters").is_none());
    }

    #[test]
    fn responses_map_status_headers_cookies_and_base64() {
        let r = response_from(&json!({
            "statusCode": 201,
            "headers": {"x-a": "1"},
            "multiValueHeaders": {"x-b": ["2", "3"]},
            "cookies": ["s=1"],
            "body": "aGk=",
            "isBase64Encoded": true
        }));
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers().get_all("x-b").iter().count(), 2);
        assert_eq!(
            r.headers().get("set-cookie").map(|v| v.as_bytes()),
            Some(&b"s=1"[..])
        );
        let inferred = response_from(&json!({"ok": true}));
        assert_eq!(inferred.status(), StatusCode::OK);
    }
}
