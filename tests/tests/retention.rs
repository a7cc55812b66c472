//! Retention through the real `ttl-expirer` binary against moto: TTL stream removals, the hourly
//! sweep, lifecycle rules as declared, and expired records read as gone. Time is moved by writing
//! `expires_at` into the past (what waiting would do), never by sleeping.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use wavault_core::records::ItemKey;
use wavault_core::retention::ExpirySlot;
use wavault_core::retention::{ExpiringRecords, RetentionPolicy};
use wavault_tests::event_source::removal_record;
use wavault_tests::iam::Principal;
use wavault_tests::lambda_emulator::{Invocation, LambdaProcess};
use wavault_tests::local_stack::LocalStack;
use wavault_tests::media_stack::{MediaStack, CONTACT};
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{s, spawn_function, ACCESS_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type Item = HashMap<String, AttributeValue>;

async fn stack(
    suffix: &str,
) -> Result<(MediaStack, LambdaProcess), Box<dyn std::error::Error + Send + Sync>> {
    let moto = MotoServer::shared()?;
    let stack = MediaStack::start(&moto.endpoint(), suffix).await?;
    stack.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    let expirer = spawn_function(
        "ttl-expirer",
        &stack.webhook.stack,
        &moto.endpoint(),
        &stack.graph.base_url(),
        &[],
    )?;
    Ok((stack, expirer))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn invoke(expirer: &LambdaProcess, event: Value) -> Result<Value, String> {
    match expirer.invoke(event).await.map_err(|e| e.to_string())? {
        Invocation::Ok(value) => Ok(value),
        other => Err(format!("ttl-expirer failed: {other:?}")),
    }
}

async fn item(m: &MediaStack, wamid: &str) -> Result<Option<Item>, String> {
    m.record(wamid).await.map_err(|e| e.to_string())
}

/// Sends a signed text message of its own body (its own journal object).
async fn receive_text(m: &MediaStack, wamid: &str) -> TestResult {
    let body = wavault_core::testkit::samples::messages_body(
        CONTACT,
        vec![wavault_core::testkit::samples::text_message(
            wamid, CONTACT, "hello",
        )],
    );
    assert_eq!(m.webhook.post_signed(&body).await?.status, 200);
    Ok(())
}

/// Moves an item's expiry to `expires_at` (and its expiry-index slot with it: the new hour, the
/// shard the key is in).
async fn expire_at(m: &MediaStack, wamid: &str, expires_at: i64) -> TestResult {
    let key = ItemKey::message(&m.webhook.stack.message_key(wamid));
    Ok(m.webhook.expire_item(&key, expires_at).await?)
}

async fn exists(
    m: &MediaStack,
    key: &str,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    Ok(m.webhook.keys(key).await?.iter().any(|k| k == key))
}

#[tokio::test]
async fn a_ttl_removal_deletes_media_and_journal_and_is_audited_without_personal_data() -> TestResult
{
    let (m, expirer) = stack("rt-ttl").await?;
    m.graph.add_media(
        "m-ttl",
        vec![7u8; 40_000],
        "image/jpeg",
        wavault_tests::fake_graph::MediaBehaviour::Ok,
    );
    m.receive_media("wamid.R.TTL", "image", "m-ttl", "image/jpeg")
        .await?;
    receive_text(&m, "wamid.R.KEEP").await?;
    let round = m.fetch_round().await?;
    assert!(round.retried.is_empty(), "{round:?} {:?}", m.fetcher.logs());
    let removed = item(&m, "wamid.R.TTL").await?.ok_or("record")?;
    let kept = item(&m, "wamid.R.KEEP").await?.ok_or("record")?;
    let media_key = s(&removed, "media_key").ok_or("archived")?.to_owned();
    let journal_key = s(&removed, "journal_key").ok_or("journal")?.to_owned();
    let kept_journal = s(&kept, "journal_key").ok_or("journal")?.to_owned();
    assert!(exists(&m, &media_key).await? && exists(&m, &journal_key).await?);

    // TTL deletes the item; the stream hands its old image to the expirer.
    m.webhook
        .dynamodb
        .delete_item()
        .table_name(&m.webhook.stack.table)
        .key(
            "pk",
            AttributeValue::S(m.webhook.stack.message_key("wamid.R.TTL")),
        )
        .key("sk", AttributeValue::S("message".to_owned()))
        .send()
        .await?;
    // The stream holds the removal with the old image, read as Lambda's event source mapping reads it: with the
    // expirer's role through the IAM gateway (ListStreams, DescribeStream, GetShardIterator, GetRecords).
    let streamed = wavault_tests::event_source::read_table_stream(
        &m.webhook.stack,
        wavault_tests::iam::Principal::TtlExpirer,
    )
    .await?;
    assert!(
        streamed.iter().any(|r| r["eventName"] == "REMOVE"
            && r["dynamodb"]["OldImage"]["pk"]["S"] == m.webhook.stack.message_key("wamid.R.TTL")),
        "the stream carries the removal: {streamed:?}"
    );
    let event = json!({ "Records": [
        removal_record(&removed, "100", "dynamodb.amazonaws.com"),
        // Removed by someone else (an erasure, an operator): not the expirer's to clean up.
        removal_record(&kept, "101", "arn:aws:sts::123456789012:assumed-role/operator"),
    ]});
    let answer = invoke(&expirer, event.clone()).await?;
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert!(!exists(&m, &media_key).await?, "media deleted");
    assert!(!exists(&m, &journal_key).await?, "journal deleted");
    assert!(
        exists(&m, &kept_journal).await?,
        "a removal by another principal is ignored"
    );

    // Lambda may deliver a stream batch again: nothing left to delete is still success.
    assert_eq!(
        invoke(&expirer, event).await?,
        json!({ "batchItemFailures": [] })
    );

    // A TTL removal whose image does not read as an item (its objects unknown) is not passed
    // over: the batch is retried from it (and, after the retries, goes to the on-failure queue).
    let mut unreadable = removal_record(&kept, "103", "dynamodb.amazonaws.com");
    if let Some(image) = unreadable["dynamodb"]["OldImage"].as_object_mut() {
        image.remove("pk");
    }
    let answer = invoke(
        &expirer,
        json!({ "Records": [removal_record(&removed, "102", "dynamodb.amazonaws.com"), unreadable] }),
    )
    .await?;
    assert_eq!(
        answer,
        json!({ "batchItemFailures": [{ "itemIdentifier": "103" }] })
    );
    assert!(exists(&m, &kept_journal).await?, "nothing guessed");

    let logs = expirer.logs().join("\n");
    assert!(logs.contains("retention_audit"), "{logs}");
    assert!(logs.contains("\"reason\":\"ttl\""), "{logs}");
    assert!(logs.contains("BytesFreed"), "EMF metrics: {logs}");
    for secret in ["wamid.R.TTL", CONTACT, "m-ttl", media_key.as_str()] {
        assert!(!logs.contains(secret), "{secret} in the audit logs");
    }
    Ok(())
}

#[tokio::test]
async fn the_sweep_deletes_what_expired_with_its_objects_and_nothing_else() -> TestResult {
    let (m, expirer) = stack("rt-sweep").await?;
    m.graph.add_media(
        "m-old",
        vec![3u8; 25_000],
        "image/png",
        wavault_tests::fake_graph::MediaBehaviour::Ok,
    );
    m.receive_media("wamid.R.OLDMEDIA", "image", "m-old", "image/png")
        .await?;
    receive_text(&m, "wamid.R.OLDTEXT").await?;
    receive_text(&m, "wamid.R.FRESH").await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    let old_media = item(&m, "wamid.R.OLDMEDIA").await?.ok_or("record")?;
    let old_text = item(&m, "wamid.R.OLDTEXT").await?.ok_or("record")?;
    let fresh = item(&m, "wamid.R.FRESH").await?.ok_or("record")?;
    let media_key = s(&old_media, "media_key").ok_or("archived")?.to_owned();

    // Two records reached their expiry two hours ago and TTL has not removed them yet.
    expire_at(&m, "wamid.R.OLDMEDIA", now() - 7_200).await?;
    expire_at(&m, "wamid.R.OLDTEXT", now() - 7_100).await?;
    // The last sweep ran three hours ago (a first sweep's 7-day lookback is the unit tests').
    let now_hour = now().div_euclid(3600);
    m.webhook.set_sweep_checkpoint(now_hour - 3).await?;

    let report = invoke(&expirer, json!({"action": "sweep"})).await?;
    assert!(
        (4..=5).contains(&report["hours_swept"].as_i64().unwrap_or(0)),
        "every shard of the hours since the checkpoint: {report}"
    );
    assert_eq!(report["records_expired"], 2, "{report}");
    assert_eq!(report["media_deleted"], 1, "{report}");
    assert_eq!(report["bytes_freed"], 25_000, "{report}");
    assert_eq!(report["journal_deleted"], 2, "{report}");
    assert!(item(&m, "wamid.R.OLDMEDIA").await?.is_none());
    assert!(item(&m, "wamid.R.OLDTEXT").await?.is_none());
    assert!(
        item(&m, "wamid.R.FRESH").await?.is_some(),
        "not expired: kept"
    );
    assert!(!exists(&m, &media_key).await?);
    for gone in [&old_media, &old_text] {
        assert!(!exists(&m, s(gone, "journal_key").ok_or("journal")?).await?);
    }
    assert!(exists(&m, s(&fresh, "journal_key").ok_or("journal")?).await?);

    // The next sweep starts from its checkpoint and finds nothing more.
    let again = invoke(&expirer, json!({"action": "sweep"})).await?;
    assert_eq!(again["records_expired"], 0, "{again}");
    assert!(
        again["hours_swept"].as_u64().unwrap_or(99) <= 2,
        "from the checkpoint, not the whole lookback: {again}"
    );
    Ok(())
}

/// Withdraws the expirer's S3 deletes under `prefix` at the IAM gateway (what a mistaken policy, a
/// KMS key out of reach or an S3 outage does to them: every delete there fails), its denials
/// marked as provoked on purpose; [`LocalStack::register_with`] restores the template's policies.
fn withdraw_expirer_deletes(stack: &LocalStack, prefix: &str) -> TestResult {
    let mut policies = stack.iam.policies.clone();
    let expirer = policies
        .principals
        .get_mut(&Principal::TtlExpirer)
        .ok_or("no ttl-expirer policy")?;
    let before = expirer.grants.len();
    let pattern = format!("/{prefix}*");
    expirer
        .grants
        .retain(|g| !(g.action.starts_with("s3:DeleteObject") && g.resource.ends_with(&pattern)));
    assert!(expirer.grants.len() < before, "no delete grant on {prefix}");
    stack
        .gateway()?
        .register(&stack.suffix, policies, stack.iam.resources.clone(), true)?;
    Ok(())
}

async fn sweep_checkpoint(m: &MediaStack) -> Result<Option<i64>, String> {
    wavault_aws::expiry_dynamodb::DynamoExpiringRecords::new(
        m.webhook.dynamodb.clone(),
        m.webhook.stack.table.clone(),
    )
    .sweep_checkpoint()
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_sweep_that_cannot_delete_an_object_keeps_its_item_and_the_next_run_finishes_it(
) -> TestResult {
    let (m, expirer) = stack("rt-s3-fault").await?;
    m.graph.add_media(
        "m-kept",
        vec![5u8; 12_000],
        "image/jpeg",
        wavault_tests::fake_graph::MediaBehaviour::Ok,
    );
    m.receive_media("wamid.R.KEPT", "image", "m-kept", "image/jpeg")
        .await?;
    receive_text(&m, "wamid.R.SWEPT").await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    let kept = item(&m, "wamid.R.KEPT").await?.ok_or("record")?;
    let swept = item(&m, "wamid.R.SWEPT").await?.ok_or("record")?;
    let media_key = s(&kept, "media_key").ok_or("archived")?.to_owned();
    let kept_journal = s(&kept, "journal_key").ok_or("journal")?.to_owned();
    let swept_journal = s(&swept, "journal_key").ok_or("journal")?.to_owned();

    // The media record expired two hours ago, the text three; the last sweep ran four ago.
    let failing_at = now() - 7_200;
    expire_at(&m, "wamid.R.KEPT", failing_at).await?;
    expire_at(&m, "wamid.R.SWEPT", now() - 10_800).await?;
    let failing_hour = RetentionPolicy::expiry_hour(failing_at);
    m.webhook
        .set_sweep_checkpoint(now().div_euclid(3600) - 4)
        .await?;

    // One run during which S3 refuses the expirer's media deletes.
    withdraw_expirer_deletes(&m.webhook.stack, "media/")?;
    let failed = expirer.invoke(json!({"action": "sweep"})).await?;
    m.webhook
        .stack
        .register_with(&m.webhook.stack.upstream, false)?;
    assert!(
        !matches!(failed, Invocation::Ok(_)),
        "the sweep fails (alarmed): {failed:?}"
    );
    assert!(
        item(&m, "wamid.R.KEPT").await?.is_some(),
        "the item stays while its media does"
    );
    assert!(exists(&m, &media_key).await?);
    assert!(
        exists(&m, &kept_journal).await?,
        "nothing of it went before its media"
    );
    assert!(
        item(&m, "wamid.R.SWEPT").await?.is_none() && !exists(&m, &swept_journal).await?,
        "the other items are still swept"
    );
    assert_eq!(
        sweep_checkpoint(&m).await?,
        Some(failing_hour),
        "the checkpoint stops at the hour not cleaned in full"
    );
    let logs = expirer.logs().join("\n");
    assert!(logs.contains("retention_cleanup_failed"), "{logs}");
    for secret in ["wamid.R.KEPT", CONTACT, "m-kept", media_key.as_str()] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }

    // S3 is back: the next run reads from that hour and finishes the item.
    let report = invoke(&expirer, json!({"action": "sweep"})).await?;
    assert_eq!(report["records_expired"], 1, "{report}");
    assert_eq!(report["media_deleted"], 1, "{report}");
    assert_eq!(report["journal_deleted"], 1, "{report}");
    assert_eq!(report["bytes_freed"], 12_000, "{report}");
    assert!(item(&m, "wamid.R.KEPT").await?.is_none());
    assert!(!exists(&m, &media_key).await? && !exists(&m, &kept_journal).await?);
    let checkpoint = sweep_checkpoint(&m).await?.ok_or("checkpoint")?;
    assert!(
        checkpoint > failing_hour && checkpoint <= now().div_euclid(3600),
        "{checkpoint} vs {failing_hour}"
    );

    // And the one after finds nothing more.
    let again = invoke(&expirer, json!({"action": "sweep"})).await?;
    assert_eq!(again["records_expired"], 0, "{again}");
    Ok(())
}

#[tokio::test]
async fn the_sweeps_read_and_conditional_delete_on_dynamodb() -> TestResult {
    use wavault_core::records::{ItemKind, StoredItem};
    use wavault_core::retention::{ExpiredItem, ExpiredLookup};
    let moto = MotoServer::shared()?;
    let sdk = wavault_tests::aws::sdk_config(&moto.endpoint());
    let stack = LocalStack::provision(
        &sdk,
        "rt-adapter",
        "{}",
        wavault_tests::webhook_stack::CONTACT_HASH_KEY,
    )
    .await?;
    let dynamodb = wavault_tests::aws::dynamodb_client(&sdk);
    // The adapter under the expirer's own policy, through the IAM gateway.
    let records = wavault_aws::expiry_dynamodb::DynamoExpiringRecords::new(
        wavault_tests::aws::dynamodb_client(&stack.sdk_config_as(Principal::TtlExpirer)?),
        stack.table.clone(),
    );
    let at = now() - 600;
    let put = |item: StoredItem| {
        let (dynamodb, table) = (dynamodb.clone(), stack.table.clone());
        async move {
            dynamodb
                .put_item()
                .table_name(table)
                .set_item(Some(wavault_aws::item_codec::to_item(&item)?))
                .send()
                .await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    };
    let stored = |pk: &str, media: Option<&str>| StoredItem {
        key: ItemKey::message(pk),
        kind: Some(ItemKind::Message),
        expires_at: Some(at),
        expiry_slot: Some(ExpirySlot::of(&ItemKey::message(pk), at).to_string()),
        journal_key: Some(format!("journal/{pk}.json")),
        media_key: media.map(str::to_owned),
        ..StoredItem::default()
    };
    let get = |pk: &str| {
        let (dynamodb, table, pk) = (dynamodb.clone(), stack.table.clone(), pk.to_owned());
        async move {
            let output = dynamodb
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(pk))
                .key("sk", AttributeValue::S("message".to_owned()))
                .consistent_read(true)
                .send()
                .await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(output.item().cloned())
        }
    };

    // An item pointing at its journal is read, not deleted; its delete holds while it is as read.
    put(stored("a", None)).await?;
    let ExpiredLookup::Holding(read) = records.expired_item(&ItemKey::message("a"), now()).await?
    else {
        return Err("an item with a journal object is held".into());
    };
    assert_eq!(read.journal_key.as_deref(), Some("journal/a.json"));
    assert_eq!(read.expires_at, Some(at));
    assert!(get("a").await?.is_some(), "still there after the read");
    // The media fetcher archives its file meanwhile: the delete does not hold, nothing goes.
    put(stored("a", Some("media/1/a.jpg"))).await?;
    assert!(!records.delete_if_unchanged(&read).await?);
    assert!(get("a").await?.is_some());
    let ExpiredLookup::Holding(again) = records.expired_item(&ItemKey::message("a"), now()).await?
    else {
        return Err("held again".into());
    };
    assert_eq!(again.media_key.as_deref(), Some("media/1/a.jpg"));
    assert!(records.delete_if_unchanged(&again).await?);
    assert!(get("a").await?.is_none());
    assert!(!records.delete_if_unchanged(&again).await?, "gone: false");
    assert_eq!(
        records.expired_item(&ItemKey::message("a"), now()).await?,
        ExpiredLookup::NotExpired
    );

    // Not expired: neither read as expired nor deleted.
    let mut later = stored("b", None);
    later.expires_at = Some(now() + 3_600);
    put(later).await?;
    assert_eq!(
        records.expired_item(&ItemKey::message("b"), now()).await?,
        ExpiredLookup::NotExpired
    );
    assert!(get("b").await?.is_some());

    // Pointing at no object (a tombstone), or at none the codec reads (a journal key that is not a
    // string): deleted by the read itself.
    put(StoredItem::tombstone(ItemKey::message("c"), at, Some(at))).await?;
    let ExpiredLookup::Deleted(tombstone) =
        records.expired_item(&ItemKey::message("c"), now()).await?
    else {
        return Err("a tombstone goes at once".into());
    };
    assert_eq!(tombstone.kind, Some(ItemKind::Erased));
    assert!(get("c").await?.is_none());
    put(stored("d", None)).await?;
    dynamodb
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S("d".to_owned()))
        .key("sk", AttributeValue::S("message".to_owned()))
        .update_expression("SET journal_key = :n")
        .expression_attribute_values(":n", AttributeValue::N("7".to_owned()))
        .send()
        .await?;
    assert!(matches!(
        records.expired_item(&ItemKey::message("d"), now()).await?,
        ExpiredLookup::Deleted(ExpiredItem {
            journal_key: None,
            ..
        })
    ));
    assert!(get("d").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn an_expired_record_reads_as_gone_before_ttl_removes_it() -> TestResult {
    let (m, _expirer) = stack("rt-gone").await?;
    m.graph.add_media(
        "m-late",
        vec![1u8; 1_000],
        "image/jpeg",
        wavault_tests::fake_graph::MediaBehaviour::Ok,
    );
    m.receive_media("wamid.R.LATE", "image", "m-late", "image/jpeg")
        .await?;
    expire_at(&m, "wamid.R.LATE", now() - 60).await?;
    assert!(m.fetch_round().await?.retried.is_empty());
    assert_eq!(
        m.graph.download_calls("m-late"),
        0,
        "nothing fetched for an expired record"
    );
    assert!(m.webhook.keys("media/").await?.is_empty());
    let record = item(&m, "wamid.R.LATE").await?.ok_or("record")?;
    assert_eq!(
        s(&record, "media_status"),
        Some("pending"),
        "left to expire"
    );
    Ok(())
}

#[tokio::test]
async fn lifecycle_rules_read_back_as_declared() -> TestResult {
    let (m, _expirer) = stack("rt-lifecycle").await?;
    let rules = m
        .webhook
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(&m.webhook.stack.bucket)
        .send()
        .await?;
    let by_id: HashMap<&str, &aws_sdk_s3::types::LifecycleRule> = rules
        .rules()
        .iter()
        .filter_map(|r| Some((r.id()?, r)))
        .collect();
    // RetentionDays defaults to 30: the backstop deletes a day later.
    for (id, prefix) in [
        ("media-retention", "media/"),
        ("journal-retention", "journal/"),
    ] {
        let rule = by_id.get(id).ok_or(id)?;
        let filter_prefix = rule.filter().and_then(|f| f.prefix()).unwrap_or_default();
        assert_eq!(filter_prefix, prefix, "{id}");
        assert_eq!(rule.expiration().and_then(|e| e.days()), Some(31), "{id}");
    }
    let noncurrent = by_id.get("noncurrent-versions").ok_or("noncurrent")?;
    assert_eq!(
        noncurrent
            .noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        Some(1)
    );
    let multipart = by_id.get("abort-incomplete-multipart").ok_or("multipart")?;
    assert_eq!(
        multipart
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
        Some(1)
    );
    Ok(())
}

#[tokio::test]
async fn deletes_leave_no_version_behind_in_a_versioned_bucket() -> TestResult {
    use wavault_core::archive::ArchiveObjects;
    let (m, _expirer) = stack("rt-versions").await?;
    let (s3, bucket) = (&m.webhook.s3, &m.webhook.stack.bucket);
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    // Both deleters (the expirer, and the operator's erasure) under their own policies, on both prefixes.
    for principal in [Principal::TtlExpirer, Principal::Operator] {
        for prefix in ["media/1/", "journal/1/"] {
            let key = format!("{prefix}v.jpg");
            for body in [b"first".to_vec(), b"second".to_vec()] {
                s3.put_object()
                    .bucket(bucket)
                    .key(&key)
                    .body(body.into())
                    .send()
                    .await?;
            }
            s3.put_object()
                .bucket(bucket)
                .key(format!("{key}.other"))
                .body(b"a neighbour sharing the prefix".to_vec().into())
                .send()
                .await?;
            let as_principal =
                wavault_tests::aws::s3_client(&m.webhook.stack.sdk_config_as(principal)?);
            let objects = wavault_aws::s3::S3ArchiveObjects::new(as_principal, bucket.clone());
            objects.delete_all_versions(&key).await?;
            let listed = s3
                .list_object_versions()
                .bucket(bucket)
                .prefix(prefix)
                .send()
                .await?;
            let left: Vec<String> = listed
                .versions()
                .iter()
                .filter_map(|v| v.key())
                .chain(listed.delete_markers().iter().filter_map(|d| d.key()))
                .map(str::to_owned)
                .collect();
            assert_eq!(
                left,
                vec![format!("{key}.other")],
                "{principal}: no version, no marker left"
            );
            // Already gone: still success.
            objects.delete_all_versions(&key).await?;
            // The neighbour goes too, for the next round.
            let neighbour = format!("{key}.other");
            objects.delete_all_versions(&neighbour).await?;
        }
    }
    Ok(())
}
