//! A running webhook: moto with the template's resources, the real `webhook` binary behind the
//! Runtime API emulator, and the HTTP front door. Used by the integration tests and the demo.

use crate::aws::{dynamodb_client, s3_client, sdk_config, sqs_client};
use crate::http_front::HttpFrontDoor;
use crate::lambda_emulator::LambdaProcess;
use crate::local_stack::LocalStack;
use crate::{target_dir, Error, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use wavault_core::records::attributes::{PK, SK};
use wavault_core::webhook::signature::signature_header;

/// The app secret the local stack's Meta secret holds.
pub const APP_SECRET: &str = "local-app-secret";
/// The verify token the local stack's Meta secret holds.
pub const VERIFY_TOKEN: &str = "local-verify-token";
/// A token-shaped value, so tests can assert it never reaches a log.
pub const ACCESS_TOKEN: &str = "EAAGlocalACCESSTOKENdoNotLog";
/// The contact-hash key of the local stack.
pub const CONTACT_HASH_KEY: &str = "local-contact-hash-key-0123456789abcdef";

/// The Meta secret JSON of the local stack.
pub fn meta_secret_json() -> String {
    serde_json::json!({
        "app_id": "100000000000001",
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "access_token": ACCESS_TOKEN,
    })
    .to_string()
}

/// The path of a workspace binary built by `cargo build` (the test command builds them first).
pub fn function_binary(name: &str) -> Result<PathBuf> {
    let profile = std::env::var("WAVAULT_BIN_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    let path = target_dir().join(profile).join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Emulator(format!(
            "{} not found: build the functions first (`cargo build --workspace --bins`; `make test` does)",
            path.display()
        )))
    }
}

/// HTTP answer as seen by Meta.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// The webhook, its AWS resources and clients to inspect them.
pub struct WebhookStack {
    pub stack: LocalStack,
    pub endpoint: String,
    pub lambda: Arc<LambdaProcess>,
    pub front_door: HttpFrontDoor,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
}

impl WebhookStack {
    /// Provisions under `suffix` in the emulator at `endpoint` and starts the webhook binary.
    /// `env_override` replaces function settings (e.g. a missing table to inject a failure).
    pub async fn start(
        endpoint: &str,
        suffix: &str,
        env_override: &[(&str, &str)],
    ) -> Result<WebhookStack> {
        let sdk = sdk_config(endpoint);
        let stack =
            LocalStack::provision(&sdk, suffix, &meta_secret_json(), CONTACT_HASH_KEY).await?;
        let (lambda, front_door) = spawn_webhook(&stack, endpoint, env_override)?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Emulator(format!("http client: {e}")))?;
        Ok(WebhookStack {
            dynamodb: dynamodb_client(&sdk),
            s3: s3_client(&sdk),
            sqs: sqs_client(&sdk),
            stack,
            endpoint: endpoint.to_owned(),
            lambda,
            front_door,
            http,
        })
    }

    /// Replaces the running webhook process with a new one over the same resources (e.g. to
    /// repair a setting after injecting a failure).
    pub fn respawn(&mut self, env_override: &[(&str, &str)]) -> Result<()> {
        let (lambda, front_door) = spawn_webhook(&self.stack, &self.endpoint, env_override)?;
        self.lambda = lambda;
        self.front_door = front_door;
        Ok(())
    }

    /// The URL Meta would be given (`.../webhook`).
    pub fn webhook_url(&self) -> String {
        self.front_door.url()
    }

    /// POSTs `body` with the signature header made with `secret` (`None`: no header).
    pub async fn post(&self, body: &[u8], secret: Option<&str>) -> Result<HttpAnswer> {
        let mut request = self
            .http
            .post(self.webhook_url())
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(secret) = secret {
            request = request.header(
                "X-Hub-Signature-256",
                signature_header(secret.as_bytes(), body),
            );
        }
        answer(request.send().await).await
    }

    /// POSTs `body` signed with the stack's app secret.
    pub async fn post_signed(&self, body: &[u8]) -> Result<HttpAnswer> {
        self.post(body, Some(APP_SECRET)).await
    }

    /// Meta's verification GET.
    pub async fn handshake(&self, verify_token: &str, challenge: &str) -> Result<HttpAnswer> {
        let url = reqwest::Url::parse_with_params(
            &self.webhook_url(),
            &[
                ("hub.mode", "subscribe"),
                ("hub.verify_token", verify_token),
                ("hub.challenge", challenge),
            ],
        )
        .map_err(|e| Error::Emulator(format!("handshake URL: {e}")))?;
        answer(self.http.get(url).send().await).await
    }

    /// Every item of the records table.
    pub async fn items(&self) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .scan()
                .table_name(&self.stack.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| aws_error("Scan", e))?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// The item of the message (or status) `wamid` with sort key `sk`, read by the partition key
    /// the webhook derives from the wamid ([`LocalStack::message_key`]).
    pub async fn item(
        &self,
        wamid: &str,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>> {
        let output = self
            .dynamodb
            .get_item()
            .table_name(&self.stack.table)
            .key(PK, AttributeValue::S(self.stack.message_key(wamid)))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("GetItem", e))?;
        Ok(output.item().cloned())
    }

    /// Writes the retention sweep's checkpoint (the first expiry hour the next sweep reads) through
    /// the expirer's own adapter. A deployment's first sweep has none and reads 7 days of every
    /// shard (5,408 index queries: seconds on DynamoDB, over a minute on moto, which scans the
    /// whole table for each); tests and the demo that are not about that start from a few hours.
    pub async fn set_sweep_checkpoint(&self, hour: i64) -> Result<()> {
        use wavault_core::retention::ExpiringRecords;
        wavault_aws::expiry_dynamodb::DynamoExpiringRecords::new(
            self.dynamodb.clone(),
            self.stack.table.clone(),
        )
        .set_sweep_checkpoint(hour)
        .await
        .map_err(|e| aws_error("PutItem (sweep checkpoint)", e))
    }

    /// Moves an item's expiry to `expires_at`, and its expiry-index slot with it (the new hour, the shard its key
    /// is in): what waiting would do, for tests of the retention clock.
    pub async fn expire_item(
        &self,
        key: &wavault_core::records::ItemKey,
        expires_at: i64,
    ) -> Result<()> {
        let slot = wavault_core::retention::ExpirySlot::of(key, expires_at);
        self.dynamodb
            .update_item()
            .table_name(&self.stack.table)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .update_expression("SET expires_at = :at, expiry_slot = :slot")
            .expression_attribute_values(":at", AttributeValue::N(expires_at.to_string()))
            .expression_attribute_values(":slot", AttributeValue::S(slot.to_string()))
            .send()
            .await
            .map_err(|e| aws_error("UpdateItem (expiry)", e))?;
        Ok(())
    }

    /// Runs the real `wavault` operator tool as the operator (the template's `ContactDataOperatorPolicy`, checked
    /// by the IAM gateway) with this stack's environment only (no developer profile or credentials).
    pub async fn run_wavault(&self, args: &[&str]) -> Result<std::process::Output> {
        self.run_wavault_with(args, &[]).await
    }

    /// [`run_wavault`](Self::run_wavault) with `env_override` applied (e.g. `AWS_ENDPOINT_URL` through a proxy).
    pub async fn run_wavault_with(
        &self,
        args: &[&str],
        env_override: &[(&str, &str)],
    ) -> Result<std::process::Output> {
        let mut env = self.stack.function_env(
            crate::iam::Principal::Operator,
            &self.endpoint,
            "http://127.0.0.1:9",
        )?;
        for (key, value) in env_override {
            env.retain(|(k, _)| k != key);
            env.push(((*key).to_owned(), (*value).to_owned()));
        }
        tokio::process::Command::new(function_binary("wavault")?)
            .args(args)
            .env_clear()
            .envs(env)
            .output()
            .await
            .map_err(crate::Error::io("running wavault"))
    }

    /// The message, status and error items (without the journal links and body items kept for
    /// erasure and retention).
    pub async fn records(&self) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut items = self.items().await?;
        items.retain(|item| !matches!(s(item, "kind"), Some("journal-link" | "journal-body")));
        Ok(items)
    }

    /// The journal-link items (contact hash -> journal object).
    pub async fn journal_links(&self) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut items = self.items().await?;
        items.retain(|item| s(item, "kind") == Some("journal-link"));
        Ok(items)
    }

    /// Every object key under `prefix` in the archive bucket.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(&self.stack.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| aws_error("ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(next) => token = Some(next.to_owned()),
                None => return Ok(keys),
            }
        }
    }

    /// The bytes of an archive object.
    pub async fn object(&self, key: &str) -> Result<Vec<u8>> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.stack.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_error("GetObject", e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| Error::Emulator(format!("GetObject body: {e:?}")))?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Receives and deletes every message on the media queue (the jobs as JSON).
    pub async fn drain_jobs(&self) -> Result<Vec<serde_json::Value>> {
        let mut jobs = Vec::new();
        loop {
            let page = self
                .sqs
                .receive_message()
                .queue_url(&self.stack.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(|e| aws_error("ReceiveMessage", e))?;
            let messages = page.messages();
            if messages.is_empty() {
                return Ok(jobs);
            }
            for message in messages {
                if let Some(body) = message.body() {
                    jobs.push(
                        serde_json::from_str(body)
                            .map_err(|e| Error::BadResponse(format!("job body: {e}")))?,
                    );
                }
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.stack.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(|e| aws_error("DeleteMessage", e))?;
                }
            }
        }
    }
}

/// `GRAPH_API_BASE_URL` when set (the demo passes it through), else an unused loopback port
/// (the webhook makes no Graph call).
fn graph_base_url() -> String {
    std::env::var("GRAPH_API_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:9".into())
}

/// Spawns a workspace function binary over `stack` with `env_override` applied.
pub fn spawn_function(
    name: &str,
    stack: &LocalStack,
    endpoint: &str,
    graph_base_url: &str,
    env_override: &[(&str, &str)],
) -> Result<LambdaProcess> {
    let principal = crate::iam::Principal::of_binary(name).ok_or_else(|| {
        Error::Emulator(format!(
            "{name} is not a wavault function (no IAM principal)"
        ))
    })?;
    let mut env = stack.function_env(principal, endpoint, graph_base_url)?;
    for (key, value) in env_override {
        env.retain(|(k, _)| k != key);
        env.push(((*key).to_owned(), (*value).to_owned()));
    }
    // Generous: moto answers one request at a time, and a 1000-update batch on a busy 2-core CI
    // machine can take a minute there (on DynamoDB it takes well under a second).
    let config = crate::lambda_emulator::LambdaConfig {
        function_name: Some(name.to_owned()),
        timeout: std::time::Duration::from_secs(300),
        ..Default::default()
    };
    LambdaProcess::spawn_with(&function_binary(name)?, &env, config)
}

fn spawn_webhook(
    stack: &LocalStack,
    endpoint: &str,
    env_override: &[(&str, &str)],
) -> Result<(Arc<LambdaProcess>, HttpFrontDoor)> {
    let lambda = Arc::new(spawn_function(
        "webhook",
        stack,
        endpoint,
        &graph_base_url(),
        env_override,
    )?);
    let front_door = HttpFrontDoor::start(lambda.clone(), "/webhook")?;
    Ok((lambda, front_door))
}

async fn answer(result: reqwest::Result<reqwest::Response>) -> Result<HttpAnswer> {
    let response = result.map_err(|e| Error::Emulator(format!("HTTP request: {e}")))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .text()
        .await
        .map_err(|e| Error::Emulator(format!("HTTP body: {e}")))?;
    Ok(HttpAnswer {
        status,
        content_type,
        body,
    })
}

fn aws_error(operation: &'static str, error: impl std::fmt::Debug) -> Error {
    Error::Aws {
        operation,
        message: format!("{error:?}"),
    }
}

/// A string attribute of an item.
pub fn s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// A number attribute of an item.
pub fn n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}
