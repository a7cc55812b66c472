//! Unit tests of `secrets` (kept beside the module, with access to its private items).
use super::*;
use crate::clock::FixedClock;
use crate::memory::MemorySecrets;

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
