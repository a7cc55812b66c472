//! wavault's AWS adapters: the core's ports implemented with the AWS SDK, one module per service, each behind a
//! cargo feature so a function links only the clients it uses. AWS types and SDK errors stop here.
//!
//! - `dynamodb`: [`dynamodb`] (records, media records), [`expiry_dynamodb`] (retention), [`item_codec`] (the
//!   one mapping between the core's typed items and DynamoDB attribute values);
//! - `s3`: [`s3`] (journal, media, archive deletes);
//! - `sqs`: [`sqs`] (media jobs, dead letters);
//! - `secretsmanager`: [`secretsmanager`] (secret reads), [`rotation_aws`] (secret versions);
//! - `contact`: [`contact_data`] (erasure and export: DynamoDB, S3 and Secrets Manager);
//! - `recording`: [`recording`] (the webhook's recorder over all four), `replay`: [`replay`] (the journal read
//!   back and recorded again).
//!
//! [`sdk`] builds the configuration (timeouts per function, retries, `AWS_ENDPOINT_URL`).

#[cfg(feature = "contact")]
pub mod contact_data;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "dynamodb")]
pub mod expiry_dynamodb;
#[cfg(feature = "dynamodb")]
pub mod item_codec;
#[cfg(feature = "recording")]
pub mod recording;
#[cfg(feature = "replay")]
pub mod replay;
#[cfg(feature = "secretsmanager")]
pub mod rotation_aws;
#[cfg(feature = "s3")]
pub mod s3;
pub mod sdk;
#[cfg(feature = "secretsmanager")]
pub mod secretsmanager;
#[cfg(feature = "sqs")]
pub mod sqs;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use wavault_core::error::{redact, PortError};

/// Classifies an SDK error into a [`PortError`] without leaking request contents: throttling,
/// timeouts and 5xx are `Unavailable`, the rest `Failed`.
///
/// A response without an error code (a HEAD answers with no body: a 403 there is AccessDenied, a missing
/// `s3:ListBucket` for a missing key included) is named by its HTTP status, so the log says what happened.
pub(crate) fn classify<E>(service: &'static str, error: &SdkError<E, HttpResponse>) -> PortError
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
    // A service's message can echo what the request held (an attribute value, a key): redacted like the cause.
    let detail = if message.is_empty() {
        code
    } else {
        format!("{code}: {}", redact(&message))
    };
    let classified = if transient {
        PortError::unavailable(service, detail)
    } else {
        PortError::failed(service, detail)
    };
    classified.caused_by(error)
}

#[cfg(test)]
#[cfg(feature = "s3")]
mod tests {
    use crate::classify;
    use aws_sdk_s3::config::http::HttpResponse;
    use aws_sdk_s3::error::{ErrorMetadata, SdkError};
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::primitives::SdkBody;
    use wavault_core::error::PortError;

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
        let denied = classify("s3", &head_error(403));
        assert!(
            std::error::Error::source(&denied).is_some(),
            "the SDK error stays reachable as the (redacted) source"
        );
        match classify("s3", &head_error(503)) {
            PortError::Unavailable { detail, .. } => {
                assert!(detail.contains("HTTP 503"), "{detail}")
            }
            other => panic!("a 5xx is transient, got {other:?}"),
        }
    }
}
