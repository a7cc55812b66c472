//! The media queue in SQS: SendMessageBatch in groups of ten, checking every entry.

use crate::classify;
use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use wavault_core::error::PortError;
use wavault_core::ingest::JobQueue;
use wavault_core::media::MediaJob;

/// SQS's limit of entries per SendMessageBatch.
pub const SQS_BATCH_LIMIT: usize = 10;
/// How many times entries SQS reported as failed (not sender faults) are sent again.
pub const ENTRY_RETRIES: usize = 3;

pub struct SqsJobQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsJobQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    async fn send_batch(&self, jobs: &[MediaJob]) -> Result<(), PortError> {
        let mut pending: Vec<(usize, String)> = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.iter().enumerate() {
            let body = serde_json::to_string(job)
                .map_err(|e| PortError::failed("sqs", format!("job serialisation: {e}")))?;
            pending.push((index, body));
        }
        for _attempt in 0..=ENTRY_RETRIES {
            let entries = pending
                .iter()
                .map(|(index, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body.clone())
                        .build()
                        .map_err(|e| PortError::failed("sqs", format!("batch entry: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| classify("sqs", &e))?;
            let failed = output.failed();
            if failed.is_empty() {
                return Ok(());
            }
            if let Some(fault) = failed.iter().find(|f| f.sender_fault()) {
                return Err(PortError::failed(
                    "sqs",
                    format!("entry rejected: {}", fault.code()),
                ));
            }
            let failed_ids: Vec<&str> = failed.iter().map(|f| f.id()).collect();
            pending.retain(|(index, _)| failed_ids.contains(&index.to_string().as_str()));
        }
        Err(PortError::unavailable(
            "sqs",
            format!("{} entries still failing after retries", pending.len()),
        ))
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, jobs: &[MediaJob]) -> Result<(), PortError> {
        for chunk in jobs.chunks(SQS_BATCH_LIMIT) {
            self.send_batch(chunk).await?;
        }
        Ok(())
    }
}

impl SqsJobQueue {
    /// Postpones a received message's next delivery (growing backoff for retried jobs).
    pub async fn postpone(&self, receipt_handle: &str, seconds: i32) -> Result<(), PortError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| classify("sqs", &e))?;
        Ok(())
    }
}

#[async_trait]
impl wavault_core::media::QueueBacklog for SqsJobQueue {
    async fn visible_jobs(&self) -> Result<u64, PortError> {
        let attribute = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(attribute.clone())
            .send()
            .await
            .map_err(|e| classify("sqs", &e))?;
        output
            .attributes()
            .and_then(|attributes| attributes.get(&attribute))
            .and_then(|count| count.parse().ok())
            .ok_or_else(|| PortError::failed("sqs", "no ApproximateNumberOfMessages in the answer"))
    }
}

/// The media dead-letter queue, drained by the media sweep.
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

#[async_trait]
impl wavault_core::media::DeadLetters for SqsDeadLetters {
    async fn receive(&self) -> Result<Vec<wavault_core::media::DeadLetter>, PortError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| classify("sqs", &e))?;
        Ok(output
            .messages()
            .iter()
            .filter_map(|m| {
                Some(wavault_core::media::DeadLetter {
                    receipt_handle: m.receipt_handle()?.to_owned(),
                    job: m.body().and_then(|b| serde_json::from_str(b).ok()),
                })
            })
            .collect())
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| classify("sqs", &e))?;
        Ok(())
    }
}
