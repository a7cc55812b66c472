//! `wavault replay` with the real binary, the operator's policy through the IAM gateway, against moto: a lost
//! record and its lost media job come back from the journal on their original clock, what is there is left
//! untouched (twice is once), and the summary holds counts only.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;
use wavault_core::records::ItemKey;
use wavault_core::testkit::samples;
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{n, s, ACCESS_TOKEN};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
type Item = HashMap<String, AttributeValue>;

const CONTACT: &str = "15550004411";
const TEXT: &str = "a line only the journal still holds";

/// Runs `wavault replay ARGS` as the operator (`WebhookStack::run_wavault`).
async fn replay(m: &MediaStack, args: &[&str]) -> TestResult<Value> {
    let output = m.webhook.run_wavault(&[&["replay"], args].concat()).await?;
    let stdout = String::from_utf8(output.stdout)?;
    let stderr = String::from_utf8(output.stderr)?;
    assert!(output.status.success(), "wavault replay failed: {stderr}");
    for private in [CONTACT, TEXT, ACCESS_TOKEN] {
        assert!(
            !stdout.contains(private) && !stderr.contains(private),
            "replay printed private data"
        );
    }
    Ok(serde_json::from_str(&stdout)?)
}

async fn get(m: &MediaStack, key: &ItemKey) -> TestResult<Option<Item>> {
    Ok(m.webhook
        .dynamodb
        .get_item()
        .table_name(&m.webhook.stack.table)
        .key("pk", AttributeValue::S(key.pk.clone()))
        .key("sk", AttributeValue::S(key.sk.clone()))
        .consistent_read(true)
        .send()
        .await?
        .item()
        .cloned())
}

#[tokio::test]
async fn a_replay_brings_back_a_lost_record_and_media_job_and_changes_nothing_else() -> TestResult {
    let moto = MotoServer::shared()?;
    let m = MediaStack::start(&moto.endpoint(), "replay").await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    let text = samples::messages_body(
        CONTACT,
        vec![samples::text_message("wamid.RPL.TEXT", CONTACT, TEXT)],
    );
    let media = samples::messages_body(
        CONTACT,
        vec![samples::media_message(
            "wamid.RPL.IMG",
            CONTACT,
            "image",
            "m-rpl-1",
            "image/jpeg",
        )],
    );
    for body in [&text, &media] {
        assert_eq!(m.webhook.post_signed(body).await?.status, 200);
    }
    let text_key = ItemKey::message(&m.webhook.stack.message_key("wamid.RPL.TEXT"));
    let media_key = ItemKey::message(&m.webhook.stack.message_key("wamid.RPL.IMG"));
    let original = get(&m, &text_key).await?.ok_or("text record")?;
    let original_media = get(&m, &media_key).await?.ok_or("media record")?;

    // Both records are lost (say, a bug deleted them), and so is the media job.
    for key in [&text_key, &media_key] {
        m.webhook
            .dynamodb
            .delete_item()
            .table_name(&m.webhook.stack.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .send()
            .await?;
    }
    assert_eq!(m.webhook.drain_jobs().await?.len(), 1);

    let summary = replay(&m, &["--since", "2020-01-01", "--progress-every", "1"]).await?;
    assert_eq!(summary["command"], "replay");
    assert_eq!(summary["objects"], 2, "{summary}");
    assert_eq!(summary["records_created"], 2, "{summary}");
    assert_eq!(summary["media_jobs_enqueued"], 1, "{summary}");
    let back = get(&m, &text_key).await?.ok_or("recreated")?;
    assert_eq!(back, original, "the same item, on its original clock");

    // The lost media job is sent again: the fetcher archives the file from it.
    m.graph.add_media(
        "m-rpl-1",
        vec![9u8; 4_096],
        "image/jpeg",
        wavault_tests::fake_graph::MediaBehaviour::Ok,
    );
    let round = m.fetch_round().await?;
    assert_eq!(round.media_ids, vec!["m-rpl-1".to_owned()], "{round:?}");
    assert!(round.retried.is_empty(), "{round:?}");

    // The media is archived now: a second replay creates nothing and overwrites nothing.
    let archived = get(&m, &media_key).await?.ok_or("media record")?;
    assert_eq!(s(&archived, "media_status"), Some("archived"));
    let items_before = m.webhook.items().await?;
    let again = replay(
        &m,
        &["--key", s(&back, "journal_key").ok_or("journal_key")?],
    )
    .await?;
    assert_eq!(again["objects"], 1, "{again}");
    assert_eq!(again["records_created"], 0, "{again}");
    assert_eq!(m.webhook.items().await?, items_before);
    assert!(m.webhook.drain_jobs().await?.is_empty());
    // On its own original clock (the two bodies may have arrived in different seconds).
    assert_eq!(
        n(&archived, "received_at"),
        n(&original_media, "received_at")
    );
    Ok(())
}

/// The same replay as a Lambda action of the media fetcher (its own role, through the IAM gateway), for ranges too
/// large for an operator's machine: one run per invocation, each starting after the last key the one before
/// replayed, until the answer says done. Everything lost comes back once; an unreadable request fails instead of
/// replaying something else.
#[tokio::test]
async fn the_fetchers_replay_action_brings_back_lost_records_in_runs() -> TestResult {
    let moto = MotoServer::shared()?;
    let m = MediaStack::start(&moto.endpoint(), "replay-lambda").await?;
    let mut keys = Vec::new();
    for i in 0..3 {
        let wamid = format!("wamid.RPL.L{i}");
        let body =
            samples::messages_body(CONTACT, vec![samples::text_message(&wamid, CONTACT, TEXT)]);
        assert_eq!(m.webhook.post_signed(&body).await?.status, 200);
        keys.push(ItemKey::message(&m.webhook.stack.message_key(&wamid)));
    }
    let originals = {
        let mut items = Vec::new();
        for key in &keys {
            items.push(get(&m, key).await?.ok_or("record")?);
        }
        items
    };
    for key in &keys {
        m.webhook
            .dynamodb
            .delete_item()
            .table_name(&m.webhook.stack.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .send()
            .await?;
    }

    // A request it cannot read fails the invocation (a typo never replays everything, nor sweeps).
    let refused = m
        .fetcher
        .invoke(serde_json::json!({"action": "replay", "sinse": 0}))
        .await?;
    assert!(
        matches!(
            refused,
            wavault_tests::lambda_emulator::Invocation::FunctionError(_)
        ),
        "{refused:?}"
    );

    // Runs of one object each (`max_objects`; without it a run replays what fits in its 300 s, up to 5,000
    // listed objects): `start_after` chains them.
    let mut start_after = Value::Null;
    let mut runs = 0;
    let mut created = 0;
    loop {
        runs += 1;
        let answer = match m
            .fetcher
            .invoke(serde_json::json!({
                "action": "replay", "since": 0, "start_after": start_after,
                "max_objects": 1,
            }))
            .await?
        {
            wavault_tests::lambda_emulator::Invocation::Ok(answer) => answer,
            other => return Err(format!("replay run failed: {other:?}").into()),
        };
        created += answer["records_created"].as_u64().unwrap_or(0);
        assert!(
            !answer.to_string().contains(CONTACT) && !answer.to_string().contains(TEXT),
            "counts and journal keys only"
        );
        if answer["next"].is_null() {
            break;
        }
        start_after = answer["next"].clone();
        assert!(runs < 10, "the runs move on");
    }
    assert_eq!(created, 3, "every lost record, once");
    assert_eq!(runs, 3, "one object a run, and the last run says done");
    for (key, original) in keys.iter().zip(&originals) {
        assert_eq!(get(&m, key).await?.as_ref(), Some(original), "as it was");
    }
    Ok(())
}
