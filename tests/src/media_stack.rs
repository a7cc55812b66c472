//! The media pipeline locally: the webhook stack, the fake Graph API, and the real
//! `media-fetcher` binary fed SQS events the way Lambda's event source mapping feeds it.

use crate::fake_graph::FakeGraph;
use crate::lambda_emulator::{Invocation, LambdaProcess};
use crate::webhook_stack::{spawn_function, WebhookStack};
use crate::{Error, Result};
use serde_json::{json, Value};
use std::collections::HashSet;
use wavault_core::testkit::samples;

/// Who sends the sample media messages.
pub const CONTACT: &str = "15550001111";

/// Webhook + fake Graph + media fetcher over one set of resources.
pub struct MediaStack {
    pub webhook: WebhookStack,
    pub graph: FakeGraph,
    pub fetcher: LambdaProcess,
    /// SQS as Lambda's event source mapping calls it: with the fetcher's role, through the IAM gateway.
    event_source: aws_sdk_sqs::Client,
}

/// What one fetcher invocation did.
#[derive(Debug)]
pub struct FetchRound {
    /// Jobs handed to the fetcher (media ids).
    pub media_ids: Vec<String>,
    /// Media ids the fetcher asked to retry (batch item failures).
    pub retried: Vec<String>,
}

impl MediaStack {
    pub async fn start(endpoint: &str, suffix: &str) -> Result<MediaStack> {
        let graph = FakeGraph::start()?;
        let webhook = WebhookStack::start(endpoint, suffix, &[]).await?;
        // A Graph URL given in the environment wins (the demo against another Graph double).
        let graph_url = std::env::var("GRAPH_API_BASE_URL").unwrap_or_else(|_| graph.base_url());
        let fetcher = spawn_function(
            "media-fetcher",
            &webhook.stack,
            endpoint,
            &graph_url,
            &[("META_SECRET_ID", webhook.stack.meta_secret_id.as_str())],
        )?;
        let event_source = crate::aws::sqs_client(
            &webhook
                .stack
                .sdk_config_as(crate::iam::Principal::MediaFetcher)?,
        );
        // The event source mapping reads the queue's attributes when it is created (and then polls).
        event_source
            .get_queue_attributes()
            .queue_url(&webhook.stack.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .map_err(|e| aws("GetQueueAttributes (event source mapping)", e))?;
        Ok(MediaStack {
            webhook,
            graph,
            fetcher,
            event_source,
        })
    }

    /// Sends a signed webhook with one media message (`kind`: image, document, ...).
    pub async fn receive_media(
        &self,
        wamid: &str,
        kind: &str,
        media_id: &str,
        mime: &str,
    ) -> Result<()> {
        let body = samples::messages_body(
            CONTACT,
            vec![samples::media_message(wamid, CONTACT, kind, media_id, mime)],
        );
        let answer = self.webhook.post_signed(&body).await?;
        if answer.status != 200 {
            return Err(Error::Emulator(format!(
                "webhook answered {}",
                answer.status
            )));
        }
        Ok(())
    }

    /// Receives up to ten jobs from the queue, invokes the fetcher with them as an SQS event, and
    /// deletes the ones it did not report as failures (as the event source mapping does). Failed
    /// ones are made visible again at once, so a test can run the next round without waiting.
    pub async fn fetch_round(&self) -> Result<FetchRound> {
        self.fetch_round_with(&self.fetcher).await
    }

    /// [`fetch_round`](Self::fetch_round) with another fetcher process over the same resources.
    ///
    /// Receives and deletes as the event source mapping does, with the fetcher's role (checked by the IAM
    /// gateway); making a failed job visible again at once is the test's shortcut, done with the test's client.
    pub async fn fetch_round_with(&self, fetcher: &LambdaProcess) -> Result<FetchRound> {
        self.fetch_round_as(fetcher, None, true).await
    }

    /// A round whose jobs are handed over as if received for the `receives`-th time, and whose failed jobs are
    /// left as the fetcher's retry path left them (backing off for its delay): what a job retried for a while
    /// looks like.
    pub async fn fetch_round_backing_off(&self, receives: u32) -> Result<FetchRound> {
        self.fetch_round_as(&self.fetcher, Some(receives), false)
            .await
    }

    async fn fetch_round_as(
        &self,
        fetcher: &LambdaProcess,
        receives_override: Option<u32>,
        reset_failed: bool,
    ) -> Result<FetchRound> {
        let queue = &self.webhook.stack.queue_url;
        let messages = self.receive_jobs().await?;
        let media_ids: Vec<String> = messages.iter().map(media_id_of).collect();
        if messages.is_empty() {
            return Ok(FetchRound {
                media_ids,
                retried: Vec::new(),
            });
        }
        let mut event = self.sqs_event(&messages);
        if let (Some(receives), Some(records)) =
            (receives_override, event["Records"].as_array_mut())
        {
            for record in records {
                record["attributes"]["ApproximateReceiveCount"] = json!(receives.to_string());
            }
        }
        let response = match fetcher.invoke(event).await? {
            Invocation::Ok(value) => value,
            other => return Err(Error::Emulator(format!("fetcher failed: {other:?}"))),
        };
        let failed: HashSet<String> = response["batchItemFailures"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["itemIdentifier"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut retried = Vec::new();
        for (message, media_id) in messages.iter().zip(&media_ids) {
            let handle = message.receipt_handle().unwrap_or_default();
            if failed.contains(message.message_id().unwrap_or_default()) {
                retried.push(media_id.clone());
                if reset_failed {
                    self.make_visible(message).await?;
                }
            } else {
                self.event_source
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| aws("DeleteMessage", e))?;
            }
        }
        Ok(FetchRound { media_ids, retried })
    }

    /// Receives up to ten jobs as the event source mapping does (the fetcher's role, through the IAM gateway; a
    /// visibility timeout of 300 s, the fetcher's Lambda timeout), with their receive counts.
    pub async fn receive_jobs(&self) -> Result<Vec<aws_sdk_sqs::types::Message>> {
        let received = self
            .event_source
            .receive_message()
            .queue_url(&self.webhook.stack.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .map_err(|e| aws("ReceiveMessage", e))?;
        Ok(received.messages().to_vec())
    }

    /// The SQS event the event source mapping would invoke the fetcher with for `messages`.
    pub fn sqs_event(&self, messages: &[aws_sdk_sqs::types::Message]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .map(|message| {
                let receives = message
                    .attributes()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                    })
                    .cloned()
                    .unwrap_or_else(|| "1".to_owned());
                json!({
                    "messageId": message.message_id().unwrap_or_default(),
                    "receiptHandle": message.receipt_handle().unwrap_or_default(),
                    "body": message.body().unwrap_or_default(),
                    "attributes": {"ApproximateReceiveCount": receives},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.webhook.stack.queue_arn,
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        json!({ "Records": records })
    }

    /// Makes a received job visible again at once: what SQS does when its visibility timeout runs out (the test's
    /// shortcut, with the test's client).
    pub async fn make_visible(&self, message: &aws_sdk_sqs::types::Message) -> Result<()> {
        self.webhook
            .sqs
            .change_message_visibility()
            .queue_url(&self.webhook.stack.queue_url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| aws("ChangeMessageVisibility", e))?;
        Ok(())
    }

    /// The jobs on the queue, left there (received, then made visible again at once).
    pub async fn peek_jobs(&self) -> Result<Vec<Value>> {
        let queue = &self.webhook.stack.queue_url;
        let sqs = &self.webhook.sqs;
        let mut jobs = Vec::new();
        let mut handles = Vec::new();
        loop {
            let page = sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .send()
                .await
                .map_err(|e| aws("ReceiveMessage", e))?;
            if page.messages().is_empty() {
                break;
            }
            for message in page.messages() {
                jobs.push(
                    serde_json::from_str(message.body().unwrap_or("null")).unwrap_or(Value::Null),
                );
                handles.extend(message.receipt_handle().map(str::to_owned));
            }
        }
        for handle in handles {
            sqs.change_message_visibility()
                .queue_url(queue)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| aws("ChangeMessageVisibility", e))?;
        }
        Ok(jobs)
    }

    /// The message item of `wamid` (found under its keyed hash, as the functions find it).
    pub async fn record(
        &self,
        wamid: &str,
    ) -> Result<Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>>
    {
        self.webhook.item(wamid, "message").await
    }

    /// Puts a new `access_token` into the Meta secret (what an operator or the rotator does).
    pub async fn rotate_token(&self, token: &str) -> Result<()> {
        let mut secret: Value = serde_json::from_str(&crate::webhook_stack::meta_secret_json())
            .map_err(|e| Error::Emulator(e.to_string()))?;
        secret["access_token"] = json!(token);
        crate::aws::secrets_client(&crate::aws::sdk_config(&self.webhook.endpoint))
            .put_secret_value()
            .secret_id(&self.webhook.stack.meta_secret_id)
            .secret_string(secret.to_string())
            .send()
            .await
            .map_err(|e| aws("PutSecretValue", e))?;
        Ok(())
    }
}

/// The media id a job names (empty when unreadable).
fn media_id_of(message: &aws_sdk_sqs::types::Message) -> String {
    let job: Value =
        serde_json::from_str(message.body().unwrap_or_default()).unwrap_or(Value::Null);
    job["media_id"].as_str().unwrap_or_default().to_owned()
}

fn aws(operation: &'static str, error: impl std::fmt::Debug) -> Error {
    Error::Aws {
        operation,
        message: format!("{error:?}"),
    }
}
