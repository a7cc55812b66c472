//! Tokens and what Meta says of them: redacted by construction, judged by [`verdict`].

use super::WHATSAPP_SCOPES;

/// A Meta access token. `Debug` is redacted and there is no `Display`: the value is reachable only
/// through [`AccessToken::expose`], for the one place that must send it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself: for a request header or the secret JSON, never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// The app a token belongs to: its id and secret (the secret keys `appsecret_proof`).
#[derive(Clone)]
pub struct AppCredentials {
    app_id: String,
    app_secret: String,
}

impl AppCredentials {
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
        }
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The app secret: for `appsecret_proof` and the exchange call only.
    pub fn app_secret(&self) -> &str {
        &self.app_secret
    }

    /// The app access token `{app_id}|{app_secret}` that `debug_token` is called with.
    pub fn app_token(&self) -> AccessToken {
        AccessToken(format!("{}|{}", self.app_id, self.app_secret))
    }
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .finish()
    }
}

/// A token Meta just issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: AccessToken,
    /// Seconds until it expires, when Meta says.
    pub expires_in: Option<u64>,
}

/// What `debug_token` says of a token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenInfo {
    pub is_valid: bool,
    pub app_id: Option<String>,
    /// Epoch seconds; `Some(0)` or `None`: never expires.
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
}

/// testSecret's judgement of `debug_token`'s answer: the reason of a rejection, in our words.
pub fn verdict(info: &TokenInfo, app_id: &str, now: i64) -> Result<(), &'static str> {
    if !info.is_valid {
        return Err("debug_token says the token is not valid");
    }
    if info.app_id.as_deref() != Some(app_id) {
        return Err("the token belongs to another app");
    }
    if !WHATSAPP_SCOPES
        .iter()
        .all(|scope| info.scopes.iter().any(|s| s == scope))
    {
        return Err("the token lacks a WhatsApp scope");
    }
    match info.expires_at {
        Some(at) if at != 0 && at <= now => Err("the token has already expired"),
        _ => Ok(()),
    }
}
