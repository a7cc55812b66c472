//! Configuration: one struct read from the environment at init, with errors naming the variable.
//!
//! These names are a contract (docs/internals.md "Configuration contract"): the SAM template, the local stack and the
//! operator tools all set them.

use std::collections::HashMap;

/// Default Graph API host.
pub const DEFAULT_GRAPH_API_BASE_URL: &str = "https://graph.facebook.com";
/// Default Graph API version (configurable: Meta retires versions about two years after release).
pub const DEFAULT_GRAPH_API_VERSION: &str = "v23.0";
/// Default retention, as Meta's own for message content.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Variables the code reads that the SAM template never sets: `AWS_ENDPOINT_URL` (an emulator
/// endpoint never exists in a deployed stack) and `MEDIA_DOWNLOAD_HOSTS` (the default, Meta's
/// media hosts, is what a deployment wants; only the local stack's fake Graph API on 127.0.0.1
/// needs another list). `tests/tests/template_env.rs` checks the template sets neither.
pub const LOCAL_ONLY_VARIABLES: &[&str] = &["AWS_ENDPOINT_URL", "MEDIA_DOWNLOAD_HOSTS"];

/// A setting that is missing or wrong. Names the variable, never echoes a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Everything the functions read from their environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `RECORDS_TABLE`: DynamoDB table of message, status and error records.
    pub records_table: String,
    /// `ARCHIVE_BUCKET`: S3 bucket; media under `media/`, journal under `journal/`.
    pub archive_bucket: String,
    /// `MEDIA_QUEUE_URL`: SQS queue of media jobs.
    pub media_queue_url: String,
    /// `META_SECRET_ID`: Secrets Manager id of the Meta credentials JSON.
    pub meta_secret_id: String,
    /// `CONTACT_HASH_SECRET_ID`: Secrets Manager id of the key contact ids are hashed with.
    pub contact_hash_secret_id: String,
    /// `GRAPH_API_BASE_URL`, without a trailing slash.
    pub graph_api_base_url: String,
    /// `GRAPH_API_VERSION`, e.g. `v23.0`.
    pub graph_api_version: String,
    /// `RETENTION_DAYS`: records and archives expire this many days after receipt.
    pub retention_days: u32,
    /// `MEDIA_DEADLINE_DAYS`: how long Meta serves an inbound media id (7).
    pub media_deadline_days: u32,
    /// `MEDIA_DLQ_URL`: the media queue's dead-letter queue (read by the media sweep).
    pub media_dlq_url: Option<String>,
    /// `KMS_KEY_ID`: key for SSE-KMS on objects we write; AES256 when unset.
    pub kms_key_id: Option<String>,
    /// `AWS_ENDPOINT_URL`: an emulator endpoint for every AWS client (S3 then uses path style).
    pub aws_endpoint_url: Option<String>,
    /// `METRICS_NAMESPACE`: the CloudWatch namespace of the EMF metrics (the template gives each
    /// stack its own, `wavault/<stack name>`, so two stacks never share a metric or an alarm).
    pub metrics_namespace: String,
    /// `MEDIA_DOWNLOAD_HOSTS`: comma-separated hosts media may be downloaded from, redirects
    /// included (default [`crate::media::META_MEDIA_HOSTS`]).
    pub media_download_hosts: Vec<String>,
}

impl Config {
    /// Every variable [`Config::from_lookup`] reads (a unit test checks it against the code).
    pub const VARIABLES: &'static [&'static str] = &[
        "RECORDS_TABLE",
        "ARCHIVE_BUCKET",
        "MEDIA_QUEUE_URL",
        "META_SECRET_ID",
        "CONTACT_HASH_SECRET_ID",
        "GRAPH_API_BASE_URL",
        "GRAPH_API_VERSION",
        "RETENTION_DAYS",
        "MEDIA_DEADLINE_DAYS",
        "MEDIA_DLQ_URL",
        "KMS_KEY_ID",
        "AWS_ENDPOINT_URL",
        "METRICS_NAMESPACE",
        "MEDIA_DOWNLOAD_HOSTS",
    ];

    /// What the webhook reads (`adapters::ingest_service`): no Graph API, no dead-letter queue.
    /// `MEDIA_DEADLINE_DAYS` is here: the webhook stamps each media record's `media_deadline`.
    pub const WEBHOOK_VARIABLES: &'static [&'static str] = &[
        "RECORDS_TABLE",
        "ARCHIVE_BUCKET",
        "MEDIA_QUEUE_URL",
        "META_SECRET_ID",
        "CONTACT_HASH_SECRET_ID",
        "RETENTION_DAYS",
        "MEDIA_DEADLINE_DAYS",
        "KMS_KEY_ID",
        "AWS_ENDPOINT_URL",
        "METRICS_NAMESPACE",
    ];

    /// What the media fetcher reads (`adapters::archiver_service`, `adapters::media_sweep_service`):
    /// no contact-hash key, and neither retention nor the media deadline (both are stamped on the
    /// records by the webhook).
    pub const MEDIA_FETCHER_VARIABLES: &'static [&'static str] = &[
        "RECORDS_TABLE",
        "ARCHIVE_BUCKET",
        "MEDIA_QUEUE_URL",
        "MEDIA_DLQ_URL",
        "META_SECRET_ID",
        "GRAPH_API_BASE_URL",
        "GRAPH_API_VERSION",
        "KMS_KEY_ID",
        "AWS_ENDPOINT_URL",
        "METRICS_NAMESPACE",
        "MEDIA_DOWNLOAD_HOSTS",
    ];

    /// Reads the process environment (every variable in [`Config::VARIABLES`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_for(Self::VARIABLES)
    }

    /// Reads only `variables` from the process environment: a function passes its own set
    /// ([`Config::WEBHOOK_VARIABLES`], [`Config::MEDIA_FETCHER_VARIABLES`]), so it can never depend
    /// on a variable the template does not give it. See [`Config::from_lookup_for`].
    pub fn from_env_for(variables: &[&str]) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_lookup_for(variables, |name| vars.get(name).cloned())
    }

    /// Reads settings through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_for(Self::VARIABLES, lookup)
    }

    /// Reads through `lookup` only the names in `variables`; any other variable counts as unset
    /// (its default applies) and `lookup` is never asked for it. A required variable outside
    /// `variables` is not required: its field is left empty, for a function that does not use it.
    pub fn from_lookup_for(
        variables: &[&str],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let reads = |name: &str| variables.contains(&name);
        let get = |name: &'static str| {
            if reads(name) {
                lookup(name).filter(|v| !v.trim().is_empty())
            } else {
                None
            }
        };
        let required = |name: &'static str| {
            if reads(name) {
                get(name).ok_or(ConfigError::Missing(name))
            } else {
                Ok(String::new())
            }
        };

        let (graph_api_base_url, graph_api_version) = graph_settings(&get)?;
        let retention_days = match get("RETENTION_DAYS") {
            None => DEFAULT_RETENTION_DAYS,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(days) if (1..=3650).contains(&days) => days,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "RETENTION_DAYS",
                        reason: format!("expected whole days between 1 and 3650, got {text:?}"),
                    })
                }
            },
        };
        let media_deadline_days = match get("MEDIA_DEADLINE_DAYS") {
            None => crate::media::DEFAULT_MEDIA_DEADLINE_DAYS,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(days) if (1..=30).contains(&days) => days,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "MEDIA_DEADLINE_DAYS",
                        reason: format!("expected whole days between 1 and 30, got {text:?}"),
                    })
                }
            },
        };
        let metrics_namespace = metrics_namespace(&get)?;
        let media_download_hosts = match get("MEDIA_DOWNLOAD_HOSTS") {
            None => crate::media::META_MEDIA_HOSTS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            Some(text) => download_hosts(&text)?,
        };
        let media_queue_url = required("MEDIA_QUEUE_URL")?;
        if reads("MEDIA_QUEUE_URL")
            && !(media_queue_url.starts_with("https://") || media_queue_url.starts_with("http://"))
        {
            return Err(ConfigError::Invalid {
                name: "MEDIA_QUEUE_URL",
                reason: "must be the queue URL, not its name or ARN".to_owned(),
            });
        }
        Ok(Self {
            records_table: required("RECORDS_TABLE")?,
            archive_bucket: required("ARCHIVE_BUCKET")?,
            media_queue_url,
            meta_secret_id: required("META_SECRET_ID")?,
            contact_hash_secret_id: required("CONTACT_HASH_SECRET_ID")?,
            graph_api_base_url,
            graph_api_version,
            retention_days,
            media_deadline_days,
            media_dlq_url: get("MEDIA_DLQ_URL"),
            kms_key_id: get("KMS_KEY_ID"),
            aws_endpoint_url: get("AWS_ENDPOINT_URL"),
            metrics_namespace,
            media_download_hosts,
        })
    }
}

/// `METRICS_NAMESPACE`, default [`crate::metrics::DEFAULT_NAMESPACE`]; CloudWatch's rules: 1-255
/// characters of letters, digits and `. - _ / # :` (and spaces), not starting with `AWS/`.
fn metrics_namespace(get: &impl Fn(&'static str) -> Option<String>) -> Result<String, ConfigError> {
    let Some(namespace) = get("METRICS_NAMESPACE") else {
        return Ok(crate::metrics::DEFAULT_NAMESPACE.to_owned());
    };
    let namespace = namespace.trim().to_owned();
    let valid = namespace.len() <= 255
        && !namespace.starts_with("AWS/")
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
    if valid {
        Ok(namespace)
    } else {
        Err(ConfigError::Invalid {
            name: "METRICS_NAMESPACE",
            reason: "expected at most 255 of A-Z a-z 0-9 . - _ / # : and not AWS/...".to_owned(),
        })
    }
}

/// `MEDIA_DOWNLOAD_HOSTS`: host names (optionally `host:port`), comma-separated, compared
/// case-insensitively; no schemes, paths or wildcards.
fn download_hosts(text: &str) -> Result<Vec<String>, ConfigError> {
    let hosts: Vec<String> = text
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let valid = !hosts.is_empty()
        && hosts.iter().all(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':')
        });
    if valid {
        Ok(hosts)
    } else {
        Err(ConfigError::Invalid {
            name: "MEDIA_DOWNLOAD_HOSTS",
            reason: "expected host names separated by commas (no scheme, path or wildcard)"
                .to_owned(),
        })
    }
}

/// `GRAPH_API_BASE_URL` (without a trailing slash) and `GRAPH_API_VERSION`, with their defaults,
/// validated the same way for every function that calls Graph.
fn graph_settings(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<(String, String), ConfigError> {
    let base_url = get("GRAPH_API_BASE_URL")
        .unwrap_or_else(|| DEFAULT_GRAPH_API_BASE_URL.to_owned())
        .trim_end_matches('/')
        .to_owned();
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name: "GRAPH_API_BASE_URL",
            reason: "must be an http(s) URL".to_owned(),
        });
    }
    let version = get("GRAPH_API_VERSION").unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned());
    if !is_graph_version(&version) {
        return Err(ConfigError::Invalid {
            name: "GRAPH_API_VERSION",
            reason: format!("expected a version like v23.0, got {version:?}"),
        });
    }
    Ok((base_url, version))
}

fn is_graph_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(major), Some(minor), None)
            if !major.is_empty() && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
    )
}

#[cfg(test)]
#[path = "tests/config.rs"]
mod tests;

/// What the token rotator reads from its environment. Its own struct because the rotator needs
/// no table, bucket or queue (least privilege: it is given only the Meta secret and Graph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatorConfig {
    /// `META_SECRET_ID`: the secret whose `access_token` is rotated (scheduled runs).
    pub meta_secret_id: String,
    /// `GRAPH_API_BASE_URL`, without a trailing slash.
    pub graph_api_base_url: String,
    /// `GRAPH_API_VERSION`, e.g. `v23.0`.
    pub graph_api_version: String,
    /// `ROTATION_STRATEGY`: `exchange` (default) or `system_user`.
    pub rotation_strategy: crate::rotation::RotationStrategy,
    /// `PHONE_NUMBER_ID`: when set, testSecret reads this phone number with the new token.
    pub phone_number_id: Option<String>,
    /// `AWS_ENDPOINT_URL`: an emulator endpoint.
    pub aws_endpoint_url: Option<String>,
    /// `METRICS_NAMESPACE` (see [`Config::metrics_namespace`]).
    pub metrics_namespace: String,
}

impl RotatorConfig {
    /// Every variable [`RotatorConfig::from_lookup`] reads (a unit test checks it against the code).
    pub const VARIABLES: &'static [&'static str] = &[
        "META_SECRET_ID",
        "GRAPH_API_BASE_URL",
        "GRAPH_API_VERSION",
        "ROTATION_STRATEGY",
        "PHONE_NUMBER_ID",
        "AWS_ENDPOINT_URL",
        "METRICS_NAMESPACE",
    ];

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Reads settings through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let (graph_api_base_url, graph_api_version) = graph_settings(&get)?;
        let rotation_strategy = match get("ROTATION_STRATEGY") {
            None => crate::rotation::RotationStrategy::default(),
            Some(text) => crate::rotation::RotationStrategy::parse(&text).ok_or_else(|| {
                ConfigError::Invalid {
                    name: "ROTATION_STRATEGY",
                    reason: format!("expected exchange or system_user, got {text:?}"),
                }
            })?,
        };
        let phone_number_id = get("PHONE_NUMBER_ID").map(|id| id.trim().to_owned());
        if let Some(id) = &phone_number_id {
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid {
                    name: "PHONE_NUMBER_ID",
                    reason: "expected the numeric id of a WhatsApp phone number (not the number)"
                        .to_owned(),
                });
            }
        }
        Ok(Self {
            meta_secret_id: get("META_SECRET_ID").ok_or(ConfigError::Missing("META_SECRET_ID"))?,
            graph_api_base_url,
            graph_api_version,
            rotation_strategy,
            phone_number_id,
            aws_endpoint_url: get("AWS_ENDPOINT_URL"),
            metrics_namespace: metrics_namespace(&get)?,
        })
    }
}

#[cfg(test)]
#[path = "tests/rotator_config.rs"]
mod rotator_config_tests;

/// What the ttl-expirer reads from its environment: only the table and the bucket (it deletes,
/// so it is given nothing else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirerConfig {
    /// `RECORDS_TABLE`.
    pub records_table: String,
    /// `ARCHIVE_BUCKET`.
    pub archive_bucket: String,
    /// `AWS_ENDPOINT_URL`: an emulator endpoint.
    pub aws_endpoint_url: Option<String>,
    /// `METRICS_NAMESPACE` (see [`Config::metrics_namespace`]).
    pub metrics_namespace: String,
}

impl ExpirerConfig {
    /// Every variable [`ExpirerConfig::from_lookup`] reads (a unit test checks it against the code).
    pub const VARIABLES: &'static [&'static str] = &[
        "RECORDS_TABLE",
        "ARCHIVE_BUCKET",
        "AWS_ENDPOINT_URL",
        "METRICS_NAMESPACE",
    ];

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Reads settings through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            records_table: get("RECORDS_TABLE").ok_or(ConfigError::Missing("RECORDS_TABLE"))?,
            archive_bucket: get("ARCHIVE_BUCKET").ok_or(ConfigError::Missing("ARCHIVE_BUCKET"))?,
            aws_endpoint_url: get("AWS_ENDPOINT_URL"),
            metrics_namespace: metrics_namespace(&get)?,
        })
    }
}
