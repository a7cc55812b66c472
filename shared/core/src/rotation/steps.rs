//! The four steps as one use case: [`Rotator`].

use crate::clock::Clock;
use crate::error::PortError;
use crate::graph::{GraphError, GraphErrorKind};
use crate::metrics::Metrics;
use crate::rotation::{verdict, AccessToken, AppCredentials, SecretVersions, TokenGraph};
use crate::secrets::{MetaSecret, SecretError};
use std::sync::Arc;

/// The staging label of the version readers get.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The staging label of a version being rotated in.
pub const AWSPENDING: &str = "AWSPENDING";
/// The scopes a WhatsApp Cloud API token needs.
pub const WHATSAPP_SCOPES: [&str; 2] = [
    "whatsapp_business_messaging",
    "whatsapp_business_management",
];
/// Gauge: days until the current token expires (0 when Meta says it is invalid).
pub const METRIC_DAYS_TO_EXPIRY: &str = "TokenDaysToExpiry";
/// Count: a rotation step, a scheduled rotation or a token check failed.
pub const METRIC_ROTATION_FAILED: &str = "TokenRotationFailed";
/// Count: a new token became `AWSCURRENT`.
pub const METRIC_ROTATED: &str = "TokenRotated";
/// What [`METRIC_DAYS_TO_EXPIRY`] reports for a token that never expires (ten years).
pub const NEVER_EXPIRES_DAYS: f64 = 3650.0;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// How a new token is obtained from Meta (`ROTATION_STRATEGY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RotationStrategy {
    /// `GET /oauth/access_token?grant_type=fb_exchange_token&set_token_expires_in_60_days=true`:
    /// the current token is exchanged for a new 60-day one. Needs the app id and secret.
    #[default]
    Exchange,
    /// `POST /{system_user_id}/access_tokens` with the WhatsApp scopes: a new token for the system
    /// user named by `system_user_id` in the secret, minted with the current token (60 days).
    SystemUser,
}

impl RotationStrategy {
    /// `exchange` or `system_user` (also `system-user`), case-insensitive.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "exchange" => Some(Self::Exchange),
            "system_user" | "system-user" => Some(Self::SystemUser),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exchange => "exchange",
            Self::SystemUser => "system_user",
        }
    }
}

/// One of Secrets Manager's rotation steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl RotationStep {
    /// The four steps in the order Secrets Manager runs them.
    pub const ALL: [RotationStep; 4] = [
        Self::CreateSecret,
        Self::SetSecret,
        Self::TestSecret,
        Self::FinishSecret,
    ];

    /// Secrets Manager's spelling: `createSecret`, `setSecret`, `testSecret`, `finishSecret`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "createSecret" => Some(Self::CreateSecret),
            "setSecret" => Some(Self::SetSecret),
            "testSecret" => Some(Self::TestSecret),
            "finishSecret" => Some(Self::FinishSecret),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSecret => "createSecret",
            Self::SetSecret => "setSecret",
            Self::TestSecret => "testSecret",
            Self::FinishSecret => "finishSecret",
        }
    }
}

/// Why a rotation step failed. Never carries a token, a secret or the secret's JSON.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Store(#[from] PortError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("secret {secret_id} has no {field}, which rotation needs")]
    Missing {
        secret_id: String,
        field: &'static str,
    },
    #[error("secret {secret_id} has no AWSCURRENT version")]
    NoCurrent { secret_id: String },
    #[error("version {version_id} of secret {secret_id} is not staged AWSPENDING (nor AWSCURRENT): not a rotation in progress")]
    NotPending {
        secret_id: String,
        version_id: String,
    },
    #[error("Graph {call} failed: {source}")]
    Graph {
        call: &'static str,
        #[source]
        source: GraphError,
    },
    #[error("Meta issued an empty token ({call})")]
    EmptyToken { call: &'static str },
    /// testSecret's verdict: the new token must not become current.
    #[error("the pending token failed testSecret: {0}")]
    Rejected(&'static str),
}

impl RotationError {
    /// Whether testSecret judged the token itself bad (rather than failing to judge it).
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected(_))
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// createSecret put a new pending version.
    Created,
    /// createSecret found the pending version already written.
    AlreadyPending,
    /// setSecret: nothing to change at Meta.
    NothingToSet,
    /// testSecret accepted the pending token.
    Tested,
    /// finishSecret made the version current.
    Finished,
    /// The version is already `AWSCURRENT` (a rerun after the rotation finished).
    AlreadyCurrent,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::AlreadyPending => "already_pending",
            Self::NothingToSet => "nothing_to_set",
            Self::Tested => "tested",
            Self::Finished => "finished",
            Self::AlreadyCurrent => "already_current",
        }
    }
}

/// What a scheduled rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The version that is now `AWSCURRENT`.
    pub version_id: String,
    /// A pending version left by an earlier, interrupted rotation was completed.
    pub resumed: bool,
    /// The outcome of each step, in order.
    pub steps: Vec<(RotationStep, StepOutcome)>,
}

/// One invocation's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationRequest {
    /// A Secrets Manager rotation step for `version_id` (its `ClientRequestToken`).
    Step {
        secret_id: String,
        step: RotationStep,
        version_id: String,
    },
    /// The whole rotation (the schedule); `fresh_version_id` is used unless a pending version is
    /// resumed.
    Rotate {
        secret_id: String,
        fresh_version_id: String,
    },
    /// Only inspect the current token and report its days to expiry.
    Check { secret_id: String },
}

impl RotationRequest {
    pub fn secret_id(&self) -> &str {
        match self {
            Self::Step { secret_id, .. }
            | Self::Rotate { secret_id, .. }
            | Self::Check { secret_id } => secret_id,
        }
    }
}

/// What [`Rotator::handle`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RotationOutcome {
    pub step: Option<(RotationStep, StepOutcome)>,
    pub rotation: Option<RotationReport>,
    /// Days until the current token expires (after this run), when it could be checked.
    pub days_to_expiry: Option<f64>,
}

/// The rotation use case.
pub struct Rotator {
    pub secrets: Arc<dyn SecretVersions>,
    pub graph: Arc<dyn TokenGraph>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
    pub strategy: RotationStrategy,
    /// When set, testSecret reads this phone number with the pending token.
    pub phone_number_id: Option<String>,
}

/// The fields of the Meta secret rotation uses.
struct Parsed {
    app: AppCredentials,
    token: AccessToken,
    system_user_id: Option<String>,
}

impl Rotator {
    /// Runs one request, then inspects the current token ([`METRIC_DAYS_TO_EXPIRY`]); counts
    /// [`METRIC_ROTATED`] and [`METRIC_ROTATION_FAILED`]. An error fails the invocation (so Secrets
    /// Manager, or the schedule's retry, sees it); a failed check after a successful step is
    /// counted and logged but does not undo the step's success.
    pub async fn handle(&self, request: RotationRequest) -> Result<RotationOutcome, RotationError> {
        let secret_id = request.secret_id().to_owned();
        let mut outcome = RotationOutcome {
            step: None,
            rotation: None,
            days_to_expiry: None,
        };
        let check_only = matches!(request, RotationRequest::Check { .. });
        let result = match request {
            RotationRequest::Step {
                secret_id,
                step,
                version_id,
            } => match self.step(&secret_id, step, &version_id).await {
                Ok(done) => {
                    if done == StepOutcome::Finished {
                        self.metrics.count(METRIC_ROTATED, 1);
                    }
                    outcome.step = Some((step, done));
                    Ok(())
                }
                Err(error) => Err(error),
            },
            RotationRequest::Rotate {
                secret_id,
                fresh_version_id,
            } => match self.rotate(&secret_id, &fresh_version_id).await {
                Ok(report) => {
                    if report
                        .steps
                        .iter()
                        .any(|(_, done)| *done == StepOutcome::Finished)
                    {
                        self.metrics.count(METRIC_ROTATED, 1);
                    }
                    outcome.rotation = Some(report);
                    Ok(())
                }
                Err(error) => Err(error),
            },
            RotationRequest::Check { .. } => Ok(()),
        };
        let checked = self.check_current(&secret_id).await;
        match (result, checked) {
            (Err(error), checked) => {
                self.metrics.count(METRIC_ROTATION_FAILED, 1);
                tracing::error!(event = "token_rotation_failed", secret_id = %secret_id, error = %error);
                if let Err(check) = checked {
                    tracing::warn!(event = "token_check_failed", secret_id = %secret_id, error = %check);
                }
                Err(error)
            }
            (Ok(()), Ok(days)) => {
                self.metrics.count(METRIC_ROTATION_FAILED, 0);
                outcome.days_to_expiry = Some(days);
                Ok(outcome)
            }
            (Ok(()), Err(error)) => {
                self.metrics.count(METRIC_ROTATION_FAILED, 1);
                tracing::error!(event = "token_check_failed", secret_id = %secret_id, error = %error);
                if check_only {
                    // A check-only run has nothing else to report: its failure is the run's.
                    Err(error)
                } else {
                    Ok(outcome)
                }
            }
        }
    }

    /// One Secrets Manager step for version `version_id` (the event's `ClientRequestToken`).
    pub async fn step(
        &self,
        secret_id: &str,
        step: RotationStep,
        version_id: &str,
    ) -> Result<StepOutcome, RotationError> {
        let versions = self.secrets.versions(secret_id).await?;
        let this = versions.iter().find(|v| v.version_id == version_id);
        if let Some(version) = this.filter(|v| v.has(AWSCURRENT)) {
            // The rotation already finished (a rerun, or a crash inside finishSecret).
            if step == RotationStep::FinishSecret && version.has(AWSPENDING) {
                self.secrets
                    .update_stage(secret_id, AWSPENDING, None, Some(version_id))
                    .await?;
            }
            tracing::info!(
                event = "rotation_step",
                step = step.as_str(),
                version_id,
                outcome = "already_current"
            );
            return Ok(StepOutcome::AlreadyCurrent);
        }
        let pending = this.is_some_and(|v| v.has(AWSPENDING));
        let outcome = match step {
            RotationStep::CreateSecret => self.create(secret_id, version_id, pending).await?,
            _ if !pending => {
                return Err(RotationError::NotPending {
                    secret_id: secret_id.to_owned(),
                    version_id: version_id.to_owned(),
                })
            }
            // Nothing to change at Meta: the new token is live the moment Meta issues it, and
            // the old one stays valid until it expires or is revoked.
            RotationStep::SetSecret => {
                tracing::info!(
                    event = "rotation_set_secret",
                    version_id,
                    "nothing to change at Meta: the new token is already live there"
                );
                StepOutcome::NothingToSet
            }
            RotationStep::TestSecret => self.test(secret_id, version_id).await?,
            RotationStep::FinishSecret => {
                let current = versions
                    .iter()
                    .find(|v| v.has(AWSCURRENT))
                    .map(|v| v.version_id.as_str());
                self.secrets
                    .update_stage(secret_id, AWSCURRENT, Some(version_id), current)
                    .await?;
                self.secrets
                    .update_stage(secret_id, AWSPENDING, None, Some(version_id))
                    .await?;
                StepOutcome::Finished
            }
        };
        tracing::info!(
            event = "rotation_step",
            step = step.as_str(),
            version_id,
            outcome = outcome.as_str()
        );
        Ok(outcome)
    }

    /// The whole rotation: resumes the version staged `AWSPENDING` if there is one (an earlier run
    /// was interrupted), else starts one under `fresh_version_id`. A token rejected by testSecret
    /// loses its `AWSPENDING` label, so the next run starts afresh.
    pub async fn rotate(
        &self,
        secret_id: &str,
        fresh_version_id: &str,
    ) -> Result<RotationReport, RotationError> {
        let versions = self.secrets.versions(secret_id).await?;
        let (version_id, resumed) = match versions.iter().find(|v| v.has(AWSPENDING)) {
            Some(pending) => (pending.version_id.clone(), true),
            None => (fresh_version_id.to_owned(), false),
        };
        if resumed {
            tracing::info!(event = "rotation_resumed", version_id = %version_id);
        }
        let mut steps = Vec::with_capacity(RotationStep::ALL.len());
        for step in RotationStep::ALL {
            match self.step(secret_id, step, &version_id).await {
                Ok(done) => steps.push((step, done)),
                Err(error) => {
                    if error.is_rejection() {
                        self.abandon(secret_id, &version_id).await;
                    }
                    return Err(error);
                }
            }
        }
        Ok(RotationReport {
            version_id,
            resumed,
            steps,
        })
    }

    /// Inspects the current token and reports its days to expiry (0 when Meta says it is not
    /// valid: it was revoked or has expired, and readers are failing).
    pub async fn check_current(&self, secret_id: &str) -> Result<f64, RotationError> {
        let current = self
            .secrets
            .value_at_stage(secret_id, AWSCURRENT)
            .await?
            .ok_or_else(|| RotationError::NoCurrent {
                secret_id: secret_id.to_owned(),
            })?;
        let parsed = parse(secret_id, &current.text)?;
        let info = self
            .graph
            .debug_token(&parsed.app, &parsed.token)
            .await
            .map_err(|source| RotationError::Graph {
                call: "debug_token",
                source,
            })?;
        let now = self.clock.now_epoch_seconds();
        let days = if !info.is_valid {
            tracing::error!(
                event = "current_token_invalid",
                version_id = %current.version_id,
                "Meta says the current token is not valid: rotate, or put a new token (docs/deploy.md, runbook: Meta revoked our token)"
            );
            0.0
        } else {
            match info.expires_at {
                None | Some(0) => NEVER_EXPIRES_DAYS,
                Some(at) => ((at - now) as f64 / SECONDS_PER_DAY).max(0.0),
            }
        };
        self.metrics.gauge(METRIC_DAYS_TO_EXPIRY, days);
        tracing::info!(event = "token_checked", version_id = %current.version_id, days_to_expiry = days);
        Ok(days)
    }

    async fn create(
        &self,
        secret_id: &str,
        version_id: &str,
        pending: bool,
    ) -> Result<StepOutcome, RotationError> {
        if pending
            && self
                .secrets
                .value_of_version(secret_id, version_id)
                .await?
                .is_some()
        {
            return Ok(StepOutcome::AlreadyPending);
        }
        let current = self
            .secrets
            .value_at_stage(secret_id, AWSCURRENT)
            .await?
            .ok_or_else(|| RotationError::NoCurrent {
                secret_id: secret_id.to_owned(),
            })?;
        let parsed = parse(secret_id, &current.text)?;
        let (call, issued) = match self.strategy {
            RotationStrategy::Exchange => (
                "oauth/access_token",
                self.graph.exchange(&parsed.app, &parsed.token).await,
            ),
            RotationStrategy::SystemUser => {
                let system_user_id =
                    parsed
                        .system_user_id
                        .as_deref()
                        .ok_or_else(|| RotationError::Missing {
                            secret_id: secret_id.to_owned(),
                            field: "system_user_id (strategy system_user)",
                        })?;
                (
                    "access_tokens",
                    self.graph
                        .mint_system_user_token(&parsed.app, system_user_id, &parsed.token)
                        .await,
                )
            }
        };
        let issued = issued.map_err(|source| RotationError::Graph { call, source })?;
        if issued.token.is_empty() {
            return Err(RotationError::EmptyToken { call });
        }
        if issued.token == parsed.token {
            tracing::warn!(
                event = "rotation_same_token",
                version_id,
                "Meta returned the current token"
            );
        }
        let text = with_access_token(secret_id, &current.text, &issued.token)?;
        self.secrets
            .put_pending(secret_id, version_id, &text)
            .await?;
        tracing::info!(
            event = "rotation_token_issued",
            version_id,
            strategy = self.strategy.as_str(),
            expires_in = issued.expires_in
        );
        Ok(StepOutcome::Created)
    }

    async fn test(&self, secret_id: &str, version_id: &str) -> Result<StepOutcome, RotationError> {
        let pending = self
            .secrets
            .value_of_version(secret_id, version_id)
            .await?
            .ok_or_else(|| RotationError::NotPending {
                secret_id: secret_id.to_owned(),
                version_id: version_id.to_owned(),
            })?;
        let parsed = parse(secret_id, &pending.text)?;
        let info = self
            .graph
            .debug_token(&parsed.app, &parsed.token)
            .await
            .map_err(|source| RotationError::Graph {
                call: "debug_token",
                source,
            })?;
        verdict(&info, parsed.app.app_id(), self.clock.now_epoch_seconds())
            .map_err(RotationError::Rejected)?;
        if let Some(phone_number_id) = &self.phone_number_id {
            match self
                .graph
                .phone_number(&parsed.app, &parsed.token, phone_number_id)
                .await
            {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.kind,
                        GraphErrorKind::TokenInvalid
                            | GraphErrorKind::Permission
                            | GraphErrorKind::Permanent
                    ) =>
                {
                    return Err(RotationError::Rejected(
                        "the token cannot read the configured phone number",
                    ))
                }
                Err(source) => {
                    return Err(RotationError::Graph {
                        call: "phone number read",
                        source,
                    })
                }
            }
        }
        Ok(StepOutcome::Tested)
    }

    /// Takes `AWSPENDING` off a rejected version (best effort: a failure leaves it for the next
    /// run, which tests it again and retries this).
    async fn abandon(&self, secret_id: &str, version_id: &str) {
        let still_pending = match self.secrets.versions(secret_id).await {
            Ok(versions) => versions
                .iter()
                .any(|v| v.version_id == version_id && v.has(AWSPENDING)),
            Err(_) => true,
        };
        if !still_pending {
            return;
        }
        match self
            .secrets
            .update_stage(secret_id, AWSPENDING, None, Some(version_id))
            .await
        {
            Ok(()) => tracing::warn!(
                event = "rotation_abandoned",
                version_id,
                "the rejected version is no longer pending; AWSCURRENT is unchanged"
            ),
            Err(error) => {
                tracing::error!(event = "rotation_cleanup_failed", version_id, error = %error)
            }
        }
    }
}

/// The fields rotation needs, checked; reports the field, never the value.
fn parse(secret_id: &str, text: &str) -> Result<Parsed, RotationError> {
    let secret = MetaSecret::parse(secret_id, text)?;
    let missing = |field| RotationError::Missing {
        secret_id: secret_id.to_owned(),
        field,
    };
    if secret.app_id.trim().is_empty() {
        return Err(missing("app_id"));
    }
    let token = AccessToken::new(secret.access_token.trim());
    if token.is_empty() {
        return Err(missing("access_token"));
    }
    Ok(Parsed {
        app: AppCredentials::new(secret.app_id.trim(), secret.app_secret.clone()),
        token,
        system_user_id: secret
            .system_user_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
    })
}

/// The secret's JSON with `access_token` replaced and every other field as it was.
fn with_access_token(
    secret_id: &str,
    text: &str,
    token: &AccessToken,
) -> Result<String, RotationError> {
    let malformed = |e: serde_json::Error| SecretError::Malformed {
        secret_id: secret_id.to_owned(),
        line: e.line(),
        column: e.column(),
    };
    let mut fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(malformed)?;
    fields.insert(
        "access_token".to_owned(),
        serde_json::Value::String(token.expose().to_owned()),
    );
    serde_json::to_string(&fields).map_err(|e| malformed(e).into())
}

#[cfg(test)]
#[path = "tests/steps.rs"]
mod tests;
