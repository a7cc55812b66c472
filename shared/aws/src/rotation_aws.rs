//! Secrets Manager versions and staging labels ([`SecretVersions`]) for the token rotator.
//!
//! Every read names its version or stage explicitly (`VersionStage=AWSCURRENT` rather than the
//! default): the rotation logic must never depend on what a default read resolves to. Values are
//! never logged nor put into errors; SDK errors are classified by `classify` (crate-private), which keeps
//! AWS's code and message only (those never echo a secret value).

use crate::classify;
use async_trait::async_trait;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use wavault_core::error::PortError;
use wavault_core::rotation::{SecretVersion, SecretVersions, VersionValue};

const SERVICE: &str = "secretsmanager";

/// [`SecretVersions`] over the Secrets Manager API.
pub struct SecretsManagerVersions {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerVersions {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretVersions for SecretsManagerVersions {
    async fn versions(&self, secret_id: &str) -> Result<Vec<SecretVersion>, PortError> {
        let described = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| classify(SERVICE, &e))?;
        let mut versions: Vec<SecretVersion> = described
            .version_ids_to_stages()
            .map(|map| {
                map.iter()
                    .map(|(id, stages)| SecretVersion {
                        version_id: id.clone(),
                        stages: stages.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        versions.sort_by(|a, b| a.version_id.cmp(&b.version_id));
        Ok(versions)
    }

    async fn value_at_stage(
        &self,
        secret_id: &str,
        stage: &str,
    ) -> Result<Option<VersionValue>, PortError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .send()
            .await;
        value(secret_id, result)
    }

    async fn value_of_version(
        &self,
        secret_id: &str,
        version_id: &str,
    ) -> Result<Option<VersionValue>, PortError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(version_id)
            .send()
            .await;
        value(secret_id, result)
    }

    async fn put_staged(
        &self,
        secret_id: &str,
        version_id: &str,
        text: &str,
        stage: &str,
    ) -> Result<(), PortError> {
        // With `VersionStages` named, PutSecretValue attaches that label only (moving it from any
        // other version); without, it would move AWSCURRENT to the new version at once.
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(text)
            .version_stages(stage)
            .send()
            .await
            .map_err(|e| classify(SERVICE, &e))?;
        Ok(())
    }

    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<(), PortError> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage)
            .set_move_to_version_id(move_to.map(str::to_owned))
            .set_remove_from_version_id(remove_from.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify(SERVICE, &e))?;
        Ok(())
    }
}

/// `None` for "no such version / stage / value yet" (`ResourceNotFoundException`); the value
/// otherwise. A version without a `SecretString` (binary) is an error: the Meta secret is JSON.
fn value(
    secret_id: &str,
    result: Result<
        GetSecretValueOutput,
        SdkError<GetSecretValueError, aws_sdk_secretsmanager::config::http::HttpResponse>,
    >,
) -> Result<Option<VersionValue>, PortError> {
    let output = match result {
        Ok(output) => output,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(GetSecretValueError::is_resource_not_found_exception) =>
        {
            return Ok(None)
        }
        Err(error) => return Err(classify(SERVICE, &error)),
    };
    let text = output
        .secret_string()
        .ok_or_else(|| {
            PortError::failed(SERVICE, format!("secret {secret_id} has no SecretString"))
        })?
        .to_owned();
    Ok(Some(VersionValue {
        version_id: output.version_id().unwrap_or_default().to_owned(),
        text,
    }))
}
