//! [`SlowUpstream`]: a loopback proxy between a function and its AWS endpoint that holds back the requests of one
//! service, as a throttled, overloaded or half-dead AWS endpoint does. moto answers everything at once, so without
//! this no test could see what a function does when an AWS call hangs (it must fail the call on its own timeouts,
//! well inside the Lambda timeout, never run into it).
//!
//! Modelled on [`crate::rotation_stack::CurrentStageProxy`]: requests are forwarded unchanged (headers but `Host`
//! and `Content-Length`, the body, the answer); the held-back ones only after `delay`. The service of a request is
//! the one its SigV4 credential scope names (`Credential=<key>/<date>/<region>/<service>/aws4_request`), which
//! works for the REST (S3) and the JSON (DynamoDB, SQS, Secrets Manager) protocols alike. Put it in front of the
//! IAM gateway (the functions' `AWS_ENDPOINT_URL`), so IAM is still checked. Dropping it stops the server and cuts
//! the held connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::serve::LoopbackServer;
use crate::{Error, Result};

/// A proxy that delays every request to one AWS service by a fixed time.
pub struct SlowUpstream {
    server: LoopbackServer,
    delayed: Arc<AtomicUsize>,
}

impl SlowUpstream {
    /// Forwards to `upstream` (an endpoint URL), holding back requests signed for `service` (`s3`, `dynamodb`,
    /// `sqs`, `secretsmanager`) by `delay` before forwarding them.
    pub fn start(upstream: &str, service: &'static str, delay: Duration) -> Result<SlowUpstream> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Emulator(format!("slow upstream client: {e}")))?;
        let delayed = Arc::new(AtomicUsize::new(0));
        let counter = delayed.clone();
        let server = LoopbackServer::start("slow upstream", move |req, _peer| {
            let (client, upstream, counter) = (client.clone(), upstream.clone(), counter.clone());
            async move {
                if crate::proxy::signed_service(req.headers()).as_deref() == Some(service) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    // The fault itself, not a wait for something: the client must give up first.
                    tokio::time::sleep(delay).await;
                }
                crate::proxy::pass_through(&client, &upstream, req, "slow upstream").await
            }
        })?;
        Ok(SlowUpstream { server, delayed })
    }

    /// The endpoint to give a function as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// How many requests were held back so far.
    pub fn delayed(&self) -> usize {
        self.delayed.load(Ordering::SeqCst)
    }
}
