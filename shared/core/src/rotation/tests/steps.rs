//! Unit tests of `rotation`: the step logic over in-memory ports (a Secrets Manager with staging
//! labels, injectable crashes and operator edits, and a Graph API that issues and inspects
//! tokens).
use super::*;
use crate::clock::FixedClock;
use crate::rotation::*;
use crate::testkit::memory::MemoryMetrics;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

const SECRET: &str = "meta";
const APP_ID: &str = "100000000000001";
const APP_SECRET: &str = "app-secret-value";
const OLD_TOKEN: &str = "EAAGoldTOKENvalue";
/// The app secret after the operator reset it at Meta (and put it into the secret).
const NEW_APP_SECRET: &str = "reset-app-secret-value";
const NEW_VERIFY_TOKEN: &str = "verify-me-again";
const OTHER_APP_ID: &str = "100000000000999";
const NOW: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

// -- in-memory Secrets Manager ----------------------------------------------------------------

#[derive(Default)]
struct Versions {
    /// version id -> (value, stages)
    versions: BTreeMap<String, (Option<String>, Vec<String>)>,
    /// Writes (put, stage updates) that succeed before every call fails: a crash.
    writes_left: Option<usize>,
    crashed: bool,
    /// An operator's `put-secret-value` that lands just before the write after this many more.
    edit_before_write: Option<(usize, String)>,
    operator_puts: usize,
}

#[derive(Default)]
struct MemoryVersions(Mutex<Versions>);

fn crash() -> PortError {
    PortError::unavailable("secretsmanager", "injected crash")
}

impl MemoryVersions {
    fn with_current(text: &str) -> Self {
        let store = Self::default();
        store.lock().versions.insert(
            "v0-initial-version-000000000000000".to_owned(),
            (Some(text.to_owned()), vec![AWSCURRENT.to_owned()]),
        );
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The process "dies" after `writes` more successful writes.
    fn crash_after(&self, writes: usize) {
        let mut s = self.lock();
        s.writes_left = Some(writes);
        s.crashed = false;
    }

    fn recover(&self) {
        let mut s = self.lock();
        s.writes_left = None;
        s.crashed = false;
    }

    /// The operator's `aws secretsmanager put-secret-value` (no stage): a new version becomes
    /// `AWSCURRENT`, the old current `AWSPREVIOUS`; `AWSPENDING` stays where it is. Its id.
    fn operator_put(&self, text: &str) -> String {
        Self::put_current(&mut self.lock(), text)
    }

    fn put_current(s: &mut Versions, text: &str) -> String {
        s.operator_puts += 1;
        let id = format!("op-{}-version-0000000000000000000000000", s.operator_puts);
        for (_, stages) in s.versions.values_mut() {
            stages.retain(|st| st != "AWSPREVIOUS");
            if stages.iter().any(|st| st == AWSCURRENT) {
                stages.retain(|st| st != AWSCURRENT);
                stages.push("AWSPREVIOUS".to_owned());
            }
        }
        s.versions.insert(
            id.clone(),
            (Some(text.to_owned()), vec![AWSCURRENT.to_owned()]),
        );
        id
    }

    /// The operator's put lands just before the rotator's write after `writes` more (a race
    /// with a step that already read the secret).
    fn edit_before_write(&self, writes: usize, text: &str) {
        self.lock().edit_before_write = Some((writes, text.to_owned()));
    }

    fn check(&self, write: bool) -> Result<(), PortError> {
        let mut s = self.lock();
        if s.crashed {
            return Err(crash());
        }
        if write {
            match s.edit_before_write.take() {
                Some((0, text)) => {
                    Self::put_current(&mut s, &text);
                }
                Some((n, text)) => s.edit_before_write = Some((n - 1, text)),
                None => {}
            }
            match s.writes_left {
                Some(0) => {
                    s.crashed = true;
                    return Err(crash());
                }
                Some(n) => s.writes_left = Some(n - 1),
                None => {}
            }
        }
        Ok(())
    }

    fn at(&self, stage: &str) -> Option<(String, String)> {
        self.lock()
            .versions
            .iter()
            .find(|(_, (_, stages))| stages.iter().any(|s| s == stage))
            .map(|(id, (text, _))| (id.clone(), text.clone().unwrap_or_default()))
    }

    fn current_token(&self) -> String {
        let (_, text) = self.at(AWSCURRENT).expect("a current version");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["access_token"].as_str().unwrap().to_owned()
    }

    fn current_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.at(AWSCURRENT).unwrap().1).unwrap()
    }

    fn labelled(&self, stage: &str) -> usize {
        self.lock()
            .versions
            .values()
            .filter(|(_, stages)| stages.iter().any(|s| s == stage))
            .count()
    }
}

#[async_trait]
impl SecretVersions for MemoryVersions {
    async fn versions(&self, _secret_id: &str) -> Result<Vec<SecretVersion>, PortError> {
        self.check(false)?;
        Ok(self
            .lock()
            .versions
            .iter()
            .filter(|(_, (_, stages))| !stages.is_empty())
            .map(|(id, (_, stages))| SecretVersion {
                version_id: id.clone(),
                stages: stages.clone(),
            })
            .collect())
    }

    async fn value_at_stage(
        &self,
        _secret_id: &str,
        stage: &str,
    ) -> Result<Option<VersionValue>, PortError> {
        self.check(false)?;
        Ok(self
            .at(stage)
            .map(|(version_id, text)| VersionValue { version_id, text }))
    }

    async fn value_of_version(
        &self,
        _secret_id: &str,
        version_id: &str,
    ) -> Result<Option<VersionValue>, PortError> {
        self.check(false)?;
        Ok(self
            .lock()
            .versions
            .get(version_id)
            .and_then(|(text, _)| text.clone())
            .map(|text| VersionValue {
                version_id: version_id.to_owned(),
                text,
            }))
    }

    async fn put_staged(
        &self,
        _secret_id: &str,
        version_id: &str,
        text: &str,
        stage: &str,
    ) -> Result<(), PortError> {
        self.check(true)?;
        let mut s = self.lock();
        if let Some((Some(existing), _)) = s.versions.get(version_id) {
            if existing == text {
                return Ok(());
            }
            return Err(PortError::failed(
                "secretsmanager",
                "ResourceExistsException",
            ));
        }
        for (_, stages) in s.versions.values_mut() {
            stages.retain(|st| st != stage);
        }
        s.versions.insert(
            version_id.to_owned(),
            (Some(text.to_owned()), vec![stage.to_owned()]),
        );
        Ok(())
    }

    async fn update_stage(
        &self,
        _secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<(), PortError> {
        self.check(true)?;
        let mut s = self.lock();
        let invalid = |detail: &str| PortError::failed("secretsmanager", detail.to_owned());
        if let Some(from) = remove_from {
            let (_, stages) = s
                .versions
                .get_mut(from)
                .ok_or_else(|| invalid("no such version"))?;
            if !stages.iter().any(|st| st == stage) {
                return Err(invalid("stage not on RemoveFromVersionId"));
            }
            stages.retain(|st| st != stage);
        }
        if let Some(to) = move_to {
            let holder = s
                .versions
                .iter()
                .find(|(id, (_, stages))| id.as_str() != to && stages.iter().any(|st| st == stage))
                .map(|(id, _)| id.clone());
            if holder.is_some() {
                return Err(invalid(
                    "stage attached elsewhere: RemoveFromVersionId required",
                ));
            }
            let (_, stages) = s
                .versions
                .get_mut(to)
                .ok_or_else(|| invalid("no such version"))?;
            if !stages.iter().any(|st| st == stage) {
                stages.push(stage.to_owned());
            }
        }
        if stage == AWSCURRENT {
            if let Some(from) = remove_from {
                for (_, stages) in s.versions.values_mut() {
                    stages.retain(|st| st != "AWSPREVIOUS");
                }
                if let Some((_, stages)) = s.versions.get_mut(from) {
                    stages.push("AWSPREVIOUS".to_owned());
                }
            }
        }
        Ok(())
    }
}

// -- in-memory Graph ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flaw {
    Invalid,
    MissingScope,
    OtherApp,
    Expired,
}

#[derive(Default)]
struct Tokens {
    info: BTreeMap<String, TokenInfo>,
    issued: usize,
    flaw: Option<Flaw>,
    fail_next_issue: Option<GraphErrorKind>,
    phones: Vec<String>,
    /// (call, token) of every call that presented a token.
    calls: Vec<(&'static str, String)>,
    /// The app secret Meta accepts (the operator may reset it); `None`: [`APP_SECRET`].
    app_secret: Option<String>,
    /// (token inspected, app secret of the app token) of every `debug_token` call.
    inspected_with: Vec<(String, String)>,
}

#[derive(Default)]
struct MemoryGraph(Mutex<Tokens>);

fn healthy(expires_at: i64) -> TokenInfo {
    TokenInfo {
        is_valid: true,
        app_id: Some(APP_ID.to_owned()),
        expires_at: Some(expires_at),
        scopes: WHATSAPP_SCOPES.iter().map(|s| s.to_string()).collect(),
    }
}

impl MemoryGraph {
    fn new() -> Self {
        let graph = Self::default();
        graph.lock().info.insert(OLD_TOKEN.to_owned(), healthy(0));
        graph.lock().phones.push("555".to_owned());
        graph
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn issued(&self) -> usize {
        self.lock().issued
    }

    fn valid(&self, token: &str) -> bool {
        self.lock().info.get(token).is_some_and(|i| i.is_valid)
    }

    /// The operator resets the app secret at Meta: only `secret` works from now on.
    fn reset_app_secret(&self, secret: &str) {
        self.lock().app_secret = Some(secret.to_owned());
    }

    fn revoke(&self, token: &str) {
        if let Some(info) = self.lock().info.get_mut(token) {
            info.is_valid = false;
        }
    }

    fn issue(
        &self,
        app: &AppCredentials,
        presented: &AccessToken,
    ) -> Result<IssuedToken, GraphError> {
        let mut t = self.lock();
        t.calls.push(("issue", presented.expose().to_owned()));
        if let Some(kind) = t.fail_next_issue.take() {
            return Err(GraphError {
                kind,
                http_status: Some(500),
                code: None,
                reason: "injected",
            });
        }
        if app.app_secret() != t.app_secret.as_deref().unwrap_or(APP_SECRET)
            || !t.info.get(presented.expose()).is_some_and(|i| i.is_valid)
        {
            return Err(crate::graph::classify(401, Some(190), false));
        }
        t.issued += 1;
        let token = format!("EAAGnew{}", t.issued);
        let mut info = healthy(NOW + 60 * DAY);
        match t.flaw.take() {
            Some(Flaw::Invalid) => info.is_valid = false,
            Some(Flaw::MissingScope) => info.scopes.retain(|s| s != "whatsapp_business_messaging"),
            Some(Flaw::OtherApp) => info.app_id = Some("999".to_owned()),
            Some(Flaw::Expired) => info.expires_at = Some(NOW - 1),
            None => {}
        }
        t.info.insert(token.clone(), info);
        Ok(IssuedToken {
            token: AccessToken::new(token),
            expires_in: Some(60 * DAY as u64),
        })
    }
}

#[async_trait]
impl TokenGraph for MemoryGraph {
    async fn exchange(
        &self,
        app: &AppCredentials,
        current: &AccessToken,
    ) -> Result<IssuedToken, GraphError> {
        self.issue(app, current)
    }

    async fn mint_system_user_token(
        &self,
        app: &AppCredentials,
        system_user_id: &str,
        admin: &AccessToken,
    ) -> Result<IssuedToken, GraphError> {
        assert_eq!(system_user_id, "su-1");
        self.issue(app, admin)
    }

    async fn debug_token(
        &self,
        app: &AppCredentials,
        token: &AccessToken,
    ) -> Result<TokenInfo, GraphError> {
        assert!(
            [APP_ID, OTHER_APP_ID].contains(&app.app_id()),
            "unknown app"
        );
        let mut t = self.lock();
        t.calls.push(("debug_token", token.expose().to_owned()));
        t.inspected_with
            .push((token.expose().to_owned(), app.app_secret().to_owned()));
        // The app token `{app_id}|{app_secret}` with a secret Meta no longer knows is refused.
        if app.app_secret() != t.app_secret.as_deref().unwrap_or(APP_SECRET) {
            return Err(crate::graph::classify(400, Some(190), false));
        }
        Ok(t.info.get(token.expose()).cloned().unwrap_or_default())
    }

    async fn phone_number(
        &self,
        _app: &AppCredentials,
        token: &AccessToken,
        phone_number_id: &str,
    ) -> Result<(), GraphError> {
        let valid = self.valid(token.expose());
        let t = self.lock();
        if !valid {
            return Err(crate::graph::classify(401, Some(190), false));
        }
        if !t.phones.iter().any(|p| p == phone_number_id) {
            return Err(crate::graph::classify(400, Some(100), false));
        }
        Ok(())
    }
}

// -- fixtures ----------------------------------------------------------------------------------

fn secret_json(extra: &[(&str, &str)]) -> String {
    let mut value = serde_json::json!({
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "verify_token": "verify-me",
        "access_token": OLD_TOKEN,
        "previous_app_secret": "older-app-secret",
        "operator_note": "kept as is",
    });
    for (k, v) in extra {
        value[*k] = serde_json::json!(v);
    }
    value.to_string()
}

struct Fixture {
    store: Arc<MemoryVersions>,
    graph: Arc<MemoryGraph>,
    metrics: Arc<MemoryMetrics>,
    rotator: Rotator,
}

fn fixture(strategy: RotationStrategy, phone: Option<&str>, extra: &[(&str, &str)]) -> Fixture {
    let store = Arc::new(MemoryVersions::with_current(&secret_json(extra)));
    let graph = Arc::new(MemoryGraph::new());
    let metrics = Arc::new(MemoryMetrics::default());
    let rotator = Rotator {
        secrets: store.clone(),
        graph: graph.clone(),
        clock: Arc::new(FixedClock::at(NOW)),
        metrics: metrics.clone(),
        strategy,
        phone_number_id: phone.map(str::to_owned),
    };
    Fixture {
        store,
        graph,
        metrics,
        rotator,
    }
}

fn version(n: u32) -> String {
    format!("{n:08}-0000-4000-8000-000000000000")
}

fn rotate(n: u32) -> RotationRequest {
    RotationRequest::Rotate {
        secret_id: SECRET.to_owned(),
        fresh_version_id: version(n),
    }
}

fn step(step: RotationStep, n: u32) -> RotationRequest {
    RotationRequest::Step {
        secret_id: SECRET.to_owned(),
        step,
        version_id: version(n),
    }
}

/// AWSCURRENT holds a token Meta accepts, and nothing is pending.
fn assert_settled(f: &Fixture) {
    assert!(
        f.graph.valid(&f.store.current_token()),
        "current token valid"
    );
    assert_eq!(f.store.labelled(AWSCURRENT), 1);
    assert_eq!(f.store.labelled(AWSPENDING), 0, "nothing left pending");
    assert_eq!(f.store.labelled(MERGE_STAGE), 0, "no merge label left");
}

/// The secret as the operator puts it back while a rotation is pending: the app secret reset at
/// Meta (the old one kept as `previous_app_secret` for webhooks signed with it), a new verify
/// token, a field of their own added and one removed; `access_token` as it was.
fn edited_json(extra: &[(&str, &str)]) -> serde_json::Value {
    let mut value = serde_json::json!({
        "app_id": APP_ID,
        "app_secret": NEW_APP_SECRET,
        "verify_token": NEW_VERIFY_TOKEN,
        "access_token": OLD_TOKEN,
        "previous_app_secret": APP_SECRET,
        "escalation_contact": "ops-oncall",
    });
    for (k, v) in extra {
        value[*k] = serde_json::json!(v);
    }
    value
}

/// `edited` with `token`: what AWSCURRENT must hold after the rotation.
fn with_token(edited: &serde_json::Value, token: &str) -> serde_json::Value {
    let mut expected = edited.clone();
    expected["access_token"] = serde_json::json!(token);
    expected
}

/// The operator resets the app secret at Meta and puts `edited` into AWSCURRENT. Its version id.
fn operator_edits(f: &Fixture, edited: &serde_json::Value) -> String {
    if edited["app_secret"] == NEW_APP_SECRET {
        f.graph.reset_app_secret(NEW_APP_SECRET);
    }
    f.store.operator_put(&edited.to_string())
}

// -- tests -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_scheduled_exchange_rotation_makes_a_new_token_current_and_keeps_every_other_field() {
    let f = fixture(RotationStrategy::Exchange, Some("555"), &[]);
    let outcome = f.rotator.handle(rotate(1)).await.unwrap();
    let report = outcome.rotation.unwrap();
    assert_eq!(report.version_id, version(1));
    assert!(!report.resumed);
    assert_eq!(
        report.steps,
        vec![
            (RotationStep::CreateSecret, StepOutcome::Created),
            (RotationStep::SetSecret, StepOutcome::NothingToSet),
            (RotationStep::TestSecret, StepOutcome::Tested),
            (RotationStep::FinishSecret, StepOutcome::Finished),
        ]
    );
    assert_settled(&f);
    assert_eq!(f.store.current_token(), "EAAGnew1");
    let current = f.store.current_json();
    let mut expected: serde_json::Value = serde_json::from_str(&secret_json(&[])).unwrap();
    expected["access_token"] = serde_json::json!("EAAGnew1");
    assert_eq!(current, expected, "every other field copied");
    let (previous, _) = f.store.at("AWSPREVIOUS").unwrap();
    assert_eq!(previous, "v0-initial-version-000000000000000");
    assert_eq!(f.metrics.get(METRIC_ROTATED), 1);
    assert_eq!(f.metrics.get(METRIC_ROTATION_FAILED), 0);
    let days = f.metrics.gauge_value(METRIC_DAYS_TO_EXPIRY).unwrap();
    assert!((days - 60.0).abs() < 0.01, "{days}");
    assert_eq!(outcome.days_to_expiry, Some(days));
}

#[tokio::test]
async fn the_system_user_strategy_mints_with_the_current_token_and_needs_the_system_user_id() {
    let f = fixture(
        RotationStrategy::SystemUser,
        None,
        &[("system_user_id", "su-1")],
    );
    f.rotator.handle(rotate(1)).await.unwrap();
    assert_settled(&f);
    assert_eq!(f.store.current_token(), "EAAGnew1");
    assert_eq!(f.store.current_json()["system_user_id"], "su-1");
    assert!(f
        .graph
        .lock()
        .calls
        .contains(&("issue", OLD_TOKEN.to_owned())));

    let f = fixture(RotationStrategy::SystemUser, None, &[]);
    let error = f.rotator.handle(rotate(1)).await.unwrap_err();
    assert!(matches!(error, RotationError::Missing { .. }), "{error}");
    assert!(error.to_string().contains("system_user_id"));
    assert_eq!(f.metrics.get(METRIC_ROTATION_FAILED), 1);
    assert_eq!(f.store.current_token(), OLD_TOKEN);
    assert_eq!(f.graph.issued(), 0);
}

#[tokio::test]
async fn a_token_failing_test_secret_never_becomes_current_and_the_schedule_cleans_up() {
    for flaw in [
        Flaw::Invalid,
        Flaw::MissingScope,
        Flaw::OtherApp,
        Flaw::Expired,
    ] {
        let f = fixture(RotationStrategy::Exchange, None, &[]);
        f.graph.lock().flaw = Some(flaw);
        let error = f.rotator.handle(rotate(1)).await.unwrap_err();
        assert!(error.is_rejection(), "{error}");
        assert_eq!(f.store.current_token(), OLD_TOKEN, "AWSCURRENT untouched");
        assert_eq!(f.store.labelled(AWSPENDING), 0, "AWSPENDING removed");
        assert_eq!(f.metrics.get(METRIC_ROTATION_FAILED), 1);
        assert_eq!(f.metrics.get(METRIC_ROTATED), 0);
        // The current token is still checked and reported.
        assert_eq!(
            f.metrics.gauge_value(METRIC_DAYS_TO_EXPIRY),
            Some(NEVER_EXPIRES_DAYS)
        );
        // The next run starts afresh and succeeds.
        f.rotator.handle(rotate(2)).await.unwrap();
        assert_settled(&f);
        assert_eq!(f.store.current_token(), "EAAGnew2");
    }
}

#[tokio::test]
async fn a_token_that_cannot_read_the_phone_number_is_rejected() {
    let f = fixture(RotationStrategy::Exchange, Some("777"), &[]);
    let error = f.rotator.handle(rotate(1)).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert!(error.to_string().contains("phone number"));
    assert_eq!(f.store.current_token(), OLD_TOKEN);
    assert_eq!(f.store.labelled(AWSPENDING), 0);
}

#[tokio::test]
async fn secrets_manager_steps_run_one_by_one_and_each_is_idempotent() {
    let f = fixture(RotationStrategy::Exchange, Some("555"), &[]);
    for s in RotationStep::ALL {
        let first = f.rotator.handle(step(s, 7)).await.unwrap();
        let again = f.rotator.handle(step(s, 7)).await.unwrap();
        let expected_again = match s {
            RotationStep::CreateSecret => StepOutcome::AlreadyPending,
            RotationStep::FinishSecret => StepOutcome::AlreadyCurrent,
            _ => first.step.unwrap().1,
        };
        assert_eq!(again.step, Some((s, expected_again)), "{s:?}");
    }
    assert_settled(&f);
    assert_eq!(f.graph.issued(), 1, "one token minted");
    assert_eq!(f.metrics.get(METRIC_ROTATED), 1);
    // A late rerun of any step after the rotation finished changes nothing.
    for s in RotationStep::ALL {
        let late = f.rotator.handle(step(s, 7)).await.unwrap();
        assert_eq!(late.step, Some((s, StepOutcome::AlreadyCurrent)));
    }
    assert_settled(&f);
}

#[tokio::test]
async fn a_secrets_manager_test_failure_leaves_current_alone_and_the_version_pending() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    f.graph.lock().flaw = Some(Flaw::Invalid);
    f.rotator
        .handle(step(RotationStep::CreateSecret, 3))
        .await
        .unwrap();
    f.rotator
        .handle(step(RotationStep::SetSecret, 3))
        .await
        .unwrap();
    let error = f
        .rotator
        .handle(step(RotationStep::TestSecret, 3))
        .await
        .unwrap_err();
    assert!(error.is_rejection());
    assert_eq!(f.store.current_token(), OLD_TOKEN);
    assert_eq!(f.metrics.get(METRIC_ROTATION_FAILED), 1);
    // Secrets Manager retries the same rotation: still rejected, still not current.
    assert!(f
        .rotator
        .handle(step(RotationStep::TestSecret, 3))
        .await
        .is_err());
    assert_eq!(f.store.current_token(), OLD_TOKEN);
    // The schedule (or the next rotation) takes the rejected version out of the way.
    assert!(f
        .rotator
        .handle(rotate(4))
        .await
        .unwrap_err()
        .is_rejection());
    assert_eq!(f.store.labelled(AWSPENDING), 0);
    f.rotator.handle(rotate(5)).await.unwrap();
    assert_settled(&f);
}

#[tokio::test]
async fn steps_out_of_order_or_for_unknown_versions_fail_without_touching_current() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    for s in [
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ] {
        let error = f.rotator.handle(step(s, 9)).await.unwrap_err();
        assert!(matches!(error, RotationError::NotPending { .. }), "{error}");
    }
    assert_eq!(f.store.current_token(), OLD_TOKEN);
    assert_eq!(f.graph.issued(), 0);
}

#[tokio::test]
async fn a_crash_after_any_write_then_a_rerun_ends_with_a_valid_current_token() {
    // The rotation writes three times: put AWSPENDING, move AWSCURRENT, remove AWSPENDING.
    for writes in 0..=3 {
        for rerun_by_schedule in [true, false] {
            let f = fixture(RotationStrategy::Exchange, Some("555"), &[]);
            f.store.crash_after(writes);
            let first = f.rotator.rotate(SECRET, &version(1)).await;
            assert_eq!(first.is_ok(), writes == 3, "writes {writes}: {first:?}");
            f.store.recover();
            assert!(
                f.graph.valid(&f.store.current_token()),
                "valid even mid-way"
            );
            if rerun_by_schedule {
                // The next schedule resumes the pending version, if any.
                f.rotator.rotate(SECRET, &version(2)).await.unwrap();
            } else {
                // Secrets Manager retries the rotation's steps with the same token.
                for s in RotationStep::ALL {
                    f.rotator.step(SECRET, s, &version(1)).await.unwrap();
                }
            }
            assert_settled(&f);
            // A crash before the pending version is written wastes the token minted for it; a
            // schedule after a finished rotation simply rotates again.
            let fresh_rotation = rerun_by_schedule && (writes == 0 || writes == 3);
            let expected_mints = if writes == 0 || fresh_rotation { 2 } else { 1 };
            assert_eq!(f.graph.issued(), expected_mints, "writes {writes}");
            let expected_version = if fresh_rotation {
                version(2)
            } else {
                version(1)
            };
            assert_eq!(f.store.at(AWSCURRENT).unwrap().0, expected_version);
        }
    }
}

#[tokio::test]
async fn a_crash_inside_finish_is_completed_by_the_rerun() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    f.store.crash_after(2); // AWSCURRENT moved, AWSPENDING still on the new version
    assert!(f.rotator.rotate(SECRET, &version(1)).await.is_err());
    f.store.recover();
    assert_eq!(f.store.at(AWSCURRENT).unwrap().0, version(1));
    assert_eq!(f.store.at(AWSPENDING).unwrap().0, version(1));
    let report = f.rotator.rotate(SECRET, &version(2)).await.unwrap();
    assert!(report.resumed);
    assert_eq!(report.version_id, version(1));
    assert_settled(&f);
    assert_eq!(f.graph.issued(), 1);
}

#[tokio::test]
async fn an_operator_edit_between_create_and_finish_survives_and_the_new_token_becomes_current() {
    let f = fixture(RotationStrategy::Exchange, Some("555"), &[]);
    let created = f
        .rotator
        .handle(step(RotationStep::CreateSecret, 1))
        .await
        .unwrap();
    assert_eq!(created.step.unwrap().1, StepOutcome::Created);
    let edited = edited_json(&[]);
    let edited_id = operator_edits(&f, &edited);
    let mut outcomes = Vec::new();
    for s in [
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ] {
        outcomes.push(f.rotator.handle(step(s, 1)).await.unwrap().step.unwrap().1);
    }
    assert_eq!(
        outcomes,
        [
            StepOutcome::NothingToSet,
            StepOutcome::Tested,
            StepOutcome::Merged
        ]
    );
    // Every field the operator wrote (and only those: operator_note was dropped), the new token.
    assert_eq!(f.store.current_json(), with_token(&edited, "EAAGnew1"));
    assert_settled(&f);
    let (current_id, _) = f.store.at(AWSCURRENT).unwrap();
    assert_eq!(current_id, merged_version_id(&version(1), &edited_id));
    assert_eq!(f.store.at("AWSPREVIOUS").unwrap().0, edited_id);
    // testSecret judged the new token with the app secret AWSCURRENT holds now.
    assert!(f
        .graph
        .lock()
        .inspected_with
        .contains(&("EAAGnew1".to_owned(), NEW_APP_SECRET.to_owned())));
    assert_eq!(f.metrics.get(METRIC_ROTATED), 1);
    assert_eq!(f.metrics.get(METRIC_ROTATION_FAILED), 0);
    // Secrets Manager delivering any step again changes nothing and mints nothing.
    for s in RotationStep::ALL {
        let late = f.rotator.handle(step(s, 1)).await.unwrap();
        assert_eq!(late.step, Some((s, StepOutcome::AlreadyCurrent)), "{s:?}");
    }
    assert_eq!(f.store.at(AWSCURRENT).unwrap().0, current_id);
    assert_eq!(f.store.current_json(), with_token(&edited, "EAAGnew1"));
    assert_eq!(f.graph.issued(), 1);
    assert_eq!(f.metrics.get(METRIC_ROTATED), 1);
}

#[tokio::test]
async fn a_resumed_stale_pending_rotation_does_not_revert_an_edit() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    // A scheduled run dies right after putting AWSPENDING.
    f.store.crash_after(1);
    assert!(f.rotator.rotate(SECRET, &version(1)).await.is_err());
    f.store.recover();
    assert_eq!(f.store.at(AWSPENDING).unwrap().0, version(1));
    // Days later the operator edits the secret; then the schedule resumes the stale version.
    let edited = edited_json(&[("system_user_id", "su-1")]);
    let edited_id = operator_edits(&f, &edited);
    let report = f.rotator.rotate(SECRET, &version(2)).await.unwrap();
    assert!(report.resumed);
    assert_eq!(
        report.steps,
        vec![
            (RotationStep::CreateSecret, StepOutcome::AlreadyPending),
            (RotationStep::SetSecret, StepOutcome::NothingToSet),
            (RotationStep::TestSecret, StepOutcome::Tested),
            (RotationStep::FinishSecret, StepOutcome::Merged),
        ]
    );
    assert_eq!(
        report.version_id,
        merged_version_id(&version(1), &edited_id),
        "the report names the version now current"
    );
    assert_eq!(f.store.at(AWSCURRENT).unwrap().0, report.version_id);
    assert_eq!(f.store.current_json(), with_token(&edited, "EAAGnew1"));
    assert_eq!(
        f.graph.issued(),
        1,
        "the pending token was used, none minted"
    );
    assert_settled(&f);
    // The next rotation starts from the edited secret.
    let next = f.rotator.rotate(SECRET, &version(3)).await.unwrap();
    assert_eq!(
        next.steps[3],
        (RotationStep::FinishSecret, StepOutcome::Finished)
    );
    assert_eq!(f.store.current_json(), with_token(&edited, "EAAGnew2"));
    assert_settled(&f);
}

#[tokio::test]
async fn an_edit_landing_during_finish_fails_the_move_and_the_retry_keeps_it() {
    // Without an earlier edit: the move of AWSCURRENT names the version finishSecret read.
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    for s in [RotationStep::CreateSecret, RotationStep::TestSecret] {
        f.rotator.step(SECRET, s, &version(1)).await.unwrap();
    }
    let edited = edited_json(&[]);
    f.store.edit_before_write(0, &edited.to_string());
    f.graph.reset_app_secret(NEW_APP_SECRET);
    let error = f
        .rotator
        .step(SECRET, RotationStep::FinishSecret, &version(1))
        .await
        .unwrap_err();
    assert!(matches!(error, RotationError::Store(_)), "{error}");
    assert_eq!(f.store.current_json(), edited, "the edit is not reverted");
    assert_eq!(f.store.at(AWSPENDING).unwrap().0, version(1));
    let retry = f
        .rotator
        .step(SECRET, RotationStep::FinishSecret, &version(1))
        .await
        .unwrap();
    assert_eq!(retry, StepOutcome::Merged);
    assert_eq!(f.store.current_json(), with_token(&edited, "EAAGnew1"));
    assert_settled(&f);

    // A second edit landing between the merged version's put and the move.
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    f.rotator
        .step(SECRET, RotationStep::CreateSecret, &version(1))
        .await
        .unwrap();
    operator_edits(&f, &edited);
    let again = edited_json(&[("verify_token", "verify-me-third")]);
    f.store.edit_before_write(1, &again.to_string());
    let error = f
        .rotator
        .step(SECRET, RotationStep::FinishSecret, &version(1))
        .await
        .unwrap_err();
    assert!(matches!(error, RotationError::Store(_)), "{error}");
    assert_eq!(f.store.current_json(), again);
    let retry = f.rotator.rotate(SECRET, &version(2)).await.unwrap();
    assert!(retry.resumed);
    assert_eq!(retry.steps[3].1, StepOutcome::Merged);
    assert_eq!(f.store.current_json(), with_token(&again, "EAAGnew1"));
    assert_settled(&f);
}

#[tokio::test]
async fn a_crash_after_any_write_of_a_merging_finish_then_a_rerun_keeps_the_edit() {
    // A merging finishSecret writes four times: put the merged version, move AWSCURRENT, take
    // the merge label off, take AWSPENDING off.
    for writes in 0..=4 {
        for rerun_by_schedule in [true, false] {
            let f = fixture(RotationStrategy::Exchange, Some("555"), &[]);
            f.rotator
                .step(SECRET, RotationStep::CreateSecret, &version(1))
                .await
                .unwrap();
            let edited = edited_json(&[]);
            let edited_id = operator_edits(&f, &edited);
            f.rotator
                .step(SECRET, RotationStep::TestSecret, &version(1))
                .await
                .unwrap();
            f.store.crash_after(writes);
            let first = f
                .rotator
                .step(SECRET, RotationStep::FinishSecret, &version(1))
                .await;
            assert_eq!(first.is_ok(), writes == 4, "writes {writes}: {first:?}");
            f.store.recover();
            // Mid-way, readers get a valid token and the operator's fields.
            assert!(f.graph.valid(&f.store.current_token()), "writes {writes}");
            let mut now = f.store.current_json();
            now["access_token"] = serde_json::json!(OLD_TOKEN);
            assert_eq!(now, edited, "never reverted, writes {writes}");
            if rerun_by_schedule {
                f.rotator.rotate(SECRET, &version(2)).await.unwrap();
            } else {
                for s in RotationStep::ALL {
                    f.rotator.step(SECRET, s, &version(1)).await.unwrap();
                }
            }
            assert_settled(&f);
            let fresh_rotation = rerun_by_schedule && writes == 4;
            let token = if fresh_rotation {
                "EAAGnew2"
            } else {
                "EAAGnew1"
            };
            assert_eq!(
                f.store.current_json(),
                with_token(&edited, token),
                "writes {writes}, schedule {rerun_by_schedule}"
            );
            assert_eq!(f.graph.issued(), if fresh_rotation { 2 } else { 1 });
            if !fresh_rotation {
                assert_eq!(
                    f.store.at(AWSCURRENT).unwrap().0,
                    merged_version_id(&version(1), &edited_id),
                    "one merged version, whatever the crash"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_pending_token_of_another_app_never_becomes_current() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    for s in [RotationStep::CreateSecret, RotationStep::TestSecret] {
        f.rotator.step(SECRET, s, &version(1)).await.unwrap();
    }
    // The operator points the secret at another app after testSecret.
    let other = edited_json(&[("app_id", OTHER_APP_ID), ("app_secret", APP_SECRET)]);
    f.store.operator_put(&other.to_string());
    let error = f
        .rotator
        .step(SECRET, RotationStep::FinishSecret, &version(1))
        .await
        .unwrap_err();
    assert!(matches!(error, RotationError::AppChanged { .. }), "{error}");
    assert!(error.is_rejection());
    assert_eq!(f.store.current_json(), other, "AWSCURRENT untouched");
    // The schedule retests the leftover against the new app, refuses it and drops it.
    let error = f.rotator.rotate(SECRET, &version(2)).await.unwrap_err();
    assert!(error.is_rejection(), "{error}");
    assert_eq!(f.store.labelled(AWSPENDING), 0);
    assert_eq!(f.store.current_json(), other);
    let text = format!("{error} {error:?}");
    for secret in [OLD_TOKEN, "EAAGnew1", APP_SECRET, NEW_VERIFY_TOKEN] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn a_merge_takes_the_token_from_pending_and_everything_else_from_current() {
    let pending: Fields = serde_json::from_str(
        &with_access_token(SECRET, &secret_json(&[]), &AccessToken::new("EAAGnew1")).unwrap(),
    )
    .unwrap();
    let current: Fields = serde_json::from_value(edited_json(&[])).unwrap();
    let merged = merge(&current, &pending);
    assert_eq!(
        serde_json::Value::Object(merged),
        with_token(&edited_json(&[]), "EAAGnew1")
    );
    assert_eq!(
        changed_fields(&pending, &current),
        [
            "app_secret",
            "escalation_contact",
            "operator_note",
            "previous_app_secret",
            "verify_token"
        ],
        "names only, token fields left out"
    );
    let id = merged_version_id(&version(1), "v0");
    assert_eq!(id, merged_version_id(&version(1), "v0"), "deterministic");
    assert_ne!(id, merged_version_id(&version(1), "v1"));
    assert_ne!(id, merged_version_id(&version(2), "v0"));
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
}

#[tokio::test]
async fn a_second_rotation_follows_the_first() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    f.rotator.handle(rotate(1)).await.unwrap();
    f.rotator.handle(rotate(2)).await.unwrap();
    assert_settled(&f);
    assert_eq!(f.store.current_token(), "EAAGnew2");
    assert_eq!(f.store.at("AWSPREVIOUS").unwrap().0, version(1));
    assert_eq!(f.metrics.get(METRIC_ROTATED), 2);
    // Exchanged with the first rotated token, not the original one.
    assert!(f
        .graph
        .lock()
        .calls
        .contains(&("issue", "EAAGnew1".to_owned())));
}

#[tokio::test]
async fn graph_failures_fail_the_run_and_leave_nothing_pending() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    f.graph.lock().fail_next_issue = Some(GraphErrorKind::Transient);
    let error = f.rotator.handle(rotate(1)).await.unwrap_err();
    assert!(matches!(error, RotationError::Graph { .. }), "{error}");
    assert_eq!(f.store.labelled(AWSPENDING), 0);
    assert_eq!(f.metrics.get(METRIC_ROTATION_FAILED), 1);
    // A revoked current token cannot be exchanged: the run fails loudly, the check reports 0 days.
    f.graph.revoke(OLD_TOKEN);
    assert!(f.rotator.handle(rotate(2)).await.is_err());
    assert_eq!(f.metrics.gauge_value(METRIC_DAYS_TO_EXPIRY), Some(0.0));
    assert_eq!(f.metrics.get(METRIC_ROTATION_FAILED), 2);
}

#[tokio::test]
async fn a_check_reports_days_to_expiry_and_fails_only_on_its_own_errors() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    let check = RotationRequest::Check {
        secret_id: SECRET.to_owned(),
    };
    let outcome = f.rotator.handle(check.clone()).await.unwrap();
    assert_eq!(outcome.days_to_expiry, Some(NEVER_EXPIRES_DAYS));
    assert_eq!(f.graph.issued(), 0, "a check rotates nothing");
    f.graph
        .lock()
        .info
        .insert(OLD_TOKEN.to_owned(), healthy(NOW + 10 * DAY));
    f.rotator.handle(check.clone()).await.unwrap();
    assert_eq!(f.metrics.gauge_value(METRIC_DAYS_TO_EXPIRY), Some(10.0));
    f.graph.revoke(OLD_TOKEN);
    assert_eq!(
        f.rotator
            .handle(check.clone())
            .await
            .unwrap()
            .days_to_expiry,
        Some(0.0)
    );

    let broken = fixture(RotationStrategy::Exchange, None, &[]);
    broken.store.lock().versions.clear();
    let error = broken.rotator.handle(check).await.unwrap_err();
    assert!(matches!(error, RotationError::NoCurrent { .. }));
    assert_eq!(broken.metrics.get(METRIC_ROTATION_FAILED), 1);
}

#[tokio::test]
async fn no_token_or_secret_reaches_an_error_or_a_debug_string() {
    let f = fixture(RotationStrategy::Exchange, None, &[]);
    f.graph.lock().flaw = Some(Flaw::Invalid);
    let error = f.rotator.handle(rotate(1)).await.unwrap_err();
    let text = format!("{error} {error:?}");
    for secret in [OLD_TOKEN, "EAAGnew1", APP_SECRET, "verify-me"] {
        assert!(!text.contains(secret), "{text}");
    }
    let app = AppCredentials::new(APP_ID, APP_SECRET);
    let debug = format!(
        "{:?} {:?} {:?} {:?}",
        app,
        app.app_token(),
        AccessToken::new(OLD_TOKEN),
        VersionValue {
            version_id: "v".into(),
            text: secret_json(&[])
        }
    );
    for secret in [OLD_TOKEN, APP_SECRET, "verify-me"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[tokio::test]
async fn a_malformed_or_incomplete_secret_is_reported_by_field() {
    let store = Arc::new(MemoryVersions::with_current(
        r#"{"app_id":"","app_secret":"s3cr3t","verify_token":"v","access_token":"EAAGxyz"}"#,
    ));
    let rotator = Rotator {
        secrets: store.clone(),
        graph: Arc::new(MemoryGraph::new()),
        clock: Arc::new(FixedClock::at(NOW)),
        metrics: Arc::new(MemoryMetrics::default()),
        strategy: RotationStrategy::Exchange,
        phone_number_id: None,
    };
    let error = rotator.rotate(SECRET, &version(1)).await.unwrap_err();
    assert!(error.to_string().contains("app_id"), "{error}");
    store.lock().versions.clear();
    store.lock().versions.insert(
        "v".into(),
        (Some("{not json EAAGxyz".into()), vec![AWSCURRENT.into()]),
    );
    let error = rotator.rotate(SECRET, &version(1)).await.unwrap_err();
    assert!(!error.to_string().contains("EAAGxyz"), "{error}");
}

#[test]
fn verdicts_name_the_problem() {
    let ok = healthy(NOW + DAY);
    assert_eq!(verdict(&ok, APP_ID, NOW), Ok(()));
    assert_eq!(verdict(&healthy(0), APP_ID, NOW), Ok(()), "never expires");
    assert!(verdict(&healthy(NOW), APP_ID, NOW).is_err(), "expires now");
    assert!(verdict(&ok, "other", NOW).is_err());
    let mut no_scope = ok.clone();
    no_scope.scopes.pop();
    assert!(verdict(&no_scope, APP_ID, NOW).is_err());
    assert!(verdict(&TokenInfo::default(), APP_ID, NOW).is_err());
}

#[test]
fn names_parse_both_ways() {
    for s in RotationStep::ALL {
        assert_eq!(RotationStep::parse(s.as_str()), Some(s));
    }
    assert_eq!(RotationStep::parse("CreateSecret"), None);
    for s in [RotationStrategy::Exchange, RotationStrategy::SystemUser] {
        assert_eq!(RotationStrategy::parse(s.as_str()), Some(s));
    }
    assert_eq!(
        RotationStrategy::parse(" System-User "),
        Some(RotationStrategy::SystemUser)
    );
    assert_eq!(RotationStrategy::parse("refresh"), None);
}

#[test]
fn emf_documents_carry_gauges_beside_counts() {
    let mut counts = BTreeMap::new();
    counts.insert(METRIC_ROTATION_FAILED, 0);
    let mut gauges = BTreeMap::new();
    gauges.insert(METRIC_DAYS_TO_EXPIRY, 59.5);
    gauges.insert("Broken", f64::NAN);
    let doc: serde_json::Value = serde_json::from_str(
        &crate::metrics::EmfMetrics::document_with_gauges("token-rotator", &counts, &gauges, 5)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(doc[METRIC_DAYS_TO_EXPIRY], 59.5);
    assert_eq!(doc[METRIC_ROTATION_FAILED], 0);
    let metrics = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap();
    assert_eq!(metrics.len(), 2, "{metrics:?}");
    assert!(metrics
        .iter()
        .any(|m| m["Name"] == METRIC_DAYS_TO_EXPIRY && m["Unit"] == "None"));
    assert!(doc.get("Broken").is_none());
    assert!(crate::metrics::EmfMetrics::document_with_gauges(
        "f",
        &BTreeMap::new(),
        &BTreeMap::new(),
        5
    )
    .is_none());
}
