//! Unit tests of `TokenRotatorSettings` and its `Rotation` section.
use super::*;
use crate::rotation::RotationStrategy;
use std::collections::HashMap;

fn load(vars: &[(&'static str, &'static str)]) -> Result<TokenRotatorSettings, ConfigError> {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    TokenRotatorSettings::from_lookup(|k| vars.get(k).map(|v| v.to_string()))
}

#[test]
fn the_rotator_needs_only_the_secret_and_defaults_the_rest() {
    let settings = load(&[("META_SECRET_ID", "meta")]).unwrap();
    assert_eq!(settings.meta_secret.id, "meta");
    assert_eq!(settings.graph.base_url, DEFAULT_GRAPH_API_BASE_URL);
    assert_eq!(settings.graph.version, DEFAULT_GRAPH_API_VERSION);
    assert_eq!(settings.rotation.strategy, RotationStrategy::Exchange);
    assert_eq!(settings.rotation.phone_number_id, None);
    assert_eq!(settings.metrics.namespace, "wavault");
    assert_eq!(load(&[]), Err(ConfigError::Missing("META_SECRET_ID")));
    assert_eq!(
        load(&[("META_SECRET_ID", " ")]),
        Err(ConfigError::Missing("META_SECRET_ID"))
    );
    assert_eq!(
        TokenRotatorSettings::VARIABLES,
        [
            "META_SECRET_ID",
            "GRAPH_API_BASE_URL",
            "GRAPH_API_VERSION",
            "ROTATION_STRATEGY",
            "PHONE_NUMBER_ID",
            "METRICS_NAMESPACE",
            "AWS_ENDPOINT_URL",
        ]
    );
}

#[test]
fn strategy_and_phone_number_are_read_and_checked() {
    let settings = load(&[
        ("META_SECRET_ID", "meta"),
        ("ROTATION_STRATEGY", "system_user"),
        ("PHONE_NUMBER_ID", "100000000000002"),
        ("GRAPH_API_BASE_URL", "http://127.0.0.1:9/"),
    ])
    .unwrap();
    assert_eq!(settings.rotation.strategy, RotationStrategy::SystemUser);
    assert_eq!(
        settings.rotation.phone_number_id.as_deref(),
        Some("100000000000002")
    );
    assert_eq!(settings.graph.base_url, "http://127.0.0.1:9");
    let blank_phone = load(&[("META_SECRET_ID", "meta"), ("PHONE_NUMBER_ID", "")]).unwrap();
    assert_eq!(
        blank_phone.rotation.phone_number_id, None,
        "an empty parameter means none"
    );
    for (name, value) in [
        ("ROTATION_STRATEGY", "refresh"),
        ("PHONE_NUMBER_ID", "+1 555 0100"),
        ("GRAPH_API_VERSION", "23.0"),
        ("GRAPH_API_BASE_URL", "graph.facebook.com"),
        ("METRICS_NAMESPACE", "AWS/Lambda"),
    ] {
        match load(&[("META_SECRET_ID", "meta"), (name, value)]) {
            Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
}

#[test]
fn the_webhook_ignores_the_rotator_settings() {
    let vars: HashMap<&str, &str> = HashMap::from([
        ("RECORDS_TABLE", "records"),
        ("ARCHIVE_BUCKET", "archive"),
        ("MEDIA_QUEUE_URL", "http://127.0.0.1:1/123/media"),
        ("META_SECRET_ID", "meta"),
        ("CONTACT_HASH_SECRET_ID", "hash"),
        ("ROTATION_STRATEGY", "nonsense"),
        ("PHONE_NUMBER_ID", "not a number"),
    ]);
    assert!(WebhookSettings::from_lookup(|k| vars.get(k).map(|v| v.to_string())).is_ok());
}
