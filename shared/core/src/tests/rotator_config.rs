//! Unit tests of `RotatorConfig` (kept beside the module, with access to its private items).
use super::*;
use crate::rotation::RotationStrategy;

fn load(vars: &[(&'static str, &'static str)]) -> Result<RotatorConfig, ConfigError> {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    RotatorConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string()))
}

#[test]
fn the_rotator_needs_only_the_secret_and_defaults_the_rest() {
    let config = load(&[("META_SECRET_ID", "meta")]).unwrap();
    assert_eq!(config.meta_secret_id, "meta");
    assert_eq!(config.graph_api_base_url, DEFAULT_GRAPH_API_BASE_URL);
    assert_eq!(config.graph_api_version, DEFAULT_GRAPH_API_VERSION);
    assert_eq!(config.rotation_strategy, RotationStrategy::Exchange);
    assert_eq!(config.phone_number_id, None);
    assert_eq!(load(&[]), Err(ConfigError::Missing("META_SECRET_ID")));
    assert_eq!(
        load(&[("META_SECRET_ID", " ")]),
        Err(ConfigError::Missing("META_SECRET_ID"))
    );
}

#[test]
fn strategy_and_phone_number_are_read_and_checked() {
    let config = load(&[
        ("META_SECRET_ID", "meta"),
        ("ROTATION_STRATEGY", "system_user"),
        ("PHONE_NUMBER_ID", "100000000000002"),
        ("GRAPH_API_BASE_URL", "http://127.0.0.1:9/"),
    ])
    .unwrap();
    assert_eq!(config.rotation_strategy, RotationStrategy::SystemUser);
    assert_eq!(config.phone_number_id.as_deref(), Some("100000000000002"));
    assert_eq!(config.graph_api_base_url, "http://127.0.0.1:9");
    let blank_phone = load(&[("META_SECRET_ID", "meta"), ("PHONE_NUMBER_ID", "")]).unwrap();
    assert_eq!(
        blank_phone.phone_number_id, None,
        "an empty parameter means none"
    );
    for (name, value) in [
        ("ROTATION_STRATEGY", "refresh"),
        ("PHONE_NUMBER_ID", "+1 555 0100"),
        ("GRAPH_API_VERSION", "23.0"),
        ("GRAPH_API_BASE_URL", "graph.facebook.com"),
    ] {
        match load(&[("META_SECRET_ID", "meta"), (name, value)]) {
            Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
}

#[test]
fn the_service_config_is_unchanged_by_the_rotator_settings() {
    // Existing callers: Config ignores the rotator's variables.
    let vars: HashMap<&str, &str> = HashMap::from([
        ("RECORDS_TABLE", "records"),
        ("ARCHIVE_BUCKET", "archive"),
        ("MEDIA_QUEUE_URL", "http://127.0.0.1:1/123/media"),
        ("META_SECRET_ID", "meta"),
        ("CONTACT_HASH_SECRET_ID", "hash"),
        ("ROTATION_STRATEGY", "nonsense"),
    ]);
    assert!(Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).is_ok());
}
