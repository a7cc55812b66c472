//! Everything is on the retention clock, not only records: a body that made no record (an account update, a body
//! that is not JSON), the tombstones and journal-link tombstones an erasure leaves and its erasure markers all
//! carry `expires_at` and an expiry slot, so the hourly sweep (the real ttl-expirer against moto) deletes them and
//! their journal objects on time, instead of TTL days later or the lifecycle backstop a day late.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use wavault_aws::contact_data::{self, ContactClients, ContactDataConfig};
use wavault_core::contact::ContactIds;
use wavault_core::records::ItemKey;
use wavault_core::testkit::samples;
use wavault_tests::iam::Principal;
use wavault_tests::lambda_emulator::Invocation;
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{s, spawn_function, ACCESS_TOKEN};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
type Item = HashMap<String, AttributeValue>;

const CONTACT: &str = "15550009911";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The items of the table by kind.
fn kinds(items: &[Item]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for item in items {
        *kinds
            .entry(s(item, "kind").unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    kinds
}

#[tokio::test]
async fn bodies_without_records_tombstones_and_erasure_markers_expire_with_the_sweep() -> TestResult
{
    let moto = MotoServer::shared()?;
    let m = MediaStack::start(&moto.endpoint(), "rt-clock").await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    let expirer = spawn_function(
        "ttl-expirer",
        &m.webhook.stack,
        &moto.endpoint(),
        &m.graph.base_url(),
        &[],
    )?;

    // A body naming no one (an account update), a body that is not JSON and names no one, and a contact's
    // message, whose erasure then leaves a tombstone, a link tombstone and a marker.
    let account = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "account_update", "value": {"phone_number": "15550783881", "event": "VERIFIED_ACCOUNT"}}]}]});
    for body in [
        account.to_string().into_bytes(),
        b"{\"object\": \"whatsapp_business_account\", \"entry\": [".to_vec(),
        samples::messages_body(
            CONTACT,
            vec![samples::text_message("wamid.CLOCK.1", CONTACT, "hello")],
        ),
    ] {
        assert_eq!(m.webhook.post_signed(&body).await?.status, 200);
    }
    let config = ContactDataConfig {
        records_table: m.webhook.stack.table.clone(),
        archive_bucket: m.webhook.stack.bucket.clone(),
        contact_hash_secret_id: m.webhook.stack.contact_hash_secret_id.clone(),
        kms_key_id: None,
    };
    let clients = ContactClients::new(&m.webhook.stack.sdk_config_as(Principal::Operator)?);
    let hasher = contact_data::contact_hasher(&clients, &config.contact_hash_secret_id).await?;
    let metrics = Arc::new(wavault_core::metrics::EmfMetrics::new("retention-clock"));
    let report = contact_data::eraser(&config, &clients, hasher, metrics)
        .erase(&ContactIds {
            wa_id: Some(CONTACT.to_owned()),
            ..ContactIds::default()
        })
        .await?;
    assert_eq!(report.records_erased, 1, "{report:?}");

    let items = m.webhook.items().await?;
    assert_eq!(
        kinds(&items),
        BTreeMap::from([
            ("erased".to_owned(), 2),
            ("erased-contact".to_owned(), 1),
            ("journal-body".to_owned(), 2),
        ]),
        "two body items, the record's and the link's tombstones, the marker"
    );
    assert_eq!(m.webhook.keys("journal/").await?.len(), 2);
    for item in &items {
        assert!(
            s(item, "expiry_slot").is_some() && item.contains_key("expires_at"),
            "on the clock: {item:?}"
        );
    }

    // Every item reached its expiry two hours ago, and TTL has not removed it yet.
    let expired_at = now() - 7_200;
    for item in &items {
        let key = ItemKey {
            pk: s(item, "pk").ok_or("pk")?.to_owned(),
            sk: s(item, "sk").ok_or("sk")?.to_owned(),
        };
        m.webhook.expire_item(&key, expired_at).await?;
    }
    m.webhook
        .set_sweep_checkpoint(now().div_euclid(3600) - 3)
        .await?;

    let report = match expirer.invoke(json!({"action": "sweep"})).await? {
        Invocation::Ok(value) => value,
        other => return Err(format!("ttl-expirer failed: {other:?}").into()),
    };
    assert_eq!(
        report["records_expired"],
        Value::from(items.len()),
        "{report}"
    );
    assert_eq!(report["journal_deleted"], 2, "{report}");
    let left = m.webhook.items().await?;
    assert_eq!(
        kinds(&left),
        BTreeMap::from([("checkpoint".to_owned(), 1)]),
        "only the sweep's checkpoint is left"
    );
    assert!(m.webhook.keys("journal/").await?.is_empty());
    Ok(())
}
