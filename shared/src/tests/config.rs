//! Unit tests of `config` (kept beside the module, with access to its private items).
use super::*;

fn base() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("RECORDS_TABLE", "records"),
        ("ARCHIVE_BUCKET", "archive"),
        ("MEDIA_QUEUE_URL", "http://127.0.0.1:1/123/media"),
        ("META_SECRET_ID", "meta"),
        ("CONTACT_HASH_SECRET_ID", "hash"),
    ])
}

fn load(vars: &HashMap<&'static str, &'static str>) -> Result<Config, ConfigError> {
    Config::from_lookup(|k| vars.get(k).map(|v| v.to_string()))
}

#[test]
fn defaults_apply() {
    let config = load(&base()).unwrap();
    assert_eq!(config.graph_api_base_url, DEFAULT_GRAPH_API_BASE_URL);
    assert_eq!(config.graph_api_version, DEFAULT_GRAPH_API_VERSION);
    assert_eq!(config.retention_days, 30);
    assert_eq!(config.kms_key_id, None);
}

#[test]
fn missing_variables_are_named() {
    for name in [
        "RECORDS_TABLE",
        "ARCHIVE_BUCKET",
        "MEDIA_QUEUE_URL",
        "META_SECRET_ID",
        "CONTACT_HASH_SECRET_ID",
    ] {
        let mut vars = base();
        vars.remove(name);
        assert_eq!(load(&vars), Err(ConfigError::Missing(name)));
        vars.insert(name, "  ");
        assert_eq!(load(&vars), Err(ConfigError::Missing(name)), "blank {name}");
    }
}

#[test]
fn invalid_values_are_named() {
    for (name, value) in [
        ("RETENTION_DAYS", "thirty"),
        ("RETENTION_DAYS", "0"),
        ("MEDIA_DEADLINE_DAYS", "0"),
        ("GRAPH_API_VERSION", "23"),
        ("GRAPH_API_VERSION", "v23"),
        ("GRAPH_API_BASE_URL", "graph.facebook.com"),
        ("MEDIA_QUEUE_URL", "media-queue"),
    ] {
        let mut vars = base();
        vars.insert(name, value);
        match load(&vars) {
            Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
}

#[test]
fn trailing_slash_is_trimmed_and_overrides_apply() {
    let mut vars = base();
    vars.insert("GRAPH_API_BASE_URL", "http://127.0.0.1:9/");
    vars.insert("GRAPH_API_VERSION", "v26.0");
    vars.insert("RETENTION_DAYS", "7");
    let config = load(&vars).unwrap();
    assert_eq!(config.graph_api_base_url, "http://127.0.0.1:9");
    assert_eq!(config.graph_api_version, "v26.0");
    assert_eq!(config.retention_days, 7);
}
