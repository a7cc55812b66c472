//! Unit tests of `config`: the sections' defaults and checks, and each settings type asking for exactly the
//! variables it declares.
use super::*;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

fn webhook_base() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("RECORDS_TABLE", "records"),
        ("ARCHIVE_BUCKET", "archive"),
        ("MEDIA_QUEUE_URL", "http://127.0.0.1:1/123/media"),
        ("META_SECRET_ID", "meta"),
        ("CONTACT_HASH_SECRET_ID", "hash"),
    ])
}

fn lookup_in<'a>(
    vars: &'a HashMap<&'static str, &'static str>,
) -> impl Fn(&str) -> Option<String> + 'a {
    |k| vars.get(k).map(|v| v.to_string())
}

fn webhook(vars: &HashMap<&'static str, &'static str>) -> Result<WebhookSettings, ConfigError> {
    WebhookSettings::from_lookup(lookup_in(vars))
}

fn fetcher(
    vars: &HashMap<&'static str, &'static str>,
) -> Result<MediaFetcherSettings, ConfigError> {
    MediaFetcherSettings::from_lookup(lookup_in(vars))
}

/// One section parsed from `(name, value)` pairs.
fn section<S: Section>(vars: &[(&'static str, &'static str)]) -> Result<S, ConfigError> {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    S::parse(&|k: &str| vars.get(k).map(|v| v.to_string()))
}

#[test]
fn defaults_apply() {
    let settings = webhook(&webhook_base()).unwrap();
    assert_eq!(settings.retention.days, 30);
    assert_eq!(settings.media_deadline.days, 7);
    assert_eq!(settings.encryption.kms_key_id, None);
    assert_eq!(settings.aws.url, None);
    assert_eq!(settings.queue.url, "http://127.0.0.1:1/123/media");
    assert_eq!(settings.contact_hash_secret.id, "hash");

    let graph: GraphApi = section(&[]).unwrap();
    assert_eq!(graph.base_url, DEFAULT_GRAPH_API_BASE_URL);
    assert_eq!(graph.version, DEFAULT_GRAPH_API_VERSION);
    let dead_letters: MediaDeadLetters = section(&[]).unwrap();
    assert_eq!(dead_letters.url, None);
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
        let mut vars = webhook_base();
        vars.remove(name);
        assert_eq!(webhook(&vars), Err(ConfigError::Missing(name)));
        vars.insert(name, "  ");
        assert_eq!(
            webhook(&vars),
            Err(ConfigError::Missing(name)),
            "blank {name}"
        );
    }
    assert_eq!(
        ConfigError::Missing("RECORDS_TABLE").to_string(),
        "environment variable RECORDS_TABLE is required but not set"
    );
}

#[test]
fn invalid_values_are_named() {
    let mut fetcher_base = webhook_base();
    fetcher_base.remove("CONTACT_HASH_SECRET_ID");
    for (name, value) in [
        ("RETENTION_DAYS", "thirty"),
        ("RETENTION_DAYS", "0"),
        ("RETENTION_DAYS", "3651"),
        ("MEDIA_DEADLINE_DAYS", "0"),
        ("MEDIA_DEADLINE_DAYS", "31"),
        ("MEDIA_QUEUE_URL", "media-queue"),
    ] {
        let mut vars = webhook_base();
        vars.insert(name, value);
        match webhook(&vars) {
            Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
    for (name, value) in [
        ("GRAPH_API_VERSION", "23"),
        ("GRAPH_API_VERSION", "v23"),
        ("GRAPH_API_BASE_URL", "graph.facebook.com"),
        (
            "MEDIA_QUEUE_URL",
            "arn:aws:sqs:eu-west-1:123456789012:media",
        ),
    ] {
        let mut vars = fetcher_base.clone();
        vars.insert(name, value);
        match fetcher(&vars) {
            Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
    let mut vars = webhook_base();
    vars.insert("RETENTION_DAYS", "0");
    assert_eq!(
        webhook(&vars).unwrap_err().to_string(),
        "environment variable RETENTION_DAYS is invalid: expected whole days between 1 and 3650, got \"0\""
    );
}

#[test]
fn trailing_slash_is_trimmed_and_overrides_apply() {
    let graph: GraphApi = section(&[
        ("GRAPH_API_BASE_URL", "http://127.0.0.1:9/"),
        ("GRAPH_API_VERSION", "v26.0"),
    ])
    .unwrap();
    assert_eq!(graph.base_url, "http://127.0.0.1:9");
    assert_eq!(graph.version, "v26.0");
    let retention: Retention = section(&[("RETENTION_DAYS", " 7 ")]).unwrap();
    assert_eq!(retention.days, 7);
    let deadline: MediaDeadline = section(&[("MEDIA_DEADLINE_DAYS", "30")]).unwrap();
    assert_eq!(deadline.days, 30);
    let encryption: ArchiveEncryption = section(&[("KMS_KEY_ID", "arn:aws:kms:k")]).unwrap();
    assert_eq!(encryption.kms_key_id.as_deref(), Some("arn:aws:kms:k"));
}

/// The names a lookup was asked for.
type Asked = Rc<RefCell<BTreeSet<String>>>;

/// A valid value for every variable any settings type reads, and the names it was asked for.
fn recording_lookup() -> (impl Fn(&str) -> Option<String>, Asked) {
    let asked = Rc::new(RefCell::new(BTreeSet::new()));
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

fn names(list: &[&str]) -> BTreeSet<String> {
    let set: BTreeSet<String> = list.iter().map(|n| n.to_string()).collect();
    assert_eq!(set.len(), list.len(), "duplicates in {list:?}");
    set
}

/// What `load` asks for, given a value for everything.
fn asked_by(load: impl Fn(Lookup<'_>) -> Result<(), ConfigError>) -> BTreeSet<String> {
    let (lookup, asked) = recording_lookup();
    assert_eq!(load(&lookup), Ok(()));
    let asked = asked.borrow().clone();
    asked
}

/// Each settings type asks for exactly the variables it declares, no name twice (the template test relies on
/// them: tests/tests/template_env.rs), and so does each section.
#[test]
fn variable_lists_are_what_the_code_reads() {
    type Load = fn(Lookup<'_>) -> Result<(), ConfigError>;
    let settings: [(&str, &[&str], Load); 5] = [
        ("WebhookSettings", WebhookSettings::VARIABLES, |l| {
            WebhookSettings::from_lookup(l).map(drop)
        }),
        (
            "MediaFetcherSettings",
            MediaFetcherSettings::VARIABLES,
            |l| MediaFetcherSettings::from_lookup(l).map(drop),
        ),
        (
            "TokenRotatorSettings",
            TokenRotatorSettings::VARIABLES,
            |l| TokenRotatorSettings::from_lookup(l).map(drop),
        ),
        ("TtlExpirerSettings", TtlExpirerSettings::VARIABLES, |l| {
            TtlExpirerSettings::from_lookup(l).map(drop)
        }),
        ("OperatorSettings", OperatorSettings::VARIABLES, |l| {
            OperatorSettings::from_lookup(l).map(drop)
        }),
    ];
    for (label, variables, load) in settings {
        assert_eq!(asked_by(load), names(variables), "{label}");
    }

    fn check<S: Section>() {
        assert_eq!(
            asked_by(|l| S::parse(l).map(drop)),
            names(S::VARIABLES),
            "{}",
            std::any::type_name::<S>()
        );
    }
    check::<RecordsTable>();
    check::<ArchiveBucket>();
    check::<ArchiveEncryption>();
    check::<MediaQueue>();
    check::<MediaDeadLetters>();
    check::<MetaSecret>();
    check::<ContactHashSecret>();
    check::<GraphApi>();
    check::<MediaDownloadHosts>();
    check::<Retention>();
    check::<MediaDeadline>();
    check::<MetricsNamespace>();
    check::<AwsEndpoint>();
    check::<Rotation>();
}

/// The lists are the contract of docs/internals.md: spelled out once here, so a section moved between
/// functions shows up as a change to review.
#[test]
fn each_function_reads_what_the_contract_says() {
    assert_eq!(
        WebhookSettings::VARIABLES,
        [
            "RECORDS_TABLE",
            "ARCHIVE_BUCKET",
            "KMS_KEY_ID",
            "MEDIA_QUEUE_URL",
            "META_SECRET_ID",
            "CONTACT_HASH_SECRET_ID",
            "RETENTION_DAYS",
            "MEDIA_DEADLINE_DAYS",
            "METRICS_NAMESPACE",
            "AWS_ENDPOINT_URL",
        ]
    );
    assert_eq!(
        MediaFetcherSettings::VARIABLES,
        [
            "RECORDS_TABLE",
            "ARCHIVE_BUCKET",
            "KMS_KEY_ID",
            "MEDIA_QUEUE_URL",
            "MEDIA_DLQ_URL",
            "META_SECRET_ID",
            "GRAPH_API_BASE_URL",
            "GRAPH_API_VERSION",
            "MEDIA_DOWNLOAD_HOSTS",
            "METRICS_NAMESPACE",
            "CONTACT_HASH_SECRET_ID",
            "RETENTION_DAYS",
            "MEDIA_DEADLINE_DAYS",
            "AWS_ENDPOINT_URL",
        ]
    );
    assert_eq!(
        TtlExpirerSettings::VARIABLES,
        [
            "RECORDS_TABLE",
            "ARCHIVE_BUCKET",
            "METRICS_NAMESPACE",
            "AWS_ENDPOINT_URL"
        ]
    );
    assert_eq!(
        OperatorSettings::VARIABLES,
        [
            "RECORDS_TABLE",
            "ARCHIVE_BUCKET",
            "KMS_KEY_ID",
            "CONTACT_HASH_SECRET_ID",
            "AWS_ENDPOINT_URL"
        ]
    );
    for name in LOCAL_ONLY_VARIABLES {
        assert!(
            MediaFetcherSettings::VARIABLES.contains(name),
            "{name} is read"
        );
    }
}

/// A function's settings are all it reads: other variables, even invalid ones, are never looked at, and what
/// another function requires is not required.
#[test]
fn a_function_reads_only_its_own_variables() {
    let mut vars = webhook_base();
    vars.insert("GRAPH_API_VERSION", "not a version");
    vars.insert("MEDIA_DOWNLOAD_HOSTS", "*");
    vars.insert("ROTATION_STRATEGY", "nonsense");
    assert!(webhook(&vars).is_ok());

    vars.insert("GRAPH_API_VERSION", "v99.0");
    vars.insert("MEDIA_DOWNLOAD_HOSTS", "127.0.0.1");
    vars.insert("MEDIA_DLQ_URL", "http://127.0.0.1:1/123/dlq");
    let fetcher = fetcher(&vars).unwrap();
    assert_eq!(fetcher.graph.version, "v99.0");
    assert_eq!(
        fetcher.dead_letters.url.as_deref(),
        Some("http://127.0.0.1:1/123/dlq")
    );
    assert_eq!(fetcher.download_hosts.hosts, vec!["127.0.0.1"]);
    vars.remove("CONTACT_HASH_SECRET_ID");
    assert_eq!(
        webhook(&vars),
        Err(ConfigError::Missing("CONTACT_HASH_SECRET_ID"))
    );

    let expirer = TtlExpirerSettings::from_lookup(lookup_in(&HashMap::from([
        ("RECORDS_TABLE", "records"),
        ("ARCHIVE_BUCKET", "archive"),
        ("MEDIA_QUEUE_URL", "not a url"),
    ])))
    .unwrap();
    assert_eq!(expirer.records.name, "records");
    assert_eq!(expirer.archive.name, "archive");
}

/// `METRICS_NAMESPACE` defaults to `wavault` (local tools) and is validated by CloudWatch's rules;
/// `MEDIA_DOWNLOAD_HOSTS` defaults to Meta's media host and is a comma-separated host list.
#[test]
fn metrics_namespace_and_download_hosts() {
    let metrics: MetricsNamespace = section(&[]).unwrap();
    assert_eq!(metrics.namespace, "wavault");
    let hosts: MediaDownloadHosts = section(&[]).unwrap();
    assert_eq!(hosts.hosts, vec!["lookaside.fbsbx.com"]);

    let metrics: MetricsNamespace = section(&[("METRICS_NAMESPACE", "wavault/prod-eu")]).unwrap();
    assert_eq!(metrics.namespace, "wavault/prod-eu");
    let hosts: MediaDownloadHosts =
        section(&[("MEDIA_DOWNLOAD_HOSTS", " 127.0.0.1 , LocalHost:8080 ")]).unwrap();
    assert_eq!(hosts.hosts, vec!["127.0.0.1", "localhost:8080"]);

    for (name, value) in [
        ("METRICS_NAMESPACE", "AWS/Lambda"),
        ("METRICS_NAMESPACE", "wavault/{stack}"),
        ("MEDIA_DOWNLOAD_HOSTS", "https://lookaside.fbsbx.com"),
        ("MEDIA_DOWNLOAD_HOSTS", "*.fbsbx.com"),
        ("MEDIA_DOWNLOAD_HOSTS", ","),
    ] {
        let mut vars = webhook_base();
        vars.remove("CONTACT_HASH_SECRET_ID");
        vars.insert(name, value);
        match fetcher(&vars) {
            Err(ConfigError::Invalid { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
    let expirer = TtlExpirerSettings::from_lookup(|k| match k {
        "RECORDS_TABLE" | "ARCHIVE_BUCKET" => Some("x".to_owned()),
        "METRICS_NAMESPACE" => Some("wavault/s".to_owned()),
        _ => None,
    })
    .unwrap();
    assert_eq!(expirer.metrics.namespace, "wavault/s");
}

/// The operator tool needs the table, the bucket and the hash key; nothing of the functions' queue or Meta
/// secret.
#[test]
fn the_operator_needs_no_queue_and_no_meta_secret() {
    let vars = HashMap::from([
        ("RECORDS_TABLE", "records"),
        ("ARCHIVE_BUCKET", "archive"),
        ("CONTACT_HASH_SECRET_ID", "hash"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
    ]);
    let operator = OperatorSettings::from_lookup(lookup_in(&vars)).unwrap();
    assert_eq!(operator.contact_hash_secret.id, "hash");
    assert_eq!(operator.encryption.kms_key_id, None);
    assert_eq!(operator.aws.url.as_deref(), Some("http://127.0.0.1:5000"));
    let mut vars = vars;
    vars.remove("CONTACT_HASH_SECRET_ID");
    assert_eq!(
        OperatorSettings::from_lookup(lookup_in(&vars)),
        Err(ConfigError::Missing("CONTACT_HASH_SECRET_ID"))
    );
}
