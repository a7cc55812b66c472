//! The token rotator locally: a Meta secret in moto, the fake Graph API, and the real `token-rotator` binary
//! invoked with Secrets Manager rotation events and EventBridge scheduled events, as Lambda would.
//!
//! Also [`CurrentStageProxy`]: moto 5.2.5 answers a `GetSecretValue` that names no version or stage with the
//! version most recently *put* as current, not the one `UpdateSecretVersionStage` moved `AWSCURRENT` to (AWS
//! answers `AWSCURRENT`). Readers that rely on the default (the functions' `SecretsManagerSource`) see the
//! rotated value on AWS but not on moto; the proxy, put between such a reader and moto, adds
//! `"VersionStage": "AWSCURRENT"` to those requests, which is exactly AWS's default.

use std::collections::HashMap;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

use crate::aws::{sdk_config, secrets_client, REGION, SECRET_ACCESS_KEY};
use crate::fake_graph::{FakeGraph, DEFAULT_APP_ID};
use crate::lambda_emulator::{Invocation, LambdaProcess};
use crate::serve::LoopbackServer;
use crate::webhook_stack::{function_binary, meta_secret_json, ACCESS_TOKEN, APP_SECRET};
use crate::{Error, Result};

/// The Graph API version the rotator is configured with.
pub const GRAPH_API_VERSION: &str = "v23.0";

/// A Meta secret in moto, the fake Graph API (knowing the secret's app and token) and the rotator binary.
pub struct RotationStack {
    pub endpoint: String,
    /// The secret's ARN (what `!Ref` gives the function and what Secrets Manager puts in its events).
    pub secret_id: String,
    pub graph: FakeGraph,
    pub rotator: LambdaProcess,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl RotationStack {
    /// Creates the secret `wavault-meta-<suffix>` (the local stack's Meta secret plus `extra_fields`), starts the
    /// fake Graph API with the secret's app and token valid, and the rotator with `env` (e.g.
    /// `ROTATION_STRATEGY`, `PHONE_NUMBER_ID`).
    pub async fn start(
        endpoint: &str,
        suffix: &str,
        extra_fields: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> Result<RotationStack> {
        let graph = FakeGraph::start()?;
        graph.set_app(DEFAULT_APP_ID, APP_SECRET);
        graph.set_valid_tokens(&[ACCESS_TOKEN]);
        let mut secret: Value = serde_json::from_str(&meta_secret_json())
            .map_err(|e| Error::Emulator(format!("meta secret JSON: {e}")))?;
        for (name, value) in extra_fields {
            secret[*name] = json!(value);
        }
        let secrets = secrets_client(&sdk_config(endpoint));
        let created = secrets
            .create_secret()
            .name(format!("wavault-meta-{suffix}"))
            .secret_string(secret.to_string())
            .send()
            .await
            .map_err(aws("CreateSecret"))?;
        let secret_id = created
            .arn()
            .ok_or_else(|| Error::Emulator("CreateSecret returned no ARN".into()))?
            .to_owned();
        let rotator = spawn_rotator(endpoint, suffix, &secret_id, &graph.base_url(), env)?;
        Ok(RotationStack {
            endpoint: endpoint.to_owned(),
            secret_id,
            graph,
            rotator,
            secrets,
        })
    }

    /// Invokes the rotator with Secrets Manager's event for `step` of the rotation `client_request_token`.
    pub async fn step(&self, step: &str, client_request_token: &str) -> Result<Invocation> {
        self.rotator
            .invoke(rotation_event(step, &self.secret_id, client_request_token))
            .await
    }

    /// Invokes the rotator with an EventBridge scheduled event.
    pub async fn scheduled(&self) -> Result<Invocation> {
        self.rotator.invoke(scheduled_event()).await
    }

    /// `VersionIdsToStages`.
    pub async fn stages(&self) -> Result<HashMap<String, Vec<String>>> {
        let described = self
            .secrets
            .describe_secret()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(aws("DescribeSecret"))?;
        Ok(described
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default())
    }

    /// The version id carrying `stage`, if any.
    pub async fn version_at(&self, stage: &str) -> Result<Option<String>> {
        Ok(self
            .stages()
            .await?
            .into_iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id))
    }

    /// The secret JSON of the version carrying `stage` (read by stage, never by moto's default).
    pub async fn json_at(&self, stage: &str) -> Result<Value> {
        let value = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(stage)
            .send()
            .await
            .map_err(aws("GetSecretValue"))?;
        serde_json::from_str(value.secret_string().unwrap_or_default())
            .map_err(|e| Error::Emulator(format!("secret at {stage} is not JSON: {e}")))
    }

    /// The `access_token` of `AWSCURRENT`.
    pub async fn current_token(&self) -> Result<String> {
        Ok(self.json_at("AWSCURRENT").await?["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Puts `value` as an operator does with `aws secretsmanager put-secret-value` (no stage named: the new
    /// version becomes `AWSCURRENT`, the old one `AWSPREVIOUS`; `AWSPENDING` stays where it is). The new version id.
    ///
    /// moto 5.2.5 takes `AWSCURRENT` off the version last *put* as current rather than the one carrying it (the
    /// quirk in the module docs), so after `UpdateSecretVersionStage` moved `AWSCURRENT` (a finished rotation)
    /// two versions would end up `AWSCURRENT`, which AWS never does. That is refused here: put before the first
    /// rotation finishes.
    pub async fn operator_put(&self, value: &Value) -> Result<String> {
        let put = self
            .secrets
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(value.to_string())
            .send()
            .await
            .map_err(aws("PutSecretValue"))?;
        let version_id = put
            .version_id()
            .map(str::to_owned)
            .ok_or_else(|| Error::Emulator("PutSecretValue returned no VersionId".into()))?;
        let current: Vec<String> = self
            .stages()
            .await?
            .into_iter()
            .filter(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id)
            .collect();
        if current != [version_id.clone()] {
            return Err(Error::Emulator(format!(
                "moto left AWSCURRENT on {current:?} after PutSecretValue of {version_id} (AWS moves it to the new \
                 version): put before a rotation moves AWSCURRENT"
            )));
        }
        Ok(version_id)
    }

    /// Moves `AWSCURRENT` to `version_id` as finishSecret's first call does (to stage a crash inside it).
    pub async fn move_current_to(&self, version_id: &str) -> Result<()> {
        let current = self.version_at("AWSCURRENT").await?;
        self.secrets
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .move_to_version_id(version_id)
            .set_remove_from_version_id(current)
            .send()
            .await
            .map_err(aws("UpdateSecretVersionStage"))?;
        Ok(())
    }
}

/// Spawns the `token-rotator` binary for `secret_id` with `env` applied last; its AWS calls go through the IAM
/// gateway in front of `endpoint`, checked against the rotator's role with `secret_id` as MetaSecret (stack
/// `suffix`: an existing local stack of that name, or one registered here for the secret alone).
pub fn spawn_rotator(
    endpoint: &str,
    suffix: &str,
    secret_id: &str,
    graph_base_url: &str,
    env: &[(&str, &str)],
) -> Result<LambdaProcess> {
    let gateway = crate::iam::register_secret_only(endpoint, suffix, secret_id)?.endpoint();
    let access_key = crate::iam::Principal::TokenRotator.access_key_id(suffix);
    let mut vars: Vec<(String, String)> = [
        ("META_SECRET_ID", secret_id),
        ("GRAPH_API_BASE_URL", graph_base_url),
        ("GRAPH_API_VERSION", GRAPH_API_VERSION),
        ("AWS_ENDPOINT_URL", gateway.as_str()),
        ("AWS_ACCESS_KEY_ID", access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_REGION", REGION),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (key, value) in env {
        vars.retain(|(k, _)| k != key);
        vars.push(((*key).to_owned(), (*value).to_owned()));
    }
    LambdaProcess::spawn(&function_binary("token-rotator")?, &vars)
}

/// The event Secrets Manager sends a rotation function.
pub fn rotation_event(step: &str, secret_id: &str, client_request_token: &str) -> Value {
    json!({
        "Step": step,
        "SecretId": secret_id,
        "ClientRequestToken": client_request_token,
        "RotationToken": "e2f1c4a0-0000-4000-8000-000000000000",
    })
}

/// An EventBridge scheduled event (a `Schedule` event source without `Input`).
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-22T00:00:00Z",
        "region": REGION,
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/wavault-token-rotation"],
        "detail": {}
    })
}

/// A proxy in front of moto that gives `GetSecretValue` AWS's default stage (see the module docs).
pub struct CurrentStageProxy {
    server: LoopbackServer,
}

impl CurrentStageProxy {
    /// Starts forwarding to the moto server at `moto_endpoint`.
    pub fn start(moto_endpoint: &str) -> Result<CurrentStageProxy> {
        let upstream = moto_endpoint.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Emulator(format!("proxy client: {e}")))?;
        let server = LoopbackServer::start("current-stage proxy", move |req, _peer| {
            forward(client.clone(), upstream.clone(), req)
        })?;
        Ok(CurrentStageProxy { server })
    }

    /// The endpoint to give a reader as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }
}

async fn forward(
    client: reqwest::Client,
    upstream: String,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let label = "current-stage proxy";
    let (parts, body) = match crate::proxy::collect(req, label).await {
        Ok(collected) => collected,
        Err(answer) => return Ok(answer),
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body = if target == "secretsmanager.GetSecretValue" {
        default_to_current(body)
    } else {
        body
    };
    Ok(
        crate::proxy::forward(&client, &upstream, &parts, body, label)
            .await
            .response,
    )
}

/// Adds `"VersionStage": "AWSCURRENT"` to a GetSecretValue request that names no version and no stage.
fn default_to_current(body: Bytes) -> Bytes {
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(mut fields))
            if !fields.contains_key("VersionId") && !fields.contains_key("VersionStage") =>
        {
            fields.insert("VersionStage".into(), json!("AWSCURRENT"));
            Bytes::from(Value::Object(fields).to_string())
        }
        _ => body,
    }
}

fn aws<E: std::fmt::Debug>(operation: &'static str) -> impl FnOnce(E) -> Error {
    move |error| Error::Aws {
        operation,
        message: format!("{error:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_without_a_version_or_stage_get_the_current_stage() {
        let added = default_to_current(Bytes::from_static(br#"{"SecretId":"s"}"#));
        assert_eq!(
            serde_json::from_slice::<Value>(&added).unwrap(),
            json!({"SecretId": "s", "VersionStage": "AWSCURRENT"})
        );
        for kept in [
            &br#"{"SecretId":"s","VersionStage":"AWSPENDING"}"#[..],
            br#"{"SecretId":"s","VersionId":"v"}"#,
            b"not json",
        ] {
            assert_eq!(default_to_current(Bytes::copy_from_slice(kept)), kept);
        }
    }
}
