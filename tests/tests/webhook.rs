//! The webhook end to end: HTTP -> API Gateway 2.0 event -> the real `webhook` binary under the
//! Runtime API emulator -> real SDK calls against moto (S3, DynamoDB, SQS, Secrets Manager).
//! One moto per test binary; each test provisions its own resources from infra/template.yaml.

use std::collections::HashSet;
use wavault_core::testkit::samples;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{n, s, WebhookStack, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// moto serves one request at a time: the 1000-update batch (2,000+ writes) takes it for itself, so the other
/// tests' calls do not queue behind it for longer than the webhook's AWS timeouts allow (2 s an attempt, 3 s a
/// call: sized for AWS, not for a saturated emulator). The other tests share it.
static MOTO: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn stack(suffix: &str) -> Result<WebhookStack, Box<dyn std::error::Error + Send + Sync>> {
    let moto = MotoServer::shared()?;
    Ok(WebhookStack::start(&moto.endpoint(), suffix, &[]).await?)
}

const WA_ID: &str = "15550001111";

fn image_body(wamid: &str, media_id: &str) -> Vec<u8> {
    samples::messages_body(
        WA_ID,
        vec![samples::media_message(
            wamid,
            WA_ID,
            "image",
            media_id,
            "image/jpeg",
        )],
    )
}

#[tokio::test]
async fn handshake_echoes_the_challenge_and_refuses_a_wrong_token() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-handshake").await?;
    let ok = w.handshake(VERIFY_TOKEN, "1158201444").await?;
    assert_eq!((ok.status, ok.body.as_str()), (200, "1158201444"));
    assert!(ok
        .content_type
        .unwrap_or_default()
        .starts_with("text/plain"));
    let refused = w.handshake("wrong-token", "1158201444").await?;
    assert_eq!(refused.status, 403);
    assert!(!refused.body.contains("1158201444"));
    Ok(())
}

#[tokio::test]
async fn a_signed_webhook_becomes_journal_records_and_a_job() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-signed").await?;
    let body = samples::messages_body(
        WA_ID,
        vec![
            samples::text_message("wamid.T1", WA_ID, "Olá café ☕ 😀"),
            samples::media_message("wamid.I1", WA_ID, "image", "7001", "image/jpeg"),
        ],
    );
    let before = wavault_core::clock::Clock::now_epoch_seconds(&wavault_core::clock::SystemClock);
    let answer = w.post_signed(&body).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Journal: one content-addressed object holding exactly the body.
    let journal = w.keys("journal/").await?;
    let expected_key = format!(
        "journal/{}.json",
        wavault_core::records::body_sha256_hex(&body)
    );
    assert_eq!(journal, vec![expected_key.clone()]);
    assert_eq!(w.object(&expected_key).await?, body);

    // Records: typed, expiring by our clock (a Number), media pending, contact hashed.
    let items = w.records().await?;
    assert_eq!(items.len(), 2);
    // One journal link for the one contact, so an erasure finds this journal object.
    let links = w.journal_links().await?;
    assert_eq!(links.len(), 1);
    assert_eq!(s(&links[0], "journal_key"), Some(expected_key.as_str()));
    assert_eq!(
        s(&links[0], "contact_wa_hash"),
        s(&items[0], "contact_wa_hash")
    );
    assert!(n(&links[0], "expires_at").is_some());
    for item in &items {
        assert_eq!(s(item, "kind"), Some("message"));
        let expires_at = n(item, "expires_at").expect("expires_at is a Number");
        assert!((before + 30 * 86_400..=before + 30 * 86_400 + 120).contains(&expires_at));
        assert_eq!(s(item, "journal_key"), Some(expected_key.as_str()));
        assert_eq!(s(item, "contact_wa_hash").map(str::len), Some(32));
        let flat = format!("{item:?}");
        assert!(!s(item, "contact_wa_hash")
            .unwrap_or_default()
            .contains(WA_ID));
        assert!(
            !flat.contains("Sample Contact"),
            "profile name is not copied into records"
        );
    }
    // Keys: the wamid's keyed hash (the wamid embeds the phone number), the wamid only in `raw`.
    for item in items.iter().chain(&links) {
        let pk = s(item, "pk").expect("pk");
        let hex = |v: &str| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(
            hex(pk) || pk.strip_prefix("journal.").is_some_and(hex),
            "{pk}"
        );
        assert!(!item.contains_key("wamid"));
        let slot = s(item, "expiry_slot").expect("expiry_slot");
        let (hour, shard) = slot.split_once('#').expect("<hour>#<shard>");
        assert_eq!(
            hour.parse::<i64>().ok(),
            n(item, "expires_at").map(|at| at / 3600)
        );
        assert!(shard.parse::<u32>().is_ok_and(|s| s < 32), "{slot}");
    }
    let image = items
        .iter()
        .find(|i| s(i, "pk") == Some(w.stack.message_key("wamid.I1").as_str()))
        .expect("image item");
    assert!(s(image, "raw").unwrap_or_default().contains("wamid.I1"));
    assert_eq!(s(image, "type"), Some("image"));
    assert_eq!(s(image, "media_id"), Some("7001"));
    assert_eq!(s(image, "media_mime_type"), Some("image/jpeg"));
    assert_eq!(s(image, "media_status"), Some("pending"));
    let text = items
        .iter()
        .find(|i| s(i, "pk") == Some(w.stack.message_key("wamid.T1").as_str()))
        .expect("text item");
    assert!(!text.contains_key("media_status"));
    assert!(
        s(text, "raw")
            .unwrap_or_default()
            .contains("Olá café ☕ 😀"),
        "raw element kept"
    );

    // Job: ids and metadata only.
    let jobs = w.drain_jobs().await?;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["record"], w.stack.message_key("wamid.I1"));
    assert_eq!(jobs[0]["media_id"], "7001");
    assert_eq!(jobs[0]["phone_number_id"], samples::PHONE_NUMBER_ID);
    let job_text = jobs[0].to_string();
    assert!(!job_text.contains(WA_ID) && !job_text.contains(ACCESS_TOKEN));
    assert!(!job_text.contains("wamid"), "{job_text}");
    Ok(())
}

#[tokio::test]
async fn five_redeliveries_change_nothing() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-redeliver").await?;
    let body = samples::batch_body(25);
    assert_eq!(w.post_signed(&body).await?.status, 200);
    let items = w.records().await?;
    let journal = w.keys("journal/").await?;
    let first_jobs = w.drain_jobs().await?;
    assert_eq!((items.len(), journal.len(), first_jobs.len()), (25, 1, 8));

    // The fetcher archived the media meanwhile: redeliveries must not turn it back to pending.
    for item in &items {
        if s(item, "media_status").is_some() {
            w.dynamodb
                .update_item()
                .table_name(&w.stack.table)
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .update_expression("SET media_status = :a")
                .expression_attribute_values(
                    ":a",
                    aws_sdk_dynamodb::types::AttributeValue::S("archived".into()),
                )
                .send()
                .await?;
        }
    }
    for _ in 0..5 {
        assert_eq!(w.post_signed(&body).await?.status, 200);
    }
    let after = w.records().await?;
    assert_eq!(after.len(), 25);
    assert_eq!(w.keys("journal/").await?, journal);
    assert!(
        w.drain_jobs().await?.is_empty(),
        "no job for archived media"
    );
    let statuses: HashSet<_> = after.iter().filter_map(|i| s(i, "media_status")).collect();
    assert_eq!(statuses, HashSet::from(["archived"]));
    let expiries: HashSet<_> = items.iter().map(|i| n(i, "expires_at")).collect();
    let expiries_after: HashSet<_> = after.iter().map(|i| n(i, "expires_at")).collect();
    assert_eq!(
        expiries, expiries_after,
        "redelivery does not extend retention"
    );
    Ok(())
}

#[tokio::test]
async fn a_redelivery_of_pending_media_enqueues_its_job_again() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-pending").await?;
    let body = image_body("wamid.P1", "7101");
    assert_eq!(w.post_signed(&body).await?.status, 200);
    // Simulate the first job being lost (e.g. a crash between record and enqueue).
    assert_eq!(w.drain_jobs().await?.len(), 1);
    assert_eq!(w.post_signed(&body).await?.status, 200);
    let jobs = w.drain_jobs().await?;
    assert_eq!(jobs.len(), 1, "the pending media gets its job again");
    assert_eq!(jobs[0]["media_id"], "7101");
    let records = w.records().await?;
    assert_eq!(records.len(), 1);
    assert_eq!(
        jobs[0]["received_at"].as_i64(),
        n(&records[0], "received_at"),
        "the stored receipt time, so the object key is the first job's"
    );
    Ok(())
}

#[tokio::test]
async fn forged_and_unsigned_requests_store_nothing() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-forged").await?;
    let body = image_body("wamid.F1", "7201");
    let forged = w.post(&body, Some("not-the-app-secret")).await?;
    assert_eq!(forged.status, 401);
    let unsigned = w.post(&body, None).await?;
    assert_eq!(unsigned.status, 401);
    assert!(w.records().await?.is_empty());
    assert!(w.keys("").await?.is_empty());
    assert!(w.drain_jobs().await?.is_empty());
    let logs = w.lambda.logs().join("\n");
    assert!(logs.contains("signature_rejected"));
    assert!(
        !logs.contains("wamid.F1") && !logs.contains(WA_ID),
        "no body in logs"
    );
    Ok(())
}

#[tokio::test]
async fn unparseable_and_unknown_shapes_are_journaled_and_acknowledged() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-strange").await?;
    let not_json = b"<xml>definitely not json</xml>".to_vec();
    let other_field = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":{"event":"APPROVED"}}]}]}"#.to_vec();
    let new_type = samples::messages_body(
        WA_ID,
        vec![
            serde_json::json!({"from": WA_ID, "id": "wamid.NEW1", "timestamp": "1", "type": "hologram", "hologram": {"depth": 3}}),
        ],
    );
    for body in [&not_json, &other_field, &new_type] {
        assert_eq!(w.post_signed(body).await?.status, 200);
    }
    let unparsed = w.keys("journal/unparsed/").await?;
    assert_eq!(unparsed.len(), 1);
    assert_eq!(w.object(&unparsed[0]).await?, not_json);
    assert_eq!(w.keys("journal/").await?.len(), 3);
    let items = w.records().await?;
    assert_eq!(items.len(), 1);
    assert_eq!(s(&items[0], "type"), Some("hologram"));
    assert!(s(&items[0], "raw").unwrap_or_default().contains("depth"));
    Ok(())
}

#[tokio::test]
async fn a_dynamodb_failure_answers_500_and_stores_nothing() -> TestResult {
    let _moto = MOTO.read().await;
    let moto = MotoServer::shared()?;
    let w = WebhookStack::start(
        &moto.endpoint(),
        "wh-ddbfail",
        &[("RECORDS_TABLE", "no-such-table")],
    )
    .await?;
    // On AWS the role's policy refuses a table it does not name (AccessDenied), as the gateway does here.
    w.stack.expect_denials()?;
    let body = image_body("wamid.D1", "7301");
    let answer = w.post_signed(&body).await?;
    assert_eq!(answer.status, 500);
    assert!(
        !answer.body.contains("no-such-table") && !answer.body.contains("ResourceNotFound"),
        "internals not echoed"
    );
    // Whether the body holds an erased contact's old data is read from the table before anything
    // is stored (the erasure markers): with the table out of reach nothing is, and Meta redelivers.
    assert!(w.keys("journal/").await?.is_empty(), "nothing journaled");
    assert!(w.drain_jobs().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn an_sqs_failure_answers_500_and_the_redelivery_heals_it() -> TestResult {
    let _moto = MOTO.read().await;
    let moto = MotoServer::shared()?;
    let missing_queue = format!("{}/123456789012/no-such-queue", moto.endpoint());
    let mut w = WebhookStack::start(
        &moto.endpoint(),
        "wh-sqsfail",
        &[("MEDIA_QUEUE_URL", &missing_queue)],
    )
    .await?;
    w.stack.expect_denials()?;
    let body = image_body("wamid.Q1", "7401");
    assert_eq!(w.post_signed(&body).await?.status, 500);
    let items = w.records().await?;
    assert_eq!(items.len(), 1, "the record was written, the job was not");
    assert_eq!(s(&items[0], "media_status"), Some("pending"));
    assert!(w.drain_jobs().await?.is_empty());

    // SQS is back; Meta redelivers the same body.
    w.respawn(&[])?;
    assert_eq!(w.post_signed(&body).await?.status, 200);
    let jobs = w.drain_jobs().await?;
    assert_eq!(jobs.len(), 1, "the dedupe did not hide the failed enqueue");
    assert_eq!(jobs[0]["record"], w.stack.message_key("wamid.Q1"));
    assert_eq!(w.records().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_1000_update_batch_is_fully_recorded() -> TestResult {
    let _moto = MOTO.write().await;
    let w = stack("wh-batch").await?;
    let body = samples::batch_body(1000);
    let answer = w.post_signed(&body).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let items = w.records().await?;
    assert_eq!(items.len(), 1000);
    assert_eq!(
        items
            .iter()
            .filter(|i| s(i, "kind") == Some("status"))
            .count(),
        333
    );
    assert_eq!(w.drain_jobs().await?.len(), 333);
    // One hour's writes spread over every shard of the expiry index.
    let slots: HashSet<_> = w
        .items()
        .await?
        .iter()
        .filter_map(|i| s(i, "expiry_slot").map(str::to_owned))
        .collect();
    assert_eq!(slots.len(), 32, "{slots:?}");
    Ok(())
}

#[tokio::test]
async fn logs_carry_no_personal_data_or_secrets() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-privacy").await?;
    let body = samples::messages_body(
        WA_ID,
        vec![
            samples::text_message("wamid.PII1", WA_ID, "my secret diary entry"),
            samples::media_message("wamid.PII2", WA_ID, "document", "7501", "application/pdf"),
        ],
    );
    assert_eq!(w.post_signed(&body).await?.status, 200);
    assert_eq!(w.handshake(VERIFY_TOKEN, "42").await?.status, 200);
    assert_eq!(w.post(&body, Some("forged")).await?.status, 401);
    let logs = w.lambda.logs().join("\n");
    assert!(
        logs.contains("delivery_accepted"),
        "the run was logged: {logs}"
    );
    for private in [
        WA_ID,
        "wamid.PII1",
        "wamid.PII2",
        "Sample Contact",
        "my secret diary entry",
        "passport",
        APP_SECRET,
        VERIFY_TOKEN,
        ACCESS_TOKEN,
        "local-contact-hash-key",
    ] {
        assert!(!logs.contains(private), "log leaks {private:?}");
    }
    assert!(logs.contains("\"RecordsCreated\":2"), "EMF metrics emitted");
    Ok(())
}

#[tokio::test]
async fn a_missing_setting_fails_init_naming_the_variable() -> TestResult {
    let _moto = MOTO.read().await;
    let moto = MotoServer::shared()?;
    let w = WebhookStack::start(&moto.endpoint(), "wh-config", &[("RECORDS_TABLE", "")]).await?;
    let answer = w.post_signed(&image_body("wamid.C1", "7601")).await?;
    assert_eq!(answer.status, 500);
    let init = w
        .lambda
        .init_error()
        .map(|e| e.error_message)
        .unwrap_or_default();
    let logs = w.lambda.logs().join("\n");
    assert!(
        init.contains("RECORDS_TABLE") || logs.contains("RECORDS_TABLE"),
        "init error names the variable: {init} {logs}"
    );
    Ok(())
}

/// A drifted body (tests/fixtures/drifted/drifted_batch.json: a profile name that is an object, a number for the
/// display number, for a `from_user_id` and for an image's `mime_type`, an element that is a string, a message and a
/// status without what identifies them): every identifiable record, the media job and the unreadable items are in
/// the stores, and the answer is 200.
#[tokio::test]
async fn a_drifted_body_is_recorded_as_far_as_it_can_be_read() -> TestResult {
    let _moto = MOTO.read().await;
    let w = stack("wh-drifted").await?;
    let body = std::fs::read(
        wavault_tests::workspace_root().join("tests/fixtures/drifted/drifted_batch.json"),
    )?;
    let answer = w.post_signed(&body).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let journal_key =
        wavault_core::records::journal_key(&wavault_core::records::body_sha256_hex(&body), true);
    assert_eq!(w.keys("journal/").await?, vec![journal_key.clone()]);

    let items = w.records().await?;
    let kinds = |kind: &str| items.iter().filter(|i| s(i, "kind") == Some(kind)).count();
    assert_eq!(
        (
            items.len(),
            kinds("message"),
            kinds("status"),
            kinds("unreadable")
        ),
        (7, 3, 1, 3)
    );
    let item = |pk: &str, sk: &str| {
        items
            .iter()
            .find(|i| s(i, "pk") == Some(pk) && s(i, "sk") == Some(sk))
            .cloned()
    };
    for wamid in [
        "wamid.DRIFT.TEXT",
        "wamid.DRIFT.USERID",
        "wamid.DRIFT.IMAGE",
    ] {
        assert!(
            item(&w.stack.message_key(wamid), "message").is_some(),
            "{wamid}"
        );
    }
    assert!(item(&w.stack.message_key("wamid.DRIFT.OUT1"), "status#delivered").is_some());
    let image = item(&w.stack.message_key("wamid.DRIFT.IMAGE"), "message").expect("image");
    assert_eq!(s(&image, "media_id"), Some("2001"));
    assert_eq!(s(&image, "media_status"), Some("pending"));
    assert!(
        !image.contains_key("media_mime_type"),
        "a number is no MIME type"
    );

    // The element that is a string, under the keyed hash of its position, as sent.
    let digest = wavault_core::records::body_sha256_hex(&body);
    let unreadable_pk = w.stack.contact_hasher.record_key(
        wavault_core::contact::RecordIdKind::Unreadable,
        &format!("unreadable.{}.0.0.messages.3", &digest[..32]),
    );
    let string = item(&unreadable_pk, "unreadable#0.0.messages.3").expect("the string element");
    assert_eq!(s(&string, "raw"), Some(r#""wamid.DRIFT.A_STRING""#));
    assert_eq!(s(&string, "journal_key"), Some(journal_key.as_str()));
    assert!(n(&string, "expires_at").is_some() && s(&string, "expiry_slot").is_some());
    // The message without an id names its sender, so an erasure finds it.
    let without_id = items
        .iter()
        .find(|i| s(i, "sk") == Some("unreadable#0.0.messages.4"))
        .expect("the message without an id");
    assert_eq!(s(without_id, "contact_wa_hash").map(str::len), Some(32));
    assert!(s(without_id, "raw")
        .unwrap_or_default()
        .contains("sent without an id"));
    assert!(items
        .iter()
        .any(|i| s(i, "sk") == Some("unreadable#0.1.statuses.1")));

    let jobs = w.drain_jobs().await?;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["record"], w.stack.message_key("wamid.DRIFT.IMAGE"));
    assert_eq!(jobs[0]["media_id"], "2001");

    let logs = w.lambda.logs().join("\n");
    assert!(logs.contains("\"MalformedElements\":3"), "counted: {logs}");
    assert!(logs.contains("\"RecordsCreated\":7"));
    Ok(())
}
