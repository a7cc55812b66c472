//! Secrets Manager reads (`AWSCURRENT`).

use crate::classify;
use async_trait::async_trait;
use wavault_core::error::PortError;
use wavault_core::secrets::SecretSource;

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
        output.secret_string().map(str::to_owned).ok_or_else(|| {
            PortError::failed(
                "secretsmanager",
                format!("secret {secret_id} has no SecretString"),
            )
        })
    }
}

/// The one cache every reader of the Meta secret goes through (TTL, forced refresh, the last
/// good value through a Secrets Manager blip, counted on `metrics`).
pub fn meta_secret_cache(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    clock: std::sync::Arc<dyn wavault_core::clock::Clock>,
    metrics: std::sync::Arc<dyn wavault_core::metrics::Metrics>,
) -> std::sync::Arc<wavault_core::secrets::SecretCache<wavault_core::secrets::MetaSecret>> {
    std::sync::Arc::new(
        wavault_core::secrets::SecretCache::new(
            std::sync::Arc::new(SecretsManagerSource::new(client.clone())),
            clock,
            secret_id.to_owned(),
            wavault_core::secrets::DEFAULT_SECRET_TTL_SECONDS,
            wavault_core::secrets::parse_meta_secret,
        )
        .with_metrics(metrics),
    )
}
