//! Token rotation end to end: the real `token-rotator` binary (run as Lambda runs it) rotating the Meta secret in
//! moto against the fake Graph API, driven by Secrets Manager rotation events and EventBridge scheduled events;
//! and a media fetcher healing from a revoked token with the rotated one.

use serde_json::{json, Value};
use wavault_tests::fake_graph::{
    MediaBehaviour, ProofStatus, TokenFlaw, DEFAULT_APP_ID, DEFAULT_PHONE_NUMBER_ID,
};
use wavault_tests::lambda_emulator::{Invocation, LambdaProcess};
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::rotation_stack::{spawn_rotator, CurrentStageProxy, RotationStack};
use wavault_tests::webhook_stack::{s, spawn_function, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type Boxed<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const SIXTY_DAYS: f64 = 60.0;
/// The label a merging finishSecret puts on its new version until AWSCURRENT is on it.
const MERGE_STAGE: &str = "WAVAULT_MERGE";

async fn stack(suffix: &str, strategy: &str, extra: &[(&str, &str)]) -> Boxed<RotationStack> {
    let moto = MotoServer::shared()?;
    Ok(RotationStack::start(
        &moto.endpoint(),
        suffix,
        extra,
        &[
            ("ROTATION_STRATEGY", strategy),
            ("PHONE_NUMBER_ID", DEFAULT_PHONE_NUMBER_ID),
        ],
    )
    .await?)
}

fn ok(invocation: Invocation) -> Boxed<Value> {
    match invocation {
        Invocation::Ok(value) => Ok(value),
        other => Err(format!("expected success, got {other:?}").into()),
    }
}

fn failed(invocation: Invocation) -> Boxed<String> {
    match invocation {
        Invocation::FunctionError(e) => Ok(e.error_message),
        other => Err(format!("expected a function error, got {other:?}").into()),
    }
}

/// A ClientRequestToken as Secrets Manager makes them.
fn request_token(n: u32) -> String {
    format!("{n:08x}-1111-4222-8333-444444444444")
}

/// AWSCURRENT holds a token the fake Graph accepts, exactly one version is current and none pending.
async fn assert_settled(r: &RotationStack) -> TestResult {
    let token = r.current_token().await?;
    assert!(r.graph.is_token_valid(&token), "current token is valid");
    let stages = r.stages().await?;
    let count = |stage: &str| {
        stages
            .values()
            .filter(|s| s.iter().any(|x| x == stage))
            .count()
    };
    assert_eq!(count("AWSCURRENT"), 1, "{stages:?}");
    assert_eq!(count("AWSPENDING"), 0, "nothing left pending: {stages:?}");
    assert_eq!(count(MERGE_STAGE), 0, "no merge label left: {stages:?}");
    Ok(())
}

/// Tokens minted or exchanged successfully so far.
fn issued(r: &RotationStack) -> usize {
    r.graph
        .requests()
        .iter()
        .filter(|q| {
            q.status == 200
                && (q.path.ends_with("/oauth/access_token") || q.path.ends_with("/access_tokens"))
        })
        .count()
}

/// No token or secret text in any captured line, and every Graph call carried a valid appsecret_proof.
fn assert_clean(process: &LambdaProcess, r: &RotationStack) {
    assert_clean_of(process, r, &[]);
}

/// [`assert_clean`], also for `more` secrets (values an operator put into the secret).
fn assert_clean_of(process: &LambdaProcess, r: &RotationStack, more: &[&str]) {
    let logs = process.logs().join("\n");
    let mut secrets = vec![
        ACCESS_TOKEN.to_owned(),
        APP_SECRET.to_owned(),
        VERIFY_TOKEN.to_owned(),
    ];
    secrets.extend(more.iter().map(|s| s.to_string()));
    secrets.extend(r.graph.last_issued_token());
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs:\n{logs}"
        );
    }
    for (path, proof) in r.graph.appsecret_proof_checks() {
        assert_eq!(
            proof,
            ProofStatus::Valid,
            "{path} without a valid appsecret_proof"
        );
    }
}

/// The last EMF document the function printed that names `metric`.
fn emf(process: &LambdaProcess, metric: &str) -> Option<Value> {
    process
        .logs()
        .iter()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|doc| doc.get("_aws").is_some() && doc.get(metric).is_some())
}

#[tokio::test]
async fn a_scheduled_exchange_rotation_tests_then_promotes_a_new_token() -> TestResult {
    let r = stack("rot-exchange", "exchange", &[("operator_note", "kept")]).await?;
    let old_version = r.version_at("AWSCURRENT").await?.ok_or("no current")?;
    let answer = ok(r.scheduled().await?)?;

    let new_version = r.version_at("AWSCURRENT").await?.ok_or("no current")?;
    assert_ne!(new_version, old_version);
    assert_eq!(answer["version_id"], json!(new_version));
    assert_eq!(answer["resumed"], json!(false));
    let outcomes: Vec<&str> = answer["steps"]
        .as_array()
        .ok_or("steps")?
        .iter()
        .filter_map(|s| s["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["created", "nothing_to_set", "tested", "finished"]
    );
    let days = answer["days_to_expiry"].as_f64().ok_or("days")?;
    assert!((days - SIXTY_DAYS).abs() < 1.0, "{days}");

    assert_settled(&r).await?;
    let token = r.current_token().await?;
    assert_eq!(Some(token.clone()), r.graph.last_issued_token());
    assert_eq!(r.version_at("AWSPREVIOUS").await?, Some(old_version));
    // Every other field copied.
    let current = r.json_at("AWSCURRENT").await?;
    let previous = r.json_at("AWSPREVIOUS").await?;
    for field in ["app_id", "app_secret", "verify_token", "operator_note"] {
        assert_eq!(current[field], previous[field], "{field}");
    }
    assert_eq!(previous["access_token"], json!(ACCESS_TOKEN));
    // The old token is not revoked: readers holding it keep working until they refresh.
    assert!(r.graph.is_token_valid(ACCESS_TOKEN));
    // The phone number was read with the new token (testSecret), and debug_token was used.
    let paths: Vec<String> = r.graph.requests().iter().map(|q| q.path.clone()).collect();
    assert!(paths
        .iter()
        .any(|p| p.ends_with(&format!("/{DEFAULT_PHONE_NUMBER_ID}"))));
    assert!(paths.iter().any(|p| p.ends_with("/debug_token")));

    let metrics = emf(&r.rotator, "TokenDaysToExpiry").ok_or("no EMF line")?;
    assert_eq!(metrics["TokenRotated"], json!(1));
    assert_eq!(metrics["TokenRotationFailed"], json!(0));
    assert!((metrics["TokenDaysToExpiry"].as_f64().unwrap_or(0.0) - SIXTY_DAYS).abs() < 1.0);
    assert_clean(&r.rotator, &r);
    Ok(())
}

#[tokio::test]
async fn the_system_user_strategy_mints_a_token_for_the_system_user() -> TestResult {
    let r = stack(
        "rot-sysuser",
        "system_user",
        &[("system_user_id", "200000000000001")],
    )
    .await?;
    ok(r.rotator.invoke(json!({"action": "rotate"})).await?)?;
    assert_settled(&r).await?;
    assert_eq!(Some(r.current_token().await?), r.graph.last_issued_token());
    let mints: Vec<_> = r
        .graph
        .requests()
        .into_iter()
        .filter(|q| q.path.ends_with("/200000000000001/access_tokens"))
        .collect();
    assert_eq!(mints.len(), 1);
    assert_eq!(mints[0].method, "POST");
    assert_eq!(mints[0].status, 200);
    assert_eq!(mints[0].appsecret_proof, ProofStatus::Valid);
    assert!(
        !r.graph
            .requests()
            .iter()
            .any(|q| q.path.ends_with("/oauth/access_token")),
        "no exchange"
    );
    assert_eq!(
        r.json_at("AWSCURRENT").await?["system_user_id"],
        json!("200000000000001")
    );
    assert_clean(&r.rotator, &r);

    // Without a system_user_id in the secret the strategy cannot work: a loud failure, nothing changed.
    let bare = stack("rot-sysuser-bare", "system_user", &[]).await?;
    let message = failed(bare.scheduled().await?)?;
    assert!(message.contains("system_user_id"), "{message}");
    assert_eq!(bare.current_token().await?, ACCESS_TOKEN);
    assert!(emf(&bare.rotator, "TokenRotationFailed")
        .is_some_and(|m| m["TokenRotationFailed"] == json!(1)));
    Ok(())
}

#[tokio::test]
async fn secrets_manager_events_run_one_step_each_and_reruns_change_nothing() -> TestResult {
    let r = stack("rot-sm-steps", "exchange", &[]).await?;
    let token = request_token(1);
    let old_version = r.version_at("AWSCURRENT").await?.ok_or("no current")?;

    let created = ok(r.step("createSecret", &token).await?)?;
    assert_eq!(
        created,
        json!({"step": "createSecret", "outcome": "created", "days_to_expiry": 3650.0})
    );
    assert_eq!(r.version_at("AWSPENDING").await?, Some(token.clone()));
    assert_eq!(
        r.version_at("AWSCURRENT").await?,
        Some(old_version.clone()),
        "current untouched"
    );
    assert_eq!(r.current_token().await?, ACCESS_TOKEN);
    let pending_token = r.json_at("AWSPENDING").await?["access_token"].clone();
    assert_eq!(
        Some(pending_token.clone()),
        r.graph.last_issued_token().map(Value::from)
    );

    // Secrets Manager may deliver a step twice.
    let again = ok(r.step("createSecret", &token).await?)?;
    assert_eq!(again["outcome"], json!("already_pending"));
    assert_eq!(
        r.json_at("AWSPENDING").await?["access_token"],
        pending_token,
        "no second token"
    );
    assert_eq!(
        ok(r.step("setSecret", &token).await?)?["outcome"],
        json!("nothing_to_set")
    );
    assert_eq!(
        ok(r.step("testSecret", &token).await?)?["outcome"],
        json!("tested")
    );
    assert_eq!(
        r.version_at("AWSCURRENT").await?,
        Some(old_version.clone()),
        "still untouched"
    );
    assert_eq!(
        ok(r.step("finishSecret", &token).await?)?["outcome"],
        json!("finished")
    );

    assert_eq!(r.version_at("AWSCURRENT").await?, Some(token.clone()));
    assert_eq!(r.version_at("AWSPREVIOUS").await?, Some(old_version));
    assert_settled(&r).await?;
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        assert_eq!(
            ok(r.step(step, &token).await?)?["outcome"],
            json!("already_current"),
            "{step}"
        );
    }
    assert_settled(&r).await?;
    assert_eq!(issued(&r), 1);

    // A step for a version that is not being rotated is refused.
    let message = failed(r.step("testSecret", &request_token(99)).await?)?;
    assert!(message.contains("not staged AWSPENDING"), "{message}");
    let message = failed(r.rotator.invoke(json!({"hello": "world"})).await?)?;
    assert!(message.contains("unrecognised event"), "{message}");
    assert_clean(&r.rotator, &r);
    Ok(())
}

#[tokio::test]
async fn a_token_failing_test_secret_never_becomes_current_and_leaves_nothing_pending() -> TestResult
{
    let r = stack("rot-flawed", "exchange", &[]).await?;
    for flaw in [TokenFlaw::Invalid, TokenFlaw::MissingScopes] {
        r.graph.flaw_next_token(flaw);
        let message = failed(r.scheduled().await?)?;
        assert!(message.contains("failed testSecret"), "{message}");
        assert_eq!(
            r.current_token().await?,
            ACCESS_TOKEN,
            "AWSCURRENT unchanged"
        );
        assert_eq!(
            r.version_at("AWSPENDING").await?,
            None,
            "AWSPENDING cleaned up"
        );
        let metrics = emf(&r.rotator, "TokenRotationFailed").ok_or("no EMF line")?;
        assert_eq!(metrics["TokenRotationFailed"], json!(1));
        // The current token was still checked: it never expires.
        assert_eq!(metrics["TokenDaysToExpiry"], json!(3650.0));
    }
    // Through Secrets Manager's steps: the rotation fails at testSecret and AWSCURRENT stays.
    r.graph.flaw_next_token(TokenFlaw::Invalid);
    let token = request_token(2);
    ok(r.step("createSecret", &token).await?)?;
    ok(r.step("setSecret", &token).await?)?;
    let message = failed(r.step("testSecret", &token).await?)?;
    assert!(message.contains("not valid"), "{message}");
    assert_eq!(r.current_token().await?, ACCESS_TOKEN);
    // The next scheduled run retests the leftover, drops it, and the one after rotates.
    failed(r.scheduled().await?)?;
    assert_eq!(r.version_at("AWSPENDING").await?, None);
    ok(r.scheduled().await?)?;
    assert_settled(&r).await?;
    assert_ne!(r.current_token().await?, ACCESS_TOKEN);
    assert_clean(&r.rotator, &r);
    Ok(())
}

#[tokio::test]
async fn a_graph_failure_fails_the_run_loudly_and_the_next_run_succeeds() -> TestResult {
    let r = stack("rot-graph-down", "exchange", &[]).await?;
    r.graph.fail_next_token_call(500, 2);
    let message = failed(r.scheduled().await?)?;
    assert!(message.contains("oauth/access_token"), "{message}");
    assert_eq!(r.current_token().await?, ACCESS_TOKEN);
    assert_eq!(r.version_at("AWSPENDING").await?, None);
    ok(r.scheduled().await?)?;
    assert_settled(&r).await?;
    assert_clean(&r.rotator, &r);
    Ok(())
}

#[tokio::test]
async fn a_crash_after_each_step_then_a_rerun_ends_with_a_valid_current_token() -> TestResult {
    let r = stack("rot-crash", "exchange", &[]).await?;
    let steps = ["createSecret", "setSecret", "testSecret", "finishSecret"];
    let mut expected_issued = 0;
    for done in 1..=steps.len() {
        let token = request_token(done as u32);
        for step in &steps[..done] {
            ok(r.step(step, &token).await?)?;
        }
        // The function "dies" here; the tokens readers see must still be valid.
        assert!(r.graph.is_token_valid(&r.current_token().await?));
        // The next schedule resumes the interrupted rotation (or, when it had finished, rotates again).
        let answer = ok(r.scheduled().await?)?;
        assert_eq!(
            answer["resumed"],
            json!(done < steps.len()),
            "after {done} steps"
        );
        if done < steps.len() {
            assert_eq!(
                answer["version_id"],
                json!(token),
                "the pending version was completed"
            );
        }
        expected_issued += if done < steps.len() { 1 } else { 2 };
        assert_eq!(
            issued(&r),
            expected_issued,
            "after {done} steps: no token minted twice"
        );
        assert_settled(&r).await?;
    }

    // A crash inside finishSecret, between moving AWSCURRENT and removing AWSPENDING.
    let token = request_token(10);
    for step in &steps[..3] {
        ok(r.step(step, &token).await?)?;
    }
    r.move_current_to(&token).await?;
    let stages = r.stages().await?;
    assert!(
        stages[&token].iter().any(|s| s == "AWSPENDING")
            && stages[&token].iter().any(|s| s == "AWSCURRENT")
    );
    // Secrets Manager retrying finishSecret completes it...
    assert_eq!(
        ok(r.step("finishSecret", &token).await?)?["outcome"],
        json!("already_current")
    );
    assert_settled(&r).await?;
    // ...and so does the schedule.
    let token = request_token(11);
    for step in &steps[..3] {
        ok(r.step(step, &token).await?)?;
    }
    r.move_current_to(&token).await?;
    let answer = ok(r.scheduled().await?)?;
    assert_eq!(answer["version_id"], json!(token));
    assert_settled(&r).await?;
    assert_clean(&r.rotator, &r);
    Ok(())
}

#[tokio::test]
async fn an_operator_edit_during_a_pending_rotation_survives_the_finish() -> TestResult {
    const NEW_APP_SECRET: &str = "reset-at-meta-app-secret";
    const NEW_VERIFY_TOKEN: &str = "operator-new-verify-token";
    const THIRD_VERIFY_TOKEN: &str = "operator-third-verify-token";
    let r = stack("rot-edit", "exchange", &[("operator_note", "before")]).await?;
    let token = request_token(1);
    ok(r.step("createSecret", &token).await?)?;
    let pending_token = r.json_at("AWSPENDING").await?["access_token"].clone();

    // The operator resets the app secret at Meta and puts the secret back as `put-secret-value` does: the new
    // app secret (the old one kept for webhooks signed with it), a new verify token, a field of their own added
    // and one removed, the access token as it was.
    r.graph.set_app(DEFAULT_APP_ID, NEW_APP_SECRET);
    let mut edited = r.json_at("AWSCURRENT").await?;
    edited["app_secret"] = json!(NEW_APP_SECRET);
    edited["previous_app_secret"] = json!(APP_SECRET);
    edited["verify_token"] = json!(NEW_VERIFY_TOKEN);
    edited["escalation_contact"] = json!("ops-oncall");
    edited
        .as_object_mut()
        .ok_or("secret is not an object")?
        .remove("operator_note");
    let edited_version = r.operator_put(&edited).await?;
    assert_eq!(r.version_at("AWSPENDING").await?, Some(token.clone()));

    assert_eq!(
        ok(r.step("setSecret", &token).await?)?["outcome"],
        json!("nothing_to_set")
    );
    // testSecret judges the pending token with the app secret AWSCURRENT holds now (Meta refuses the old one).
    assert_eq!(
        ok(r.step("testSecret", &token).await?)?["outcome"],
        json!("tested")
    );
    assert_eq!(
        ok(r.step("finishSecret", &token).await?)?["outcome"],
        json!("merged")
    );
    let mut expected = edited.clone();
    expected["access_token"] = pending_token.clone();
    assert_eq!(
        r.json_at("AWSCURRENT").await?,
        expected,
        "the edit survives, with the new token"
    );
    assert_eq!(r.version_at("AWSPREVIOUS").await?, Some(edited_version));
    assert_settled(&r).await?;
    // Secrets Manager delivering a step again changes nothing.
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        assert_eq!(
            ok(r.step(step, &token).await?)?["outcome"],
            json!("already_current"),
            "{step}"
        );
    }
    assert_eq!(r.json_at("AWSCURRENT").await?, expected);
    assert_eq!(issued(&r), 1);

    assert_clean_of(&r.rotator, &r, &[NEW_APP_SECRET, NEW_VERIFY_TOKEN]);

    // A pending version left by an interrupted run, an edit, then the schedule resuming the stale version (a
    // secret of its own: see `operator_put` for why the edit must come before any rotation finished).
    let r = stack("rot-edit-resumed", "exchange", &[]).await?;
    ok(r.step("createSecret", &request_token(2)).await?)?;
    let pending_token = r.json_at("AWSPENDING").await?["access_token"].clone();
    let mut again = r.json_at("AWSCURRENT").await?;
    again["verify_token"] = json!(THIRD_VERIFY_TOKEN);
    again["escalation_contact"] = json!("ops-oncall");
    r.operator_put(&again).await?;
    let answer = ok(r.scheduled().await?)?;
    assert_eq!(answer["resumed"], json!(true));
    let outcomes: Vec<&str> = answer["steps"]
        .as_array()
        .ok_or("steps")?
        .iter()
        .filter_map(|s| s["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["already_pending", "nothing_to_set", "tested", "merged"]
    );
    assert_eq!(
        Some(answer["version_id"].clone()),
        r.version_at("AWSCURRENT").await?.map(Value::from)
    );
    again["access_token"] = pending_token;
    assert_eq!(
        r.json_at("AWSCURRENT").await?,
        again,
        "the resumed rotation kept the edit"
    );
    assert_settled(&r).await?;
    assert_eq!(issued(&r), 1, "the pending token was used, none minted");
    assert_clean_of(&r.rotator, &r, &[THIRD_VERIFY_TOKEN]);
    Ok(())
}

#[tokio::test]
async fn a_second_rotation_follows_a_successful_one() -> TestResult {
    let r = stack("rot-twice", "exchange", &[]).await?;
    let first = ok(r.scheduled().await?)?["version_id"].clone();
    let first_token = r.current_token().await?;
    let second = ok(r.scheduled().await?)?["version_id"].clone();
    assert_ne!(first, second);
    assert_settled(&r).await?;
    assert_eq!(Some(json!(r.version_at("AWSCURRENT").await?)), Some(second));
    assert_eq!(Some(json!(r.version_at("AWSPREVIOUS").await?)), Some(first));
    assert_ne!(r.current_token().await?, first_token);
    assert_eq!(
        r.json_at("AWSPREVIOUS").await?["access_token"],
        json!(first_token)
    );
    assert_eq!(issued(&r), 2);
    assert_clean(&r.rotator, &r);
    Ok(())
}

#[tokio::test]
async fn a_check_event_reports_days_to_expiry_without_rotating() -> TestResult {
    let r = stack("rot-check", "exchange", &[]).await?;
    let answer = ok(r.rotator.invoke(json!({"action": "check"})).await?)?;
    assert_eq!(answer, json!({"days_to_expiry": 3650.0}));
    assert_eq!(issued(&r), 0);
    // Meta revoked the token: the check reports 0 days (the alarm fires) and rotation cannot help.
    r.graph.revoke_token(ACCESS_TOKEN);
    assert_eq!(
        ok(r.rotator.invoke(json!({"action": "check"})).await?)?["days_to_expiry"],
        json!(0.0)
    );
    assert_eq!(
        emf(&r.rotator, "TokenDaysToExpiry").ok_or("no EMF")?["TokenDaysToExpiry"],
        json!(0.0)
    );
    failed(r.scheduled().await?)?;
    assert_eq!(r.current_token().await?, ACCESS_TOKEN);
    assert_clean(&r.rotator, &r);
    Ok(())
}

#[tokio::test]
async fn a_fetcher_refused_with_190_refreshes_and_archives_with_the_rotated_token() -> TestResult {
    let moto = MotoServer::shared()?;
    let mut m = MediaStack::start(&moto.endpoint(), "rot-reader").await?;
    m.graph.set_app(DEFAULT_APP_ID, APP_SECRET);
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    let secret_id = m.webhook.stack.meta_secret_id.clone();
    // The fetcher reads the secret as on AWS (see CurrentStageProxy for moto's default-version quirk).
    let proxy = CurrentStageProxy::start(&moto.endpoint())?;
    m.fetcher = spawn_function(
        "media-fetcher",
        &m.webhook.stack,
        &proxy.endpoint(),
        &m.graph.base_url(),
        &[("META_SECRET_ID", secret_id.as_str())],
    )?;
    let rotator = spawn_rotator(
        &moto.endpoint(),
        "rot-reader",
        &secret_id,
        &m.graph.base_url(),
        &[("PHONE_NUMBER_ID", DEFAULT_PHONE_NUMBER_ID)],
    )?;

    // The fetcher works, and now caches the current token.
    m.graph.add_media(
        "r-before",
        vec![1u8; 1000],
        "image/jpeg",
        MediaBehaviour::Ok,
    );
    m.receive_media("wamid.R.BEFORE", "image", "r-before", "image/jpeg")
        .await?;
    assert!(m.fetch_round().await?.retried.is_empty());

    // The schedule rotates; then Meta revokes the old token.
    match rotator
        .invoke(wavault_tests::rotation_stack::scheduled_event())
        .await?
    {
        Invocation::Ok(_) => {}
        other => return Err(format!("rotation failed: {other:?}").into()),
    }
    let rotated = m.graph.last_issued_token().ok_or("no token issued")?;
    m.graph.revoke_token(ACCESS_TOKEN);

    // The fetcher's cached token is refused (190): it refreshes the secret and succeeds with the rotated one.
    m.graph
        .add_media("r-after", vec![2u8; 2000], "image/jpeg", MediaBehaviour::Ok);
    m.receive_media("wamid.R.AFTER", "image", "r-after", "image/jpeg")
        .await?;
    let round = m.fetch_round().await?;
    assert!(round.retried.is_empty(), "{round:?}");
    let item = m.record("wamid.R.AFTER").await?.ok_or("record missing")?;
    assert_eq!(s(&item, "media_status"), Some("archived"), "{item:?}");
    let refused = m
        .graph
        .requests()
        .iter()
        .filter(|q| q.path.ends_with("/r-after") && q.status == 401)
        .count();
    assert_eq!(refused, 1, "one refusal, then the rotated token");
    assert!(m.graph.is_token_valid(&rotated));

    for process in [&rotator, &m.fetcher] {
        let logs = process.logs().join("\n");
        for secret in [ACCESS_TOKEN, rotated.as_str(), APP_SECRET] {
            assert!(
                !logs.contains(secret),
                "a secret reached the logs of {}",
                process.function_name()
            );
        }
    }
    Ok(())
}
