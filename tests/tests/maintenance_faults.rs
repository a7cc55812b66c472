//! Retention and the operator's tool under S3 faults: the retention sweep, a TTL stream removal, an export and an
//! erasure, each run through [`FaultyUpstream`] with half of the S3 requests failing (throttled, 5xx, or applied
//! with the answer lost). A run may fail; rerun, each completes, and nothing is orphaned: no object outlives its
//! record, no record outlives the sweep, nothing of the erased contact is left.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use wavault_core::records::ItemKey;
use wavault_core::testkit::samples;
use wavault_tests::event_source::removal_record;
use wavault_tests::fake_graph::MediaBehaviour;
use wavault_tests::faults::{FaultPlan, FaultyUpstream};
use wavault_tests::lambda_emulator::{Invocation, LambdaProcess};
use wavault_tests::media_stack::{MediaStack, CONTACT};
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{s, spawn_function, ACCESS_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Reruns allowed before a job counts as unable to finish.
const RERUNS: usize = 12;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Half of S3's requests fail; nothing else does (the tool and the expirer retry S3 on their own).
fn s3_faults() -> FaultPlan {
    FaultPlan::none().with("s3", 0.5)
}

/// Invokes until the invocation succeeds with no batch item failure; the runs it took.
async fn until_done(expirer: &LambdaProcess, event: Value) -> Result<(usize, Value), BoxError> {
    for run in 1..=RERUNS {
        if let Invocation::Ok(answer) = expirer.invoke(event.clone()).await? {
            let failures = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
            if failures == 0 {
                return Ok((run, answer));
            }
        }
    }
    Err(format!("not done after {RERUNS} runs").into())
}

async fn exists(m: &MediaStack, key: &str) -> Result<bool, BoxError> {
    Ok(m.webhook.keys(key).await?.iter().any(|k| k == key))
}

#[tokio::test]
async fn sweep_stream_removal_export_and_erase_finish_on_rerun_under_s3_faults() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let m = MediaStack::start(&moto, "maint-faults").await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    for i in 0..4u8 {
        let id = format!("95{i:02}");
        m.graph.add_media(
            &id,
            vec![i; 20_000 + usize::from(i)],
            "image/jpeg",
            MediaBehaviour::Ok,
        );
        m.receive_media(&format!("wamid.MAINT.M{i}"), "image", &id, "image/jpeg")
            .await?;
        let text = samples::text_body(&format!("wamid.MAINT.T{i}"), CONTACT, "hello");
        assert_eq!(m.webhook.post_signed(&text).await?.status, 200);
    }
    while !m.fetch_round().await?.media_ids.is_empty() {}
    let objects_of = |item: &std::collections::HashMap<String, AttributeValue>| {
        [s(item, "media_key"), s(item, "journal_key")]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    let faults = FaultyUpstream::start(&m.webhook.stack.aws_endpoint(&moto)?, s3_faults())?;
    let endpoint = faults.endpoint();
    let expirer = spawn_function(
        "ttl-expirer",
        &m.webhook.stack,
        &moto,
        &m.graph.base_url(),
        &[("AWS_ENDPOINT_URL", endpoint.as_str())],
    )?;

    // The sweep: two media and one text record expired two hours ago.
    let mut swept = Vec::new();
    for wamid in ["wamid.MAINT.M0", "wamid.MAINT.M1", "wamid.MAINT.T0"] {
        swept.push(m.record(wamid).await?.ok_or("record")?);
        let key = ItemKey::message(&m.webhook.stack.message_key(wamid));
        m.webhook.expire_item(&key, now() - 7_200).await?;
    }
    m.webhook
        .set_sweep_checkpoint(now().div_euclid(3600) - 3)
        .await?;
    let mut expired = 0;
    let mut sweep_runs = 0;
    for _ in 0..RERUNS {
        sweep_runs += 1;
        if let Invocation::Ok(report) = expirer.invoke(json!({"action": "sweep"})).await? {
            expired += report["records_expired"].as_u64().unwrap_or(0);
            if expired == 3 && report["records_expired"] == 0 {
                break;
            }
        }
    }
    assert_eq!(expired, 3, "each expired record swept once");
    for item in &swept {
        for key in objects_of(item) {
            assert!(
                !exists(&m, &key).await?,
                "an object outlived its swept record"
            );
        }
    }
    for wamid in ["wamid.MAINT.M0", "wamid.MAINT.M1", "wamid.MAINT.T0"] {
        assert!(m.record(wamid).await?.is_none(), "the swept record is gone");
    }

    // A TTL stream removal of a media record.
    let removed = m.record("wamid.MAINT.M2").await?.ok_or("record")?;
    m.webhook
        .dynamodb
        .delete_item()
        .table_name(&m.webhook.stack.table)
        .key(
            "pk",
            AttributeValue::S(m.webhook.stack.message_key("wamid.MAINT.M2")),
        )
        .key("sk", AttributeValue::S("message".to_owned()))
        .send()
        .await?;
    let event = json!({ "Records": [removal_record(&removed, "300", "dynamodb.amazonaws.com")] });
    let (removal_runs, _) = until_done(&expirer, event).await?;
    for key in objects_of(&removed) {
        assert!(
            !exists(&m, &key).await?,
            "an object outlived its removed record"
        );
    }

    // Export, then erasure, of the contact, by the operator's tool through S3 faults.
    let operator_faults =
        FaultyUpstream::start(&m.webhook.stack.aws_endpoint(&moto)?, s3_faults())?;
    let operator_endpoint = operator_faults.endpoint();
    let out = std::env::temp_dir().join(format!("wavault-export-faults-{}", std::process::id()));
    let out_text = out.display().to_string();
    let mut export_runs = 0;
    let export: Value = loop {
        export_runs += 1;
        let _ = std::fs::remove_dir_all(&out);
        let output = m
            .webhook
            .run_wavault_with(
                &["export", "--wa-id", CONTACT, "--out", &out_text],
                &[("AWS_ENDPOINT_URL", operator_endpoint.as_str())],
            )
            .await?;
        if output.status.success() {
            break serde_json::from_slice(&output.stdout)?;
        }
        assert!(export_runs < RERUNS, "export not done after {RERUNS} runs");
    };
    let _ = std::fs::remove_dir_all(&out);
    // What retention left: M3, T1, T2, T3 (and M2's text twin none: M2 was media only).
    assert_eq!(export["records"], 4, "{export}");
    assert_eq!(export["media_files"], 1, "{export}");
    assert_eq!(export["media_missing"], 0, "{export}");

    let left: Vec<_> = {
        let mut items = Vec::new();
        for wamid in [
            "wamid.MAINT.M3",
            "wamid.MAINT.T1",
            "wamid.MAINT.T2",
            "wamid.MAINT.T3",
        ] {
            items.push(m.record(wamid).await?.ok_or("record")?);
        }
        items
    };
    let mut erase_runs = 0;
    loop {
        erase_runs += 1;
        let output = m
            .webhook
            .run_wavault_with(
                &["erase", "--concurrency", "1", "--wa-id", CONTACT],
                &[("AWS_ENDPOINT_URL", operator_endpoint.as_str())],
            )
            .await?;
        if output.status.success() {
            break;
        }
        assert!(erase_runs < RERUNS, "erase not done after {RERUNS} runs");
    }
    for item in &left {
        for key in objects_of(item) {
            if key.starts_with("media/") {
                assert!(
                    !exists(&m, &key).await?,
                    "an erased contact's media is left"
                );
            } else if exists(&m, &key).await? {
                let body = String::from_utf8(m.webhook.object(&key).await?)?;
                assert!(
                    !body.contains(CONTACT),
                    "an erased contact's body is left in the journal"
                );
            }
        }
    }
    for item in m.webhook.items().await? {
        let kind = s(&item, "kind").unwrap_or_default();
        assert!(
            !matches!(kind, "message" | "status"),
            "a record of the erased contact is left: {kind}"
        );
    }
    let (expirer_counts, operator_counts) = (faults.counts(), operator_faults.counts());
    assert!(expirer_counts.total_faults() > 0 && operator_counts.total_faults() > 0);
    eprintln!(
        "maintenance under S3 faults (rate 0.5): sweep done in {sweep_runs} runs, stream removal in {removal_runs}, \
         export in {export_runs}, erase in {erase_runs}; {} + {} faults injected; nothing orphaned",
        expirer_counts.total_faults(),
        operator_counts.total_faults(),
    );
    Ok(())
}
