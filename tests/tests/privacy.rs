//! Privacy by construction, seen from outside (issue 12 §4): realistic webhooks (tests/fixtures/realistic, ids in
//! Meta's real formats) through the real pipeline on the local stack (the webhook, the media fetcher archiving the
//! photo and sweeping, the ttl-expirer's sweep, the token-rotator's check, `wavault export` per person), then every
//! place that is not encrypted content is read back and searched by value for each person in the fixtures:
//! the key and index attributes of every item (from the template's schema), every S3 object version's key,
//! metadata, headers and tags, the bodies on the media queue and its dead-letter queue, and every log line of
//! every process (the four functions and the CLI). Content (the journal objects, the records' `raw`, the export
//! folder) may hold a person; nothing else may (docs/data.md: "No phone number, profile name or message text
//! appears in a key, an index, a log line or a metric"; issue 12 adds BSUIDs, usernames and wamids).

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use wavault_tests::fake_graph::{MediaBehaviour, DEFAULT_APP_ID, DEFAULT_PHONE_NUMBER_ID};
use wavault_tests::lambda_emulator::{Invocation, LambdaProcess};
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::privacy::{self, Exposure, Person};
use wavault_tests::realistic::{self, ottoline, zephyrine};
use wavault_tests::template::Template;
use wavault_tests::webhook_stack::{function_binary, spawn_function, ACCESS_TOKEN, APP_SECRET};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
/// (place, text) pairs, as the collectors of `wavault_tests::privacy` return them.
type Places = Vec<(String, String)>;

const SUFFIX: &str = "privacy";

/// Everything the stores hold outside encrypted content right now: item key and index attributes, object keys,
/// metadata, headers and tags of every version, the bodies on both queues. `when` labels the snapshot.
async fn stored_places(
    m: &MediaStack,
    key_attributes: &BTreeSet<String>,
    when: &str,
) -> TestResult<Places> {
    let stack = &m.webhook.stack;
    // Straight to moto, not through the IAM gateway: the test reads everything, as an administrator would.
    let sdk = wavault_tests::aws::sdk_config(&m.webhook.endpoint);
    let mut places = privacy::item_keys(stack, &sdk, key_attributes).await?;
    places.extend(privacy::object_keys_and_metadata(stack, &sdk).await?);
    for (queue, url) in [
        ("media queue", &stack.queue_url),
        ("media dead-letter queue", &stack.dlq_url),
    ] {
        places.extend(
            privacy::queue_bodies(&sdk, url)
                .await?
                .into_iter()
                .map(|(place, text)| (place.replace(url.as_str(), queue), text)),
        );
    }
    Ok(places
        .into_iter()
        .map(|(place, text)| (format!("{place} ({when})"), text))
        .collect())
}

/// The place without what makes it one of many (item number, message id, line number, snapshot), for the summary.
fn kind(place: &str) -> String {
    let words: Vec<&str> = place.split(' ').collect();
    match words.as_slice() {
        ["dynamodb", "item", _, "attribute", name, ..] => {
            format!("dynamodb item key/index attribute `{name}`")
        }
        ["s3", "key", key, ..] => format!(
            "s3 object key under {}/",
            key.split('/').next().unwrap_or_default()
        ),
        ["s3", what @ ("metadata" | "header" | "tag"), name, ..] => format!("s3 {what} `{name}`"),
        ["s3", "delete", "marker", ..] => "s3 delete marker key".to_owned(),
        ["sqs", "body", _, "on", queue @ ..] => format!("sqs body on the {}", queue_name(queue)),
        ["sqs", "attribute", name, ..] => format!("sqs message attribute `{name}`"),
        ["log", process, ..] => format!("log line of {process}"),
        _ => place.to_owned(),
    }
}

fn queue_name(words: &[&str]) -> String {
    words
        .iter()
        .take_while(|w| !w.starts_with('('))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ends a function process by its id and waits until it has exited, which the emulator reports only after it
/// has read the process's output to the end: then [`LambdaProcess::logs`] holds every line it wrote.
async fn stop_and_read_logs(process: &LambdaProcess) -> TestResult<Vec<String>> {
    let name = process.function_name().to_owned();
    let pid = process.pid().ok_or_else(|| format!("{name} has no pid"))?;
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: kill(2) on the id of a child this test started; no memory is involved.
    let killed = unsafe { libc::kill(pid, libc::SIGTERM) };
    if killed != 0 {
        return Err(format!("kill {name}: {}", std::io::Error::last_os_error()).into());
    }
    // An invocation queued now can only end with the process's exit (it has no handler for SIGTERM).
    match process
        .invoke_with_timeout(json!({}), Duration::from_secs(60))
        .await
    {
        Err(wavault_tests::Error::LambdaExited { .. }) => Ok(process.logs()),
        other => Err(format!("{name} did not exit after SIGTERM: {other:?}").into()),
    }
}

/// One run of the real `wavault` binary as the operator (the template's operator policy, checked by the IAM
/// gateway), with the stack's environment only: its stdout and stderr lines.
async fn wavault(m: &MediaStack, args: &[&str]) -> TestResult<(Value, Vec<String>)> {
    let env = m.webhook.stack.function_env(
        wavault_tests::iam::Principal::Operator,
        &m.webhook.endpoint,
        "http://127.0.0.1:9",
    )?;
    let output = tokio::process::Command::new(function_binary("wavault")?)
        .args(args)
        .env_clear()
        .envs(env)
        .output()
        .await?;
    let stdout = String::from_utf8(output.stdout)?;
    let stderr = String::from_utf8(output.stderr)?;
    if !output.status.success() {
        return Err(format!("wavault {} failed ({}): {stderr}", args[0], output.status).into());
    }
    let summary = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "wavault {} printed no JSON summary ({e}): {stdout}",
            args[0]
        )
    })?;
    let lines = stdout
        .lines()
        .chain(stderr.lines())
        .map(str::to_owned)
        .collect();
    Ok((summary, lines))
}

/// Exports one person into a fresh temporary folder, removed afterwards; the tool's output lines.
async fn export(m: &MediaStack, label: &str, id_args: &[&str]) -> TestResult<(Value, Vec<String>)> {
    let out = std::env::temp_dir().join(format!(
        "wavault-privacy-export-{label}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.display().to_string();
    let mut args = vec![
        "export",
        "--out",
        out_text.as_str(),
        "--progress-every",
        "1",
    ];
    args.extend_from_slice(id_args);
    let result = wavault(m, &args).await;
    let _ = std::fs::remove_dir_all(&out);
    result
}

async fn invoke_ok(process: &LambdaProcess, event: Value) -> TestResult<Value> {
    match process.invoke(event.clone()).await? {
        Invocation::Ok(value) => Ok(value),
        other => Err(format!(
            "{} failed on {event}: {other:?}\nlogs:\n{}",
            process.function_name(),
            process.logs().join("\n")
        )
        .into()),
    }
}

/// Every exposure of every person among `places`: a summary by place kind and what, then each one.
fn report(people: &[(&str, Person)], places: &Places) -> String {
    let mut summary: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    let mut lines = Vec::new();
    for (label, person) in people {
        for Exposure { place, what } in person.exposures(places) {
            *summary.entry((kind(&place), what)).or_default() += 1;
            lines.push(format!("  {label}: {what} in {place}"));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut text = format!(
        "{} exposure(s) of the fixtures' people outside encrypted content.\n\
         By place kind and what:\n",
        lines.len()
    );
    for ((kind, what), count) in &summary {
        text.push_str(&format!("  {kind}: {what} x{count}\n"));
    }
    text.push_str("Each (person: what in place):\n");
    text.push_str(&lines.join("\n"));
    text
}

#[tokio::test]
async fn no_key_index_object_metadata_queue_body_or_log_line_holds_a_person() -> TestResult {
    let moto = MotoServer::shared()?;
    let m = MediaStack::start(&moto.endpoint(), SUFFIX).await?;
    m.graph.set_app(DEFAULT_APP_ID, APP_SECRET);
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    m.graph.add_media(
        realistic::IMAGE_MEDIA_ID,
        realistic::image_bytes(),
        realistic::IMAGE_MIME_TYPE,
        MediaBehaviour::Ok,
    );
    let expirer = spawn_function(
        "ttl-expirer",
        &m.webhook.stack,
        &moto.endpoint(),
        &m.graph.base_url(),
        &[],
    )?;
    let rotator = wavault_tests::rotation_stack::spawn_rotator(
        &moto.endpoint(),
        SUFFIX,
        &m.webhook.stack.meta_secret_id,
        &m.graph.base_url(),
        &[("PHONE_NUMBER_ID", DEFAULT_PHONE_NUMBER_ID)],
    )?;
    let key_attributes = privacy::key_attributes(&Template::project()?)?;
    let people = realistic::people();

    // Meta delivers the bodies, one webhook each.
    for (name, body) in realistic::fixtures()? {
        let answer = m.webhook.post_signed(&body).await?;
        assert_eq!(answer.status, 200, "{name}.json: {}", answer.body);
    }
    // The media job is on the queue now (the fetcher takes it next): read it where it waits.
    let mut places = stored_places(&m, &key_attributes, "after ingest").await?;
    let jobs: Vec<&String> = places
        .iter()
        .filter(|(place, _)| place.starts_with("sqs body") && place.contains("on media queue"))
        .map(|(_, body)| body)
        .collect();
    assert!(
        jobs.iter()
            .any(|body| body.contains(realistic::IMAGE_MEDIA_ID)),
        "the photo's media job was read on the queue: {jobs:?}"
    );

    // The fetcher archives the photo (a retried job is made visible again at once by fetch_round).
    for _ in 0..5 {
        let round = m.fetch_round().await?;
        assert!(
            round.retried.is_empty(),
            "{round:?}\n{}",
            m.fetcher.logs().join("\n")
        );
        if round.media_ids.is_empty() {
            break;
        }
    }
    let media_keys = m.webhook.keys("media/").await?;
    let [media_key] = media_keys.as_slice() else {
        return Err(format!(
            "one media object expected, found {media_keys:?}\n{}",
            m.fetcher.logs().join("\n")
        )
        .into());
    };
    assert!(
        media_key.ends_with(&format!(
            "/{}.jpg",
            m.webhook.stack.message_key(&realistic::wamids().image)
        )),
        "{media_key}"
    );
    assert!(
        m.webhook.object(media_key).await? == realistic::image_bytes(),
        "the archived photo is the one Graph served"
    );
    // The scheduled runs: the media sweep, the retention sweep (nothing has expired yet), the token check.
    invoke_ok(&m.fetcher, json!({"action": "sweep"})).await?;
    let swept = invoke_ok(&expirer, json!({"action": "sweep"})).await?;
    assert_eq!(swept["records_expired"], 0, "{swept}");
    invoke_ok(&rotator, json!({"action": "check"})).await?;

    // The operator exports each person by an id the tool takes.
    let mut cli_logs = Vec::new();
    let zephyrine_user_id = realistic::zephyrine_user_id();
    let bartholomew_user_id = realistic::bartholomew_user_id();
    for (label, args) in [
        ("zephyrine", ["--wa-id", zephyrine::PHONE]),
        ("bartholomew", ["--user-id", bartholomew_user_id.as_str()]),
        ("ottoline", ["--wa-id", ottoline::OLD_PHONE]),
    ] {
        let (summary, lines) = export(&m, label, &args).await?;
        if label == "zephyrine" {
            assert_eq!(summary["media_files"], 1, "{summary}");
            assert_eq!(summary["media_mismatched"], 0, "{summary}");
            assert_eq!(summary["media_missing"], 0, "{summary}");
        }
        cli_logs.push((format!("wavault-export-{label}"), lines));
    }
    // Her BSUID alone finds her too (the failed status names only that); its lines are checked like the others.
    let (_, lines) = export(&m, "zephyrine-bsuid", &["--user-id", &zephyrine_user_id]).await?;
    cli_logs.push(("wavault-export-zephyrine-bsuid".to_owned(), lines));

    places.extend(stored_places(&m, &key_attributes, "at the end").await?);
    let mut function_logs = Vec::new();
    for process in [&*m.webhook.lambda, &m.fetcher, &expirer, &rotator] {
        function_logs.push((
            process.function_name().to_owned(),
            stop_and_read_logs(process).await?,
        ));
    }

    // The collection can see: items with key attributes, the photo's object key, journal objects, and lines of
    // every process. An empty collection must not pass.
    assert!(
        places
            .iter()
            .any(|(place, _)| place.starts_with("dynamodb item")),
        "no item key attributes collected ({key_attributes:?})"
    );
    assert!(
        places
            .iter()
            .any(|(place, text)| place.starts_with("s3 key") && text == media_key),
        "the photo's object key was not collected"
    );
    assert!(
        places
            .iter()
            .any(|(place, text)| place.starts_with("s3 key") && text.starts_with("journal/")),
        "no journal object key collected"
    );
    for (process, lines) in function_logs.iter().chain(&cli_logs) {
        assert!(!lines.is_empty(), "no log line of {process} was collected");
        places.extend(privacy::log_lines(process, lines));
    }
    let functions: BTreeSet<&str> = function_logs
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        functions,
        BTreeSet::from(["webhook", "media-fetcher", "ttl-expirer", "token-rotator"]),
        "the four functions"
    );
    // And the matcher finds every person where they belong: in the journal (encrypted content).
    let mut journal = Vec::new();
    for key in m.webhook.keys("journal/").await? {
        let body = String::from_utf8(m.webhook.object(&key).await?)?;
        journal.push((format!("journal object {key}"), body));
    }
    for (label, person) in &people {
        assert!(
            !person.exposures(&journal).is_empty(),
            "{label} is not found even in the journal: the matcher or the fixtures are wrong"
        );
    }

    let found = report(&people, &places);
    assert!(
        found.is_empty(),
        "{found}\n({} places searched)",
        places.len()
    );
    Ok(())
}
