//! AWS SDK configuration for the emulator.
//!
//! Built explicitly rather than with `aws_config::load_defaults`: a test must never pick up a developer's
//! profile, real credentials or `AWS_ENDPOINT_URL` from the environment and talk to a real account.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

/// Region every local resource lives in (moto's default, and what the function env says).
pub const REGION: &str = "us-east-1";
/// Static credentials moto accepts; never valid on AWS.
pub const ACCESS_KEY_ID: &str = "testing";
/// See [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "testing";

/// SDK configuration aimed at `endpoint` (a moto URL) with static test credentials.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    sdk_config_with_key(endpoint, ACCESS_KEY_ID)
}

/// [`sdk_config`] with another access key id (the IAM gateway reads the caller's principal from it).
pub fn sdk_config_with_key(endpoint: &str, access_key_id: &str) -> SdkConfig {
    let credentials = Credentials::new(
        access_key_id,
        SECRET_ACCESS_KEY,
        None,
        None,
        "wavault-tests",
    );
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint)
        .build()
}

/// An S3 client using path-style addressing, which an emulator on `127.0.0.1` needs (virtual-host style would
/// resolve `bucket.127.0.0.1`).
///
/// Response checksums are validated only when required: moto 5.2.5 answers GetObject of a
/// multipart object (copied onto itself) with a checksum header that is not the whole-object
/// digest, which the SDK would reject. Tests compare the archived bytes themselves instead.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// A DynamoDB client for `config`.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// An SQS client for `config`.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

/// A Secrets Manager client for `config`.
pub fn secrets_client(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}
