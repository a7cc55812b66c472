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

/// The names a lookup was asked for.
type Asked = std::rc::Rc<std::cell::RefCell<std::collections::BTreeSet<String>>>;

/// A valid value for every variable any config reads, and the names it was asked for.
fn recording_lookup() -> (impl Fn(&str) -> Option<String>, Asked) {
    let asked = std::rc::Rc::new(std::cell::RefCell::new(std::collections::BTreeSet::new()));
    let record = asked.clone();
    let lookup = move |name: &str| {
        record.borrow_mut().insert(name.to_owned());
        Some(
            match name {
                "MEDIA_QUEUE_URL" | "MEDIA_DLQ_URL" | "GRAPH_API_BASE_URL" | "AWS_ENDPOINT_URL" => {
                    "http://127.0.0.1:1/x"
                }
                "GRAPH_API_VERSION" => "v23.0",
                "RETENTION_DAYS" | "MEDIA_DEADLINE_DAYS" => "7",
                "ROTATION_STRATEGY" => "exchange",
                "PHONE_NUMBER_ID" => "123",
                _ => "value",
            }
            .to_owned(),
        )
    };
    (lookup, asked)
}

fn names(list: &[&str]) -> std::collections::BTreeSet<String> {
    let set: std::collections::BTreeSet<String> = list.iter().map(|n| n.to_string()).collect();
    assert_eq!(set.len(), list.len(), "duplicates in {list:?}");
    set
}

/// The declared variable lists are exactly what the code asks for (the template test relies on
/// them: tests/tests/template_env.rs).
#[test]
fn variable_lists_are_what_the_code_reads() {
    let (lookup, asked) = recording_lookup();
    assert!(Config::from_lookup(&lookup).is_ok());
    assert_eq!(
        *asked.borrow(),
        names(Config::VARIABLES),
        "Config::VARIABLES"
    );

    for (label, set) in [
        ("WEBHOOK_VARIABLES", Config::WEBHOOK_VARIABLES),
        ("MEDIA_FETCHER_VARIABLES", Config::MEDIA_FETCHER_VARIABLES),
    ] {
        let (lookup, asked) = recording_lookup();
        assert!(Config::from_lookup_for(set, &lookup).is_ok(), "{label}");
        assert_eq!(*asked.borrow(), names(set), "{label}");
    }

    let (lookup, asked) = recording_lookup();
    assert!(RotatorConfig::from_lookup(&lookup).is_ok());
    assert_eq!(
        *asked.borrow(),
        names(RotatorConfig::VARIABLES),
        "RotatorConfig"
    );

    let (lookup, asked) = recording_lookup();
    assert!(ExpirerConfig::from_lookup(&lookup).is_ok());
    assert_eq!(
        *asked.borrow(),
        names(ExpirerConfig::VARIABLES),
        "ExpirerConfig"
    );
}

/// Every `Config` variable is used by the webhook or the media fetcher (or it is dead).
#[test]
fn the_function_sets_cover_the_config() {
    let mut union = names(Config::WEBHOOK_VARIABLES);
    union.extend(names(Config::MEDIA_FETCHER_VARIABLES));
    assert_eq!(union, names(Config::VARIABLES));
}

/// A function's set is all it reads: other variables keep their defaults, and required ones it
/// does not use are not required.
#[test]
fn a_function_reads_only_its_own_variables() {
    let mut vars = base();
    vars.insert("GRAPH_API_VERSION", "v99.0");
    vars.insert("MEDIA_DLQ_URL", "http://127.0.0.1:1/123/dlq");
    let webhook = Config::from_lookup_for(Config::WEBHOOK_VARIABLES, |k| {
        vars.get(k).map(|v| v.to_string())
    })
    .unwrap();
    assert_eq!(webhook.graph_api_version, DEFAULT_GRAPH_API_VERSION);
    assert_eq!(webhook.media_dlq_url, None);
    assert_eq!(webhook.contact_hash_secret_id, "hash");

    vars.remove("CONTACT_HASH_SECRET_ID");
    vars.insert("MEDIA_DEADLINE_DAYS", "not a number");
    let fetcher = Config::from_lookup_for(Config::MEDIA_FETCHER_VARIABLES, |k| {
        vars.get(k).map(|v| v.to_string())
    })
    .unwrap();
    assert_eq!(fetcher.graph_api_version, "v99.0");
    assert_eq!(
        fetcher.media_dlq_url.as_deref(),
        Some("http://127.0.0.1:1/123/dlq")
    );
    assert_eq!(fetcher.contact_hash_secret_id, "");
    vars.remove("MEDIA_DEADLINE_DAYS");
    assert_eq!(
        Config::from_lookup_for(Config::WEBHOOK_VARIABLES, |k| vars
            .get(k)
            .map(|v| v.to_string())),
        Err(ConfigError::Missing("CONTACT_HASH_SECRET_ID"))
    );
}

/// `METRICS_NAMESPACE` defaults to `wavault` (local tools) and is validated by CloudWatch's rules;
/// `MEDIA_DOWNLOAD_HOSTS` defaults to Meta's media host and is a comma-separated host list.
#[test]
fn metrics_namespace_and_download_hosts() {
    let config = load(&base()).unwrap();
    assert_eq!(config.metrics_namespace, "wavault");
    assert_eq!(config.media_download_hosts, vec!["lookaside.fbsbx.com"]);

    let mut vars = base();
    vars.insert("METRICS_NAMESPACE", "wavault/prod-eu");
    vars.insert("MEDIA_DOWNLOAD_HOSTS", " 127.0.0.1 , LocalHost:8080 ");
    let config = load(&vars).unwrap();
    assert_eq!(config.metrics_namespace, "wavault/prod-eu");
    assert_eq!(
        config.media_download_hosts,
        vec!["127.0.0.1", "localhost:8080"]
    );

    for (name, value) in [
        ("METRICS_NAMESPACE", "AWS/Lambda"),
        ("METRICS_NAMESPACE", "wavault/{stack}"),
        ("MEDIA_DOWNLOAD_HOSTS", "https://lookaside.fbsbx.com"),
        ("MEDIA_DOWNLOAD_HOSTS", "*.fbsbx.com"),
        ("MEDIA_DOWNLOAD_HOSTS", ","),
    ] {
        let mut vars = base();
        vars.insert(name, value);
        match load(&vars) {
            Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
    let rotator = RotatorConfig::from_lookup(|k| match k {
        "META_SECRET_ID" => Some("meta".to_owned()),
        "METRICS_NAMESPACE" => Some("wavault/s".to_owned()),
        _ => None,
    })
    .unwrap();
    assert_eq!(rotator.metrics_namespace, "wavault/s");
}
