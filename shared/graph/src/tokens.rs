//! The token endpoints of the Graph API ([`TokenGraph`]) over HTTP with reqwest.
//!
//! - `GET /{v}/oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token&set_token_expires_in_60_days=true`
//! - `POST /{v}/{system_user_id}/access_tokens` (form body: `business_app`, `scope`,
//!   `set_token_expires_in_60_days`, `appsecret_proof`)
//! - `GET /{v}/debug_token?input_token=...` with the app token `{app_id}|{app_secret}`
//! - `GET /{v}/{phone_number_id}?fields=id`
//!
//! Decisions, as in [`crate::http`]:
//! - Every call carries `appsecret_proof` (lowercase hex HMAC-SHA256 of the token the call
//!   presents, keyed by the app secret) and presents its token in an `Authorization: Bearer`
//!   header marked sensitive. Graph takes some values only as query parameters (the exchange's
//!   `client_secret` and `fb_exchange_token`, `debug_token`'s `input_token`): such URLs are never
//!   logged nor put into an error, and transport errors are described by kind only.
//! - One client per instance: connect timeout 5 s, each call 20 s in total; `https_only` when the
//!   base URL is https, so no credential is ever sent in clear.
//! - Error answers are classified with [`classify`] from Graph's `error.code`; reasons are our own
//!   words (never Meta's message). A 2xx answer without the expected fields is Transient.

use crate::http::{read_bounded, GraphClientBuildError, CONNECT_TIMEOUT, USER_AGENT};
use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use std::time::Duration;
use wavault_core::graph::{classify, GraphError, GraphErrorKind};
use wavault_core::rotation::{AccessToken, AppCredentials, IssuedToken, TokenGraph, TokenInfo};

/// Each token call (small JSON documents) must finish within this.
pub const TOKEN_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// [`TokenGraph`] over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpTokenGraph {
    client: reqwest::Client,
    base_url: Url,
    version: String,
}

/// `appsecret_proof`: lowercase hex HMAC-SHA256 of `token`, keyed by the app secret.
pub fn appsecret_proof(app_secret: &str, token: &AccessToken) -> String {
    // The same HMAC-SHA256 as webhook signatures; it cannot fail (an empty proof would be refused).
    wavault_core::webhook::signature::sign(app_secret.as_bytes(), token.expose().as_bytes())
        .map(hex::encode)
        .unwrap_or_default()
}

impl HttpTokenGraph {
    /// Builds the client for `base_url` (`http(s)://host[:port][/path]`) and `version` (`v23.0`).
    pub fn new(base_url: &str, version: &str) -> Result<Self, GraphClientBuildError> {
        let base = crate::http::validated_base(base_url, version)?;
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOKEN_CALL_TIMEOUT)
            .https_only(base.scheme() == "https")
            .build()
            .map_err(|e| GraphClientBuildError::Client(describe(e)))?;
        Ok(Self {
            client,
            base_url: base,
            version: version.to_owned(),
        })
    }

    /// `{base}/{version}/{segments...}?{query}`, every part percent-encoded.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, GraphError> {
        let mut url = self.base_url.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| permanent("invalid base URL"))?;
            path.pop_if_empty().push(&self.version);
            for segment in segments {
                path.push(segment);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends `request` with `token` as a sensitive bearer header; the JSON answer, or the
    /// classified error.
    async fn call(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
        token: &AccessToken,
    ) -> Result<serde_json::Value, GraphError> {
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", token.expose())).map_err(|_| {
                GraphError {
                    kind: GraphErrorKind::TokenInvalid,
                    http_status: None,
                    code: None,
                    reason: "token is not a valid header value",
                }
            })?;
        auth.set_sensitive(true);
        let response = request
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| transport_error(operation, e))?;
        let status = response.status().as_u16();
        let success = response.status().is_success();
        let body = read_bounded(response).await;
        if !success {
            return Err(match body {
                Ok(body) => token_error(status, graph_error_code(&body)),
                Err(error) => {
                    log_transport(operation, error);
                    let by_status = token_error(status, None);
                    if by_status.kind == GraphErrorKind::Permanent {
                        GraphError {
                            kind: GraphErrorKind::Transient,
                            reason: "error response interrupted",
                            ..by_status
                        }
                    } else {
                        by_status
                    }
                }
            });
        }
        let body = body.map_err(|e| transport_error(operation, e))?;
        serde_json::from_slice(&body).map_err(|_| malformed(status))
    }
}

#[async_trait]
impl TokenGraph for HttpTokenGraph {
    async fn exchange(
        &self,
        app: &AppCredentials,
        current: &AccessToken,
    ) -> Result<IssuedToken, GraphError> {
        let proof = appsecret_proof(app.app_secret(), current);
        let url = self.url(
            &["oauth", "access_token"],
            &[
                ("grant_type", "fb_exchange_token"),
                ("client_id", app.app_id()),
                ("client_secret", app.app_secret()),
                ("fb_exchange_token", current.expose()),
                ("set_token_expires_in_60_days", "true"),
                ("appsecret_proof", &proof),
            ],
        )?;
        let answer = self
            .call("token_exchange", self.client.get(url), current)
            .await?;
        issued(&answer).ok_or(malformed(200))
    }

    async fn mint_system_user_token(
        &self,
        app: &AppCredentials,
        system_user_id: &str,
        admin: &AccessToken,
    ) -> Result<IssuedToken, GraphError> {
        if system_user_id.is_empty() {
            return Err(permanent("empty system user id"));
        }
        let proof = appsecret_proof(app.app_secret(), admin);
        let url = self.url(&[system_user_id, "access_tokens"], &[])?;
        let scope = wavault_core::rotation::WHATSAPP_SCOPES.join(",");
        let body = form(&[
            ("business_app", app.app_id()),
            ("scope", &scope),
            ("set_token_expires_in_60_days", "true"),
            ("appsecret_proof", &proof),
        ]);
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let answer = self.call("system_user_token", request, admin).await?;
        issued(&answer).ok_or(malformed(200))
    }

    async fn debug_token(
        &self,
        app: &AppCredentials,
        token: &AccessToken,
    ) -> Result<TokenInfo, GraphError> {
        let app_token = app.app_token();
        let proof = appsecret_proof(app.app_secret(), &app_token);
        let url = self.url(
            &["debug_token"],
            &[("input_token", token.expose()), ("appsecret_proof", &proof)],
        )?;
        let answer = self
            .call("debug_token", self.client.get(url), &app_token)
            .await?;
        token_info(&answer).ok_or(malformed(200))
    }

    async fn phone_number(
        &self,
        app: &AppCredentials,
        token: &AccessToken,
        phone_number_id: &str,
    ) -> Result<(), GraphError> {
        if phone_number_id.is_empty() {
            return Err(permanent("empty phone number id"));
        }
        let proof = appsecret_proof(app.app_secret(), token);
        let url = self.url(
            &[phone_number_id],
            &[("fields", "id"), ("appsecret_proof", &proof)],
        )?;
        let answer = self
            .call("phone_number", self.client.get(url), token)
            .await?;
        match answer.get("id").and_then(serde_json::Value::as_str) {
            Some(id) if id == phone_number_id => Ok(()),
            _ => Err(malformed(200)),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut encoder = Url::parse("http://form.invalid/").ok();
    match encoder.as_mut() {
        Some(url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.query().unwrap_or_default().to_owned()
        }
        None => String::new(),
    }
}

/// `{access_token, expires_in?}`; `None` without a usable token.
fn issued(answer: &serde_json::Value) -> Option<IssuedToken> {
    let token = answer
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())?;
    Some(IssuedToken {
        token: AccessToken::new(token),
        expires_in: answer.get("expires_in").and_then(number),
    })
}

/// `{data: {is_valid, app_id, expires_at, scopes}}`; `None` without `data`.
fn token_info(answer: &serde_json::Value) -> Option<TokenInfo> {
    let data = answer.get("data")?.as_object()?;
    Some(TokenInfo {
        is_valid: data
            .get("is_valid")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        app_id: data.get("app_id").and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        expires_at: data
            .get("expires_at")
            .and_then(number)
            .and_then(|n| i64::try_from(n).ok()),
        scopes: data
            .get("scopes")
            .and_then(serde_json::Value::as_array)
            .map(|scopes| {
                scopes
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// A non-negative integer sent as a JSON number or a string of digits.
fn number(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// [`classify`] with reasons that fit token calls (its code-100 reason speaks of media).
fn token_error(status: u16, code: Option<i64>) -> GraphError {
    let error = classify(status, code, false);
    match code {
        Some(100) => GraphError {
            reason: "unknown object or invalid parameter",
            ..error
        },
        Some(101) => GraphError {
            reason: "invalid application id",
            ..error
        },
        _ => error,
    }
}

/// Graph's `{"error":{"code":<int>}}`; the code may also come as a string of digits.
fn graph_error_code(body: &[u8]) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.get("error")?.get("code")? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn malformed(status: u16) -> GraphError {
    GraphError {
        kind: GraphErrorKind::Transient,
        http_status: Some(status),
        code: None,
        reason: "malformed answer",
    }
}

fn permanent(reason: &'static str) -> GraphError {
    GraphError {
        kind: GraphErrorKind::Permanent,
        http_status: None,
        code: None,
        reason,
    }
}

/// A failed send: Transient, with a reason naming the kind of failure (never the URL).
fn transport_error(operation: &'static str, error: reqwest::Error) -> GraphError {
    let builder = error.is_builder();
    let reason = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    log_transport(operation, error);
    if builder {
        return permanent("request refused by the HTTP client");
    }
    GraphError::transient(reason)
}

fn log_transport(operation: &'static str, error: reqwest::Error) {
    let error = describe(error);
    tracing::warn!(event = "graph_transport_error", operation, error = %error);
}

/// The error and its sources without the URL (token-call URLs carry credentials).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(e) = source {
        text.push_str(": ");
        match e.downcast_ref::<reqwest::Error>() {
            // A nested reqwest error may carry a URL of its own: its kind only.
            Some(_) => text.push_str("http error"),
            None => text.push_str(&e.to_string()),
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
#[path = "tests/tokens.rs"]
mod tests;
