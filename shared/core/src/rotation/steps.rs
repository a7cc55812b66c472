//! The four steps as one use case: [`Rotator`].

use crate::clock::Clock;
use crate::error::PortError;
use crate::graph::{GraphError, GraphErrorKind};
use crate::metrics::Metrics;
use crate::rotation::{
    verdict, AccessToken, AppCredentials, SecretVersion, SecretVersions, TokenGraph, VersionValue,
};
use crate::secrets::{MetaSecret, SecretError};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The staging label of the version readers get.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The staging label of a version being rotated in.
pub const AWSPENDING: &str = "AWSPENDING";
/// The staging label a merged version carries from its `PutSecretValue` until `AWSCURRENT` has
/// moved to it ([`Rotator::step`], finishSecret). A put names a label because without one
/// Secrets Manager would make the new version `AWSCURRENT` at once, unconditionally; with it,
/// `AWSCURRENT` moves by `UpdateSecretVersionStage` away from the very version that was merged,
/// which fails if an operator put another version meanwhile. Taken off again at the end.
pub const MERGE_STAGE: &str = "WAVAULT_MERGE";
/// The fields of the Meta secret the rotation owns: what a pending version brings to
/// `AWSCURRENT`. Every other field (`app_id`, `app_secret`, `verify_token`,
/// `previous_app_secret`, `system_user_id`, anything an operator added) belongs to the operator
/// and is taken from `AWSCURRENT` as it is when the rotation finishes.
pub const ROTATED_FIELDS: [&str; 1] = ["access_token"];
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
    /// finishSecret: `AWSCURRENT` names another app than the one the pending token was issued
    /// for, so the token must not become current with it.
    #[error("the app_id of secret {secret_id} changed since version {version_id} was created: its token belongs to the previous app and does not become current")]
    AppChanged {
        secret_id: String,
        version_id: String,
    },
}

impl RotationError {
    /// Whether the pending token itself must not become current (rather than a failure to judge
    /// or to write it): testSecret rejected it, or the app changed under it.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected(_) | Self::AppChanged { .. })
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
    /// finishSecret found `AWSCURRENT` changed since createSecret (an operator's edit) and made
    /// a new version current: `AWSCURRENT`'s fields with the pending version's token.
    Merged,
    /// The version is already `AWSCURRENT`, or its token is, merged into a newer version (a
    /// rerun after the rotation finished).
    AlreadyCurrent,
}

impl StepOutcome {
    /// A new token became `AWSCURRENT` in this step.
    pub fn rotated(self) -> bool {
        matches!(self, Self::Finished | Self::Merged)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::AlreadyPending => "already_pending",
            Self::NothingToSet => "nothing_to_set",
            Self::Tested => "tested",
            Self::Finished => "finished",
            Self::Merged => "merged",
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

/// The secret's JSON object, field by field.
type Fields = serde_json::Map<String, serde_json::Value>;

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
                    if done.rotated() {
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
                    if report.steps.iter().any(|(_, done)| done.rotated()) {
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
        Ok(self.run_step(secret_id, step, version_id).await?.0)
    }

    /// [`step`](Self::step), and the version `AWSCURRENT` is on when this step leaves it
    /// settled (finishSecret, or any step of a rotation that already finished).
    async fn run_step(
        &self,
        secret_id: &str,
        step: RotationStep,
        version_id: &str,
    ) -> Result<(StepOutcome, Option<String>), RotationError> {
        let versions = self.secrets.versions(secret_id).await?;
        let this = versions.iter().find(|v| v.version_id == version_id);
        if let Some(version) = this.filter(|v| v.has(AWSCURRENT)) {
            // The rotation already finished (a rerun, or a crash inside finishSecret).
            if step == RotationStep::FinishSecret && version.has(AWSPENDING) {
                self.secrets
                    .update_stage(secret_id, AWSPENDING, None, Some(version_id))
                    .await?;
            }
            log_step(step, version_id, StepOutcome::AlreadyCurrent);
            return Ok((StepOutcome::AlreadyCurrent, Some(version_id.to_owned())));
        }
        let pending = this.is_some_and(|v| v.has(AWSPENDING));
        if !pending {
            // Not (or no longer) a rotation in progress: a fresh createSecret, a rerun after a
            // finishSecret that merged this version's token into a newer version (which left
            // this one without a label), or a stray step. Decided before anything is minted.
            match self.secrets.value_of_version(secret_id, version_id).await? {
                None if step == RotationStep::CreateSecret => {}
                Some(value) => {
                    if let Some(current) = self.token_is_current(secret_id, &value).await? {
                        log_step(step, version_id, StepOutcome::AlreadyCurrent);
                        return Ok((StepOutcome::AlreadyCurrent, Some(current)));
                    }
                    return Err(not_pending(secret_id, version_id));
                }
                None => return Err(not_pending(secret_id, version_id)),
            }
        }
        let (outcome, current) = match step {
            RotationStep::CreateSecret => {
                (self.create(secret_id, version_id, pending).await?, None)
            }
            // Nothing to change at Meta: the new token is live the moment Meta issues it, and
            // the old one stays valid until it expires or is revoked.
            RotationStep::SetSecret => {
                tracing::info!(
                    event = "rotation_set_secret",
                    version_id,
                    "nothing to change at Meta: the new token is already live there"
                );
                (StepOutcome::NothingToSet, None)
            }
            RotationStep::TestSecret => (self.test(secret_id, version_id).await?, None),
            RotationStep::FinishSecret => {
                let (outcome, current) = self.finish(secret_id, version_id, &versions).await?;
                (outcome, Some(current))
            }
        };
        log_step(step, version_id, outcome);
        Ok((outcome, current))
    }

    /// The whole rotation: resumes the version staged `AWSPENDING` if there is one (an earlier run
    /// was interrupted), else starts one under `fresh_version_id`. A token rejected by testSecret
    /// (or by finishSecret: the app changed) loses its `AWSPENDING` label, so the next run starts
    /// afresh.
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
        let mut current = version_id.clone();
        for step in RotationStep::ALL {
            match self.run_step(secret_id, step, &version_id).await {
                Ok((done, now_current)) => {
                    steps.push((step, done));
                    if let Some(now_current) = now_current {
                        current = now_current;
                    }
                }
                Err(error) => {
                    if error.is_rejection() {
                        self.abandon(secret_id, &version_id).await;
                    }
                    return Err(error);
                }
            }
        }
        Ok(RotationReport {
            version_id: current,
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
            .put_staged(secret_id, version_id, &text, AWSPENDING)
            .await?;
        tracing::info!(
            event = "rotation_token_issued",
            version_id,
            strategy = self.strategy.as_str(),
            expires_in = issued.expires_in
        );
        Ok(StepOutcome::Created)
    }

    /// Judges the pending token with the app as `AWSCURRENT` has it now (an operator may have
    /// changed `app_secret` since createSecret): what finishSecret would make current.
    async fn test(&self, secret_id: &str, version_id: &str) -> Result<StepOutcome, RotationError> {
        let pending = self.pending_value(secret_id, version_id).await?;
        let current = self.current_value(secret_id).await?;
        let candidate = merge(
            &fields(secret_id, &current.text)?,
            &fields(secret_id, &pending.text)?,
        );
        let parsed = parse(secret_id, &to_text(secret_id, &candidate)?)?;
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

    /// finishSecret: makes the pending token current without reverting anything an operator
    /// put into `AWSCURRENT` since createSecret copied it.
    ///
    /// The pending version is a copy of `AWSCURRENT` as it was at createSecret, with the new
    /// token. Moving `AWSCURRENT` to it is right only while `AWSCURRENT` still holds what was
    /// copied; an operator's `put-secret-value` in between (a new `app_secret` with the old one
    /// as `previous_app_secret`, a new `verify_token`, a field of their own), or a rotation
    /// resumed days later, would otherwise be silently reverted. So the token fields
    /// ([`ROTATED_FIELDS`]) come from the pending version and every other field from
    /// `AWSCURRENT` as read here:
    /// - `AWSCURRENT`'s other fields are those of the pending version: `AWSCURRENT` moves to it,
    ///   as Secrets Manager's rotation templates do;
    /// - `AWSCURRENT` already carries the pending token (an earlier finishSecret merged it and
    ///   was interrupted): only the labels are tidied;
    /// - otherwise a new version is written, `AWSCURRENT`'s JSON with the pending token (fields
    ///   added or removed by the operator stay so), and `AWSCURRENT` moves to it; the pending
    ///   version loses `AWSPENDING` and is left unlabelled. Secrets Manager's contract for a
    ///   rotation is met: at the end `AWSPENDING` is on no version, and the new token is in
    ///   `AWSCURRENT`.
    ///
    /// A version's value cannot change, and for Secrets Manager's own rotation the version id
    /// is its `ClientRequestToken`, so the stale copy cannot be rewritten in place, nor (for a
    /// rotation Secrets Manager drives) recreated under a fresh id and retested; merging at
    /// finish serves both triggers and also covers an edit made after testSecret. testSecret
    /// already judges the pending token with `AWSCURRENT`'s app credentials. If `AWSCURRENT`
    /// names another `app_id`, the token (issued for the previous app) is refused instead
    /// ([`RotationError::AppChanged`]).
    ///
    /// Every move of `AWSCURRENT` names the version read here as the one to remove it from, so an
    /// operator's put landing during this step makes the move fail (nothing reverted) and the
    /// retry merges again. The merged version's id is derived from the pending and the current
    /// version ids, so a rerun after a crash at any write puts the same value under the same id
    /// (a no-op) or finds the token already current; writes are ordered so that every crash
    /// leaves either the old `AWSCURRENT` or a current version with the new token, and the
    /// pending version labelled until the end.
    async fn finish(
        &self,
        secret_id: &str,
        version_id: &str,
        versions: &[SecretVersion],
    ) -> Result<(StepOutcome, String), RotationError> {
        let pending = self.pending_value(secret_id, version_id).await?;
        let current = self.current_value(secret_id).await?;
        let pending_fields = fields(secret_id, &pending.text)?;
        let current_fields = fields(secret_id, &current.text)?;
        let merged = merge(&current_fields, &pending_fields);
        let merged_text = to_text(secret_id, &merged)?;
        let issued_for = parse(secret_id, &pending.text)?;
        let now_for = parse(secret_id, &merged_text)?;
        if issued_for.app.app_id() != now_for.app.app_id() {
            return Err(RotationError::AppChanged {
                secret_id: secret_id.to_owned(),
                version_id: version_id.to_owned(),
            });
        }
        let merge_holder = versions
            .iter()
            .find(|v| v.has(MERGE_STAGE))
            .map(|v| v.version_id.as_str());
        if merged == pending_fields {
            // AWSCURRENT is still what createSecret copied (or differs in token fields only).
            self.secrets
                .update_stage(
                    secret_id,
                    AWSCURRENT,
                    Some(version_id),
                    Some(&current.version_id),
                )
                .await?;
            self.settle(secret_id, version_id, merge_holder).await?;
            return Ok((StepOutcome::Finished, version_id.to_owned()));
        }
        if merged == current_fields {
            // The pending token is already current: an earlier finishSecret merged it.
            self.settle(secret_id, version_id, merge_holder).await?;
            return Ok((StepOutcome::AlreadyCurrent, current.version_id));
        }
        let merged_id = merged_version_id(version_id, &current.version_id);
        tracing::info!(
            event = "rotation_merge",
            version_id,
            current_version_id = %current.version_id,
            merged_version_id = %merged_id,
            kept_fields = %changed_fields(&pending_fields, &current_fields).join(","),
            "AWSCURRENT changed since createSecret: its fields are kept, only the token comes from the pending version"
        );
        self.secrets
            .put_staged(secret_id, &merged_id, &merged_text, MERGE_STAGE)
            .await?;
        self.secrets
            .update_stage(
                secret_id,
                AWSCURRENT,
                Some(&merged_id),
                Some(&current.version_id),
            )
            .await?;
        self.settle(secret_id, version_id, Some(&merged_id)).await?;
        Ok((StepOutcome::Merged, merged_id))
    }

    /// The end of finishSecret: [`MERGE_STAGE`] off `merge_holder`, then `AWSPENDING` off the
    /// pending version (last, so an interrupted finish is still found pending and rerun).
    async fn settle(
        &self,
        secret_id: &str,
        version_id: &str,
        merge_holder: Option<&str>,
    ) -> Result<(), RotationError> {
        if let Some(holder) = merge_holder {
            self.secrets
                .update_stage(secret_id, MERGE_STAGE, None, Some(holder))
                .await?;
        }
        self.secrets
            .update_stage(secret_id, AWSPENDING, None, Some(version_id))
            .await?;
        Ok(())
    }

    /// The id of the version `AWSCURRENT` is on when it carries the token fields of `value`
    /// (a version whose token an earlier finishSecret merged into a newer one).
    async fn token_is_current(
        &self,
        secret_id: &str,
        value: &VersionValue,
    ) -> Result<Option<String>, RotationError> {
        let Some(current) = self.secrets.value_at_stage(secret_id, AWSCURRENT).await? else {
            return Ok(None);
        };
        let (this, now) = (
            fields(secret_id, &value.text)?,
            fields(secret_id, &current.text)?,
        );
        let same = ROTATED_FIELDS
            .iter()
            .all(|field| this.get(*field).is_some() && this.get(*field) == now.get(*field));
        Ok(same.then_some(current.version_id))
    }

    async fn pending_value(
        &self,
        secret_id: &str,
        version_id: &str,
    ) -> Result<VersionValue, RotationError> {
        self.secrets
            .value_of_version(secret_id, version_id)
            .await?
            .ok_or_else(|| not_pending(secret_id, version_id))
    }

    async fn current_value(&self, secret_id: &str) -> Result<VersionValue, RotationError> {
        self.secrets
            .value_at_stage(secret_id, AWSCURRENT)
            .await?
            .ok_or_else(|| RotationError::NoCurrent {
                secret_id: secret_id.to_owned(),
            })
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

fn not_pending(secret_id: &str, version_id: &str) -> RotationError {
    RotationError::NotPending {
        secret_id: secret_id.to_owned(),
        version_id: version_id.to_owned(),
    }
}

fn log_step(step: RotationStep, version_id: &str, outcome: StepOutcome) {
    tracing::info!(
        event = "rotation_step",
        step = step.as_str(),
        version_id,
        outcome = outcome.as_str()
    );
}

fn malformed(secret_id: &str, e: &serde_json::Error) -> SecretError {
    SecretError::Malformed {
        secret_id: secret_id.to_owned(),
        line: e.line(),
        column: e.column(),
    }
}

/// The secret's JSON object; reports where it is malformed, never what it holds.
fn fields(secret_id: &str, text: &str) -> Result<Fields, RotationError> {
    serde_json::from_str(text).map_err(|e| malformed(secret_id, &e).into())
}

fn to_text(secret_id: &str, fields: &Fields) -> Result<String, RotationError> {
    serde_json::to_string(fields).map_err(|e| malformed(secret_id, &e).into())
}

/// `current` with the token fields ([`ROTATED_FIELDS`]) of `pending`: every field of `current`
/// but those as it is, including fields only `current` has and without fields it dropped.
fn merge(current: &Fields, pending: &Fields) -> Fields {
    let mut merged = current.clone();
    for field in ROTATED_FIELDS {
        match pending.get(field) {
            Some(value) => merged.insert(field.to_owned(), value.clone()),
            None => merged.remove(field),
        };
    }
    merged
}

/// The names (never the values) of the operator's fields that differ between the two versions.
fn changed_fields<'a>(pending: &'a Fields, current: &'a Fields) -> Vec<&'a str> {
    let mut names: Vec<&str> = pending
        .keys()
        .chain(current.keys())
        .map(String::as_str)
        .filter(|name| !ROTATED_FIELDS.contains(name))
        .filter(|name| pending.get(*name) != current.get(*name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The id of the version finishSecret merges `pending` into while `AWSCURRENT` is on `current`:
/// the same for a rerun over the same versions (so its put is a no-op), another after a further
/// edit. UUID-shaped, as Secrets Manager's `ClientRequestToken` (32 to 64 characters).
fn merged_version_id(pending: &str, current: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"wavault merged version\0")
        .chain_update(pending.as_bytes())
        .chain_update(b"\0")
        .chain_update(current.as_bytes())
        .finalize();
    let hex = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The secret's JSON with `access_token` replaced and every other field as it was.
fn with_access_token(
    secret_id: &str,
    text: &str,
    token: &AccessToken,
) -> Result<String, RotationError> {
    let mut fields = fields(secret_id, text)?;
    fields.insert(
        "access_token".to_owned(),
        serde_json::Value::String(token.expose().to_owned()),
    );
    to_text(secret_id, &fields)
}

#[cfg(test)]
#[path = "tests/steps.rs"]
mod tests;
