//! The sections settings are made of: one type per concern, each reading its own variables (and nothing else)
//! with the defaults and checks that concern needs. A function's settings pick the sections it uses.

use super::{ConfigError, Lookup, Section};
use crate::rotation::RotationStrategy;

/// Default Graph API host.
pub const DEFAULT_GRAPH_API_BASE_URL: &str = "https://graph.facebook.com";
/// Default Graph API version (configurable: Meta retires versions about two years after release).
pub const DEFAULT_GRAPH_API_VERSION: &str = "v23.0";
/// Default retention, as Meta's own for message content.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// `name`'s value; blank counts as unset (a template parameter left empty).
fn optional(lookup: Lookup<'_>, name: &'static str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

fn required(lookup: Lookup<'_>, name: &'static str) -> Result<String, ConfigError> {
    optional(lookup, name).ok_or(ConfigError::Missing(name))
}

fn is_http_url(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// Whole days in `range`, or `default` when unset.
fn days(
    lookup: Lookup<'_>,
    name: &'static str,
    range: std::ops::RangeInclusive<u32>,
    default: u32,
) -> Result<u32, ConfigError> {
    let Some(text) = optional(lookup, name) else {
        return Ok(default);
    };
    match text.trim().parse::<u32>() {
        Ok(days) if range.contains(&days) => Ok(days),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!(
                "expected whole days between {} and {}, got {text:?}",
                range.start(),
                range.end()
            ),
        }),
    }
}

/// `RECORDS_TABLE`: the DynamoDB table of message, status and error records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordsTable {
    pub name: String,
}

impl Section for RecordsTable {
    const VARIABLES: &'static [&'static str] = &["RECORDS_TABLE"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            name: required(lookup, "RECORDS_TABLE")?,
        })
    }
}

/// `ARCHIVE_BUCKET`: the S3 bucket; media under `media/`, the journal under `journal/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveBucket {
    pub name: String,
}

impl Section for ArchiveBucket {
    const VARIABLES: &'static [&'static str] = &["ARCHIVE_BUCKET"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            name: required(lookup, "ARCHIVE_BUCKET")?,
        })
    }
}

/// `KMS_KEY_ID`: the key for SSE-KMS on the objects wavault writes; AES256 when unset. Apart from
/// the bucket: what only deletes objects (the ttl-expirer) needs no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEncryption {
    pub kms_key_id: Option<String>,
}

impl Section for ArchiveEncryption {
    const VARIABLES: &'static [&'static str] = &["KMS_KEY_ID"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            kms_key_id: optional(lookup, "KMS_KEY_ID"),
        })
    }
}

/// `MEDIA_QUEUE_URL`: the SQS queue of media jobs, by URL (what the SQS API takes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaQueue {
    pub url: String,
}

impl Section for MediaQueue {
    const VARIABLES: &'static [&'static str] = &["MEDIA_QUEUE_URL"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let url = required(lookup, "MEDIA_QUEUE_URL")?;
        if !is_http_url(&url) {
            return Err(ConfigError::Invalid {
                name: "MEDIA_QUEUE_URL",
                reason: "must be the queue URL, not its name or ARN".to_owned(),
            });
        }
        Ok(Self { url })
    }
}

/// `MEDIA_DLQ_URL`: the media queue's dead-letter queue, drained by the media sweep (no drain
/// when unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDeadLetters {
    pub url: Option<String>,
}

impl Section for MediaDeadLetters {
    const VARIABLES: &'static [&'static str] = &["MEDIA_DLQ_URL"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            url: optional(lookup, "MEDIA_DLQ_URL"),
        })
    }
}

/// `META_SECRET_ID`: the Secrets Manager id of the Meta credentials JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaSecret {
    pub id: String,
}

impl Section for MetaSecret {
    const VARIABLES: &'static [&'static str] = &["META_SECRET_ID"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            id: required(lookup, "META_SECRET_ID")?,
        })
    }
}

/// `CONTACT_HASH_SECRET_ID`: the Secrets Manager id of the key contact ids are hashed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactHashSecret {
    pub id: String,
}

impl Section for ContactHashSecret {
    const VARIABLES: &'static [&'static str] = &["CONTACT_HASH_SECRET_ID"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            id: required(lookup, "CONTACT_HASH_SECRET_ID")?,
        })
    }
}

/// `GRAPH_API_BASE_URL` (without a trailing slash) and `GRAPH_API_VERSION`, with their defaults,
/// validated the same way for every function that calls Graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphApi {
    pub base_url: String,
    /// e.g. `v23.0`.
    pub version: String,
}

impl Section for GraphApi {
    const VARIABLES: &'static [&'static str] = &["GRAPH_API_BASE_URL", "GRAPH_API_VERSION"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let base_url = optional(lookup, "GRAPH_API_BASE_URL")
            .unwrap_or_else(|| DEFAULT_GRAPH_API_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !is_http_url(&base_url) {
            return Err(ConfigError::Invalid {
                name: "GRAPH_API_BASE_URL",
                reason: "must be an http(s) URL".to_owned(),
            });
        }
        let version = optional(lookup, "GRAPH_API_VERSION")
            .unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned());
        if !is_graph_version(&version) {
            return Err(ConfigError::Invalid {
                name: "GRAPH_API_VERSION",
                reason: format!("expected a version like v23.0, got {version:?}"),
            });
        }
        Ok(Self { base_url, version })
    }
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

/// `MEDIA_DOWNLOAD_HOSTS`: the hosts media may be downloaded from, redirects included (default
/// [`crate::media::META_MEDIA_HOSTS`]; only the local stack sets it). Host names (optionally
/// `host:port`), comma-separated, compared case-insensitively; no schemes, paths or wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDownloadHosts {
    pub hosts: Vec<String>,
}

impl Section for MediaDownloadHosts {
    const VARIABLES: &'static [&'static str] = &["MEDIA_DOWNLOAD_HOSTS"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let Some(text) = optional(lookup, "MEDIA_DOWNLOAD_HOSTS") else {
            return Ok(Self {
                hosts: crate::media::META_MEDIA_HOSTS
                    .iter()
                    .map(|h| (*h).to_owned())
                    .collect(),
            });
        };
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
            Ok(Self { hosts })
        } else {
            Err(ConfigError::Invalid {
                name: "MEDIA_DOWNLOAD_HOSTS",
                reason: "expected host names separated by commas (no scheme, path or wildcard)"
                    .to_owned(),
            })
        }
    }
}

/// `RETENTION_DAYS`: records and archives expire this many days after receipt (1-3650).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub days: u32,
}

impl Section for Retention {
    const VARIABLES: &'static [&'static str] = &["RETENTION_DAYS"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            days: days(lookup, "RETENTION_DAYS", 1..=3650, DEFAULT_RETENTION_DAYS)?,
        })
    }
}

/// `MEDIA_DEADLINE_DAYS`: how long Meta serves an inbound media id (1-30, default 7); stamped on
/// each media record by the webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaDeadline {
    pub days: u32,
}

impl Section for MediaDeadline {
    const VARIABLES: &'static [&'static str] = &["MEDIA_DEADLINE_DAYS"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            days: days(
                lookup,
                "MEDIA_DEADLINE_DAYS",
                1..=30,
                crate::media::DEFAULT_MEDIA_DEADLINE_DAYS,
            )?,
        })
    }
}

/// `METRICS_NAMESPACE`: the CloudWatch namespace of the EMF metrics (the template gives each stack
/// its own, `wavault/<stack name>`, so two stacks never share a metric or an alarm); default
/// [`crate::metrics::DEFAULT_NAMESPACE`]. CloudWatch's rules: 1-255 characters of letters, digits
/// and `. - _ / # :` (and spaces), not starting with `AWS/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsNamespace {
    pub namespace: String,
}

impl Section for MetricsNamespace {
    const VARIABLES: &'static [&'static str] = &["METRICS_NAMESPACE"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let Some(namespace) = optional(lookup, "METRICS_NAMESPACE") else {
            return Ok(Self {
                namespace: crate::metrics::DEFAULT_NAMESPACE.to_owned(),
            });
        };
        let namespace = namespace.trim().to_owned();
        let valid = namespace.len() <= 255
            && !namespace.starts_with("AWS/")
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
        if valid {
            Ok(Self { namespace })
        } else {
            Err(ConfigError::Invalid {
                name: "METRICS_NAMESPACE",
                reason: "expected at most 255 of A-Z a-z 0-9 . - _ / # : and not AWS/..."
                    .to_owned(),
            })
        }
    }
}

/// `AWS_ENDPOINT_URL`: an emulator endpoint for every AWS client (S3 then uses path-style
/// addressing). Only the local stack sets it; the SDK configuration is loaded with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsEndpoint {
    pub url: Option<String>,
}

impl Section for AwsEndpoint {
    const VARIABLES: &'static [&'static str] = &["AWS_ENDPOINT_URL"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            url: optional(lookup, "AWS_ENDPOINT_URL"),
        })
    }
}

/// How the token rotator rotates: `ROTATION_STRATEGY` (`exchange`, the default, or `system_user`)
/// and `PHONE_NUMBER_ID` (when set, testSecret reads this phone number with the new token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub strategy: RotationStrategy,
    pub phone_number_id: Option<String>,
}

impl Section for Rotation {
    const VARIABLES: &'static [&'static str] = &["ROTATION_STRATEGY", "PHONE_NUMBER_ID"];

    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let strategy = match optional(lookup, "ROTATION_STRATEGY") {
            None => RotationStrategy::default(),
            Some(text) => RotationStrategy::parse(&text).ok_or_else(|| ConfigError::Invalid {
                name: "ROTATION_STRATEGY",
                reason: format!("expected exchange or system_user, got {text:?}"),
            })?,
        };
        let phone_number_id = optional(lookup, "PHONE_NUMBER_ID").map(|id| id.trim().to_owned());
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
            strategy,
            phone_number_id,
        })
    }
}
