//! The ports rotation calls: Meta's token endpoints and the secret's versions.

use super::token::{AccessToken, AppCredentials, IssuedToken, TokenInfo};
use crate::error::PortError;
use crate::graph::GraphError;
use async_trait::async_trait;

/// The Graph API calls rotation makes. Every call carries `appsecret_proof`.
#[async_trait]
pub trait TokenGraph: Send + Sync {
    /// Exchanges `current` for a new long-lived (60-day) token.
    async fn exchange(
        &self,
        app: &AppCredentials,
        current: &AccessToken,
    ) -> Result<IssuedToken, GraphError>;

    /// Mints a new token with the WhatsApp scopes for `system_user_id`, authorised by `admin`.
    async fn mint_system_user_token(
        &self,
        app: &AppCredentials,
        system_user_id: &str,
        admin: &AccessToken,
    ) -> Result<IssuedToken, GraphError>;

    /// Inspects `token` with the app token.
    async fn debug_token(
        &self,
        app: &AppCredentials,
        token: &AccessToken,
    ) -> Result<TokenInfo, GraphError>;

    /// `GET /{phone_number_id}` with `token`: a cheap read proving the token works for WhatsApp.
    async fn phone_number(
        &self,
        app: &AppCredentials,
        token: &AccessToken,
        phone_number_id: &str,
    ) -> Result<(), GraphError>;
}

/// A version of a secret and its staging labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    pub version_id: String,
    pub stages: Vec<String>,
}

impl SecretVersion {
    pub fn has(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }
}

/// The value of one version. `Debug` shows the version id only.
#[derive(Clone)]
pub struct VersionValue {
    pub version_id: String,
    pub text: String,
}

impl std::fmt::Debug for VersionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionValue")
            .field("version_id", &self.version_id)
            .field("text", &"<redacted>")
            .finish()
    }
}

/// A secret's versions and staging labels (Secrets Manager, as far as rotation needs it).
#[async_trait]
pub trait SecretVersions: Send + Sync {
    /// Every version that has a staging label, with its labels.
    async fn versions(&self, secret_id: &str) -> Result<Vec<SecretVersion>, PortError>;
    /// The value of the version carrying `stage`; `None` when no version carries it.
    async fn value_at_stage(
        &self,
        secret_id: &str,
        stage: &str,
    ) -> Result<Option<VersionValue>, PortError>;
    /// The value of `version_id`; `None` when that version does not exist or holds no value yet.
    async fn value_of_version(
        &self,
        secret_id: &str,
        version_id: &str,
    ) -> Result<Option<VersionValue>, PortError>;
    /// Creates version `version_id` with `text`, staged `stage` only (the label leaves any other
    /// version; the new version is never made `AWSCURRENT` by default). Putting the same value
    /// again under the same id is a no-op; another value under an existing id is an error.
    async fn put_staged(
        &self,
        secret_id: &str,
        version_id: &str,
        text: &str,
        stage: &str,
    ) -> Result<(), PortError>;
    /// Moves `stage` to `move_to` and/or removes it from `remove_from`. Fails when `remove_from`
    /// does not carry `stage` (so moving `AWSCURRENT` away from the version a step read is a
    /// compare-and-swap: it fails if someone moved `AWSCURRENT` meanwhile).
    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<(), PortError>;
}
