//! Adapters: the ports implemented with the AWS SDK. AWS types and SDK errors stop here.

pub mod aws;
pub mod contact_data;
pub mod dynamodb;
pub mod expiry_dynamodb;
pub mod graph_http;
pub mod graph_tokens;
pub mod rotation_aws;
pub mod s3;
pub mod secretsmanager;
pub mod sqs;

use crate::ports::PortError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Classifies an SDK error into a [`PortError`] without leaking request contents: throttling,
/// timeouts and 5xx are `Unavailable`, the rest `Failed`.
///
/// A response without an error code (a HEAD answers with no body: a 403 there is AccessDenied, a missing
/// `s3:ListBucket` for a missing key included) is named by its HTTP status, so the log says what happened.
pub(crate) fn classify<E>(
    service: &'static str,
    error: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let (code, message) = match error {
        SdkError::ServiceError(context) => (
            match (context.err().code(), status) {
                (Some(code), _) => code.to_owned(),
                (None, Some(403)) => "AccessDenied (HTTP 403, no error body)".to_owned(),
                (None, Some(404)) => "NotFound (HTTP 404, no error body)".to_owned(),
                (None, Some(status)) => format!("HTTP {status} without an error code"),
                (None, None) => "unknown".to_owned(),
            },
            context.err().message().unwrap_or("").to_owned(),
        ),
        SdkError::TimeoutError(_) => ("timeout".to_owned(), String::new()),
        SdkError::DispatchFailure(_) => ("dispatch failure".to_owned(), String::new()),
        SdkError::ResponseError(_) => ("response error".to_owned(), String::new()),
        _ => ("construction failure".to_owned(), String::new()),
    };
    let transient = matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    ) || status.is_some_and(|s| s >= 500)
        || code.contains("Throttl")
        || code.contains("ProvisionedThroughputExceeded")
        || code.contains("RequestLimitExceeded")
        || code == "InternalServerError"
        || code == "InternalError"
        || code == "ServiceUnavailable"
        || code == "SlowDown";
    let detail = if message.is_empty() {
        code
    } else {
        format!("{code}: {message}")
    };
    if transient {
        PortError::Unavailable { service, detail }
    } else {
        PortError::Failed { service, detail }
    }
}

/// The one cache every reader of the Meta secret goes through (TTL, forced refresh, the last
/// good value through a Secrets Manager blip, counted on `metrics`).
pub fn meta_secret_cache(
    config: &crate::config::Config,
    clients: &aws::AwsClients,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    metrics: std::sync::Arc<dyn crate::ports::Metrics>,
) -> std::sync::Arc<crate::secrets::SecretCache<crate::secrets::MetaSecret>> {
    std::sync::Arc::new(
        crate::secrets::SecretCache::new(
            std::sync::Arc::new(secretsmanager::SecretsManagerSource::new(
                clients.secretsmanager.clone(),
            )),
            clock,
            config.meta_secret_id.clone(),
            crate::secrets::DEFAULT_SECRET_TTL_SECONDS,
            crate::secrets::parse_meta_secret,
        )
        .with_metrics(metrics),
    )
}

/// Wires the webhook use case to AWS: one place, shared by the Lambda and the tools.
pub fn ingest_service(
    config: &crate::config::Config,
    clients: &aws::AwsClients,
    metrics: std::sync::Arc<dyn crate::ports::Metrics>,
) -> crate::ingest::Ingest {
    use crate::clock::{Clock, SystemClock};
    use crate::secrets::{self, SecretCache};
    use std::sync::Arc;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let source: Arc<dyn crate::ports::SecretSource> = Arc::new(
        secretsmanager::SecretsManagerSource::new(clients.secretsmanager.clone()),
    );
    crate::ingest::Ingest {
        journal: Arc::new(s3::S3Journal::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
            config.kms_key_id.clone(),
        )),
        records: Arc::new(dynamodb::DynamoRecordStore::new(
            clients.dynamodb.clone(),
            config.records_table.clone(),
        )),
        queue: Arc::new(sqs::SqsJobQueue::new(
            clients.sqs.clone(),
            config.media_queue_url.clone(),
        )),
        meta_secret: meta_secret_cache(config, clients, clock.clone(), metrics.clone()),
        // The hash key never rotates (that would orphan every contact index): cache it for the
        // life of the instance.
        contact_hash_key: Arc::new(SecretCache::new(
            source,
            clock.clone(),
            config.contact_hash_secret_id.clone(),
            i64::MAX,
            secrets::parse_contact_hash_key,
        )),
        clock,
        metrics,
        retention: crate::retention::RetentionPolicy::days(config.retention_days),
        media_deadline_days: config.media_deadline_days,
    }
}

/// Wires the media archiver to AWS and the Graph API.
pub fn archiver_service(
    config: &crate::config::Config,
    clients: &aws::AwsClients,
    metrics: std::sync::Arc<dyn crate::ports::Metrics>,
) -> Result<crate::archive::Archiver, graph_http::GraphClientBuildError> {
    use crate::clock::{Clock, SystemClock};
    use std::sync::Arc;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(crate::archive::Archiver {
        graph: Arc::new(graph_http::HttpGraphClient::with_download_hosts(
            &config.graph_api_base_url,
            &config.graph_api_version,
            &config.media_download_hosts,
        )?),
        store: Arc::new(s3::S3MediaStore::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
            config.kms_key_id.clone(),
        )),
        records: Arc::new(dynamodb::DynamoRecordStore::new(
            clients.dynamodb.clone(),
            config.records_table.clone(),
        )),
        meta_secret: meta_secret_cache(config, clients, clock.clone(), metrics.clone()),
        clock,
        metrics,
    })
}

/// Wires the media sweep to AWS.
pub fn media_sweep_service(
    config: &crate::config::Config,
    clients: &aws::AwsClients,
    metrics: std::sync::Arc<dyn crate::ports::Metrics>,
) -> crate::sweep::MediaSweep {
    use std::sync::Arc;
    let records = Arc::new(dynamodb::DynamoRecordStore::new(
        clients.dynamodb.clone(),
        config.records_table.clone(),
    ));
    crate::sweep::MediaSweep {
        index: records.clone(),
        queue: Arc::new(sqs::SqsJobQueue::new(
            clients.sqs.clone(),
            config.media_queue_url.clone(),
        )),
        records,
        dead_letters: config.media_dlq_url.clone().map(|url| {
            Arc::new(sqs::SqsDeadLetters::new(clients.sqs.clone(), url))
                as Arc<dyn crate::ports::DeadLetters>
        }),
        clock: Arc::new(crate::clock::SystemClock),
        metrics,
    }
}

/// Wires the token rotator to Secrets Manager and the Graph API.
pub fn rotator_service(
    config: &crate::config::RotatorConfig,
    clients: &aws::AwsClients,
    metrics: std::sync::Arc<dyn crate::ports::Metrics>,
) -> Result<crate::rotation::Rotator, graph_http::GraphClientBuildError> {
    use std::sync::Arc;
    Ok(crate::rotation::Rotator {
        secrets: Arc::new(rotation_aws::SecretsManagerVersions::new(
            clients.secretsmanager.clone(),
        )),
        graph: Arc::new(graph_tokens::HttpTokenGraph::new(
            &config.graph_api_base_url,
            &config.graph_api_version,
        )?),
        clock: Arc::new(crate::clock::SystemClock),
        metrics,
        strategy: config.rotation_strategy,
        phone_number_id: config.phone_number_id.clone(),
    })
}

/// Wires the retention use case (ttl-expirer) to AWS.
pub fn expirer_service(
    config: &crate::config::ExpirerConfig,
    clients: &aws::AwsClients,
    metrics: std::sync::Arc<dyn crate::ports::Metrics>,
) -> crate::expiry::Expirer {
    use std::sync::Arc;
    crate::expiry::Expirer {
        records: Arc::new(expiry_dynamodb::DynamoExpiringRecords::new(
            clients.dynamodb.clone(),
            config.records_table.clone(),
        )),
        objects: Arc::new(s3::S3ArchiveObjects::new(
            clients.s3.clone(),
            config.archive_bucket.clone(),
        )),
        clock: Arc::new(crate::clock::SystemClock),
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::classify;
    use crate::ports::PortError;
    use aws_sdk_s3::config::http::HttpResponse;
    use aws_sdk_s3::error::{ErrorMetadata, SdkError};
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    fn head_error(status: u16) -> SdkError<HeadObjectError, HttpResponse> {
        let response = HttpResponse::new(
            status.try_into().expect("a valid HTTP status"),
            SdkBody::empty(),
        );
        SdkError::service_error(
            HeadObjectError::generic(ErrorMetadata::builder().build()),
            response,
        )
    }

    #[test]
    fn a_bodyless_403_is_named_access_denied_not_unknown() {
        match classify("s3", &head_error(403)) {
            PortError::Failed { detail, .. } => {
                assert!(detail.starts_with("AccessDenied (HTTP 403"), "{detail}")
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        match classify("s3", &head_error(503)) {
            PortError::Unavailable { detail, .. } => {
                assert!(detail.contains("HTTP 503"), "{detail}")
            }
            other => panic!("a 5xx is transient, got {other:?}"),
        }
    }
}
