//! Secrets Manager reads (`AWSCURRENT`).

use super::classify;
use crate::ports::{PortError, SecretSource};
use async_trait::async_trait;

pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerSource {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn secret_string(&self, secret_id: &str) -> Result<String, PortError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            // AWS's default, stated: moto 5.2.5 otherwise keeps answering with the version that was
            // current before a rotation moved the AWSCURRENT stage.
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| classify("secretsmanager", &e))?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| PortError::Failed {
                service: "secretsmanager",
                detail: format!("secret {secret_id} has no SecretString"),
            })
    }
}
