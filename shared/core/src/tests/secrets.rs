//! Unit tests of `secrets` (kept beside the module, with access to its private items).
use super::*;
use crate::clock::FixedClock;
use crate::testkit::memory::MemorySecrets;

fn secret_json(app_secret: &str) -> String {
    format!(r#"{{"app_id":"1","app_secret":"{app_secret}","verify_token":"v","access_token":"t"}}"#)
}

#[tokio::test]
async fn cache_reads_once_per_ttl_and_refreshes_on_demand() {
    let source = Arc::new(MemorySecrets::default());
    source.set("meta", &secret_json("s1"));
    let clock = Arc::new(FixedClock::at(1_000));
    let cache = SecretCache::new(
        source.clone(),
        clock.clone(),
        "meta",
        300,
        parse_meta_secret,
    );

    assert_eq!(cache.get().await.unwrap().app_secret, "s1");
    source.set("meta", &secret_json("s2"));
    assert_eq!(
        cache.get().await.unwrap().app_secret,
        "s1",
        "cached within TTL"
    );
    assert_eq!(source.reads(), 1);

    clock.advance(300);
    assert_eq!(cache.get().await.unwrap().app_secret, "s2", "TTL elapsed");

    source.set("meta", &secret_json("s3"));
    assert_eq!(cache.refresh().await.unwrap().app_secret, "s3");
    assert_eq!(source.reads(), 3);
}

#[tokio::test]
async fn rate_limited_refresh_happens_at_most_once_per_ttl() {
    let source = Arc::new(MemorySecrets::default());
    source.set("meta", &secret_json("s1"));
    let clock = Arc::new(FixedClock::at(1_000));
    let cache = SecretCache::new(
        source.clone(),
        clock.clone(),
        "meta",
        300,
        parse_meta_secret,
    );
    assert!(cache.refresh_rate_limited().await.unwrap().is_some());
    assert!(cache.refresh_rate_limited().await.unwrap().is_none());
    assert!(cache.refresh_rate_limited().await.unwrap().is_none());
    assert_eq!(source.reads(), 1);
    clock.advance(301);
    assert!(cache.refresh_rate_limited().await.unwrap().is_some());
    assert_eq!(source.reads(), 2);
}

#[test]
fn malformed_and_empty_secrets_name_the_problem_not_the_value() {
    let err = MetaSecret::parse("meta", r#"{"app_secret":"hunter2"}"#).unwrap_err();
    assert!(!err.to_string().contains("hunter2"));
    let err = MetaSecret::parse("meta", r#"{"app_secret":"","verify_token":"v"}"#).unwrap_err();
    assert!(err.to_string().contains("app_secret"));
    let debug = format!(
        "{:?}",
        MetaSecret::parse("m", &secret_json("hunter2")).unwrap()
    );
    assert!(!debug.contains("hunter2"));
}

fn stale_serving_cache(
    source: &Arc<MemorySecrets>,
    clock: &Arc<FixedClock>,
    metrics: &Arc<crate::testkit::memory::MemoryMetrics>,
) -> SecretCache<MetaSecret> {
    SecretCache::new(
        source.clone(),
        clock.clone(),
        "meta",
        300,
        parse_meta_secret,
    )
    .with_metrics(metrics.clone())
}

/// A Secrets Manager blip past the TTL serves the last good value (counted), bounded by
/// `STALE_GRACE_SECONDS` past the TTL; the first good read afterwards replaces it.
#[tokio::test]
async fn a_failed_read_serves_the_last_good_value_for_a_bounded_time() {
    let source = Arc::new(MemorySecrets::default());
    source.set("meta", &secret_json("s1"));
    let clock = Arc::new(FixedClock::at(1_000));
    let metrics = Arc::new(crate::testkit::memory::MemoryMetrics::default());
    let cache = stale_serving_cache(&source, &clock, &metrics);
    assert_eq!(cache.get().await.unwrap().app_secret, "s1");

    source.set_unavailable(true);
    clock.advance(300);
    assert_eq!(cache.get().await.unwrap().app_secret, "s1", "stale served");
    assert_eq!(metrics.get("SecretStaleServed"), 1);
    assert_eq!(source.reads(), 2, "the failed read was tried");

    // Within STALE_RETRY_SECONDS of the failure the source is not asked again.
    clock.advance(STALE_RETRY_SECONDS - 1);
    assert_eq!(cache.get().await.unwrap().app_secret, "s1");
    assert_eq!(source.reads(), 2);
    assert_eq!(metrics.get("SecretStaleServed"), 2);

    // A forced refresh that fails also keeps the last good value.
    assert_eq!(cache.refresh().await.unwrap().app_secret, "s1");
    assert_eq!(source.reads(), 3);

    // Until STALE_GRACE_SECONDS past the TTL, then the failure shows.
    clock.advance(STALE_GRACE_SECONDS - STALE_RETRY_SECONDS); // 1 s short of the bound
    assert_eq!(cache.get().await.unwrap().app_secret, "s1");
    clock.advance(1);
    assert!(matches!(cache.get().await, Err(SecretError::Source(_))));
    let served = metrics.get("SecretStaleServed");

    // Secrets Manager is back: the fresh value, and no more stale serving.
    source.set_unavailable(false);
    source.set("meta", &secret_json("s2"));
    assert_eq!(cache.get().await.unwrap().app_secret, "s2");
    assert_eq!(metrics.get("SecretStaleServed"), served);
}

/// Nothing good was ever read: a failed read is an error (nothing to fall back on).
#[tokio::test]
async fn a_failed_first_read_is_an_error() {
    let source = Arc::new(MemorySecrets::default());
    source.set("meta", &secret_json("s1"));
    source.set_unavailable(true);
    let clock = Arc::new(FixedClock::at(1_000));
    let metrics = Arc::new(crate::testkit::memory::MemoryMetrics::default());
    let cache = stale_serving_cache(&source, &clock, &metrics);
    assert!(matches!(cache.get().await, Err(SecretError::Source(_))));
    assert_eq!(metrics.get("SecretStaleServed"), 0);
}

/// A secret that reads but does not parse is an operator's mistake: it fails at once instead of
/// hiding behind the old value.
#[tokio::test]
async fn a_malformed_secret_is_not_masked_by_the_old_value() {
    let source = Arc::new(MemorySecrets::default());
    source.set("meta", &secret_json("s1"));
    let clock = Arc::new(FixedClock::at(1_000));
    let metrics = Arc::new(crate::testkit::memory::MemoryMetrics::default());
    let cache = stale_serving_cache(&source, &clock, &metrics);
    cache.get().await.unwrap();
    source.set("meta", "{not json");
    clock.advance(300);
    assert!(matches!(
        cache.get().await,
        Err(SecretError::Malformed { .. })
    ));
    assert_eq!(metrics.get("SecretStaleServed"), 0);
}

/// End to end through the webhook use case: with Secrets Manager failing after the TTL, a signed
/// delivery is still accepted (not a 500).
#[tokio::test]
async fn a_secrets_manager_blip_does_not_fail_webhooks() {
    use crate::ingest::{WebhookRequest, WebhookResponse};
    let app = crate::testkit::memory::MemoryIngest::new(&secret_json("s1"));
    let body = crate::testkit::samples::messages_body(
        "15550001111",
        vec![crate::testkit::samples::text_message(
            "wamid.STALE1",
            "15550001111",
            "hi",
        )],
    );
    let header = crate::webhook::signature::signature_header(b"s1", &body);
    let deliver = || WebhookRequest::Delivery {
        signature: Some(&header),
        body: &body,
    };
    assert!(matches!(
        app.ingest.handle(deliver()).await,
        WebhookResponse::Accepted(_)
    ));
    app.secrets.set_unavailable(true);
    app.clock.advance(DEFAULT_SECRET_TTL_SECONDS + 60);
    assert!(matches!(
        app.ingest.handle(deliver()).await,
        WebhookResponse::Accepted(_)
    ));
    assert!(app.metrics.get("SecretStaleServed") >= 1);
}
