//! A slow AWS call is a clean failure well inside the function's Lambda timeout, never the timeout itself: the
//! real binaries, their AWS calls through [`SlowUpstream`] (which holds back one service's requests far longer
//! than any SDK timeout) in front of the IAM gateway and moto.
//!
//! Without the SDK timeouts (`AwsTimeouts` in `shared/aws/src/sdk.rs`) these calls would wait for the
//! delay: the webhook would answer only after 60 s (its Lambda timeout is 10 s) and the fetcher's invocation would
//! outlast the 60 s delay per S3 call.

use std::time::{Duration, Instant};

use wavault_core::testkit::samples;
use wavault_tests::fake_graph::MediaBehaviour;
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::slow_upstream::SlowUpstream;
use wavault_tests::webhook_stack::{s, spawn_function, WebhookStack, ACCESS_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Far beyond every SDK timeout: a request held this long is one the function must give up on.
const HOLD: Duration = Duration::from_secs(60);

const WA_ID: &str = "15550001111";

/// The AWS endpoint the local stack gives `principal`'s function (the IAM gateway in front of moto).
/// S3 hangs: the journal write gives up on its own timeouts and the webhook answers 500 well before its 10 s
/// Lambda timeout, counting `DeliveryFailed`.
#[tokio::test]
async fn a_hanging_s3_makes_the_webhook_answer_500_in_time() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let mut w = WebhookStack::start(&moto, "slow-webhook", &[]).await?;
    let slow = SlowUpstream::start(&w.stack.aws_endpoint(&moto)?, "s3", HOLD)?;
    let endpoint = slow.endpoint();
    w.respawn(&[("AWS_ENDPOINT_URL", endpoint.as_str())])?;

    let body = samples::messages_body(
        WA_ID,
        vec![samples::text_message("wamid.SLOW1", WA_ID, "hello")],
    );
    let started = Instant::now();
    let answer = w.post_signed(&body).await?;
    let took = started.elapsed();
    assert_eq!(answer.status, 500, "{}", answer.body);
    assert!(
        took < Duration::from_secs(8),
        "answered after {took:?}: the Lambda timeout is 10 s"
    );
    assert!(
        slow.delayed() >= 1,
        "the journal write went through the slow S3"
    );
    assert!(
        !answer.body.contains("timeout"),
        "internal errors are not echoed"
    );
    let logs = w.lambda.logs().join("\n");
    assert!(logs.contains("\"DeliveryFailed\""), "EMF metric: {logs}");
    assert!(logs.contains("delivery_failed"), "{logs}");
    assert!(w.records().await?.is_empty(), "nothing recorded");
    Ok(())
}

/// S3 hangs: the media job becomes a batch item failure (retried later, counted `MediaRetried`) long before the
/// fetcher's 300 s Lambda timeout; the record stays pending.
#[tokio::test]
async fn a_hanging_s3_makes_a_media_job_a_batch_item_failure() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let m = MediaStack::start(&moto, "slow-media").await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    m.graph
        .add_media("8101", vec![7u8; 4096], "image/jpeg", MediaBehaviour::Ok);
    m.receive_media("wamid.SLOW2", "image", "8101", "image/jpeg")
        .await?;

    let slow = SlowUpstream::start(&m.webhook.stack.aws_endpoint(&moto)?, "s3", HOLD)?;
    let endpoint = slow.endpoint();
    let fetcher = spawn_function(
        "media-fetcher",
        &m.webhook.stack,
        &moto,
        &m.graph.base_url(),
        &[("AWS_ENDPOINT_URL", endpoint.as_str())],
    )?;
    let started = Instant::now();
    let round = m.fetch_round_with(&fetcher).await?;
    let took = started.elapsed();
    assert_eq!(round.media_ids, vec!["8101".to_owned()]);
    assert_eq!(
        round.retried,
        vec!["8101".to_owned()],
        "{:?}",
        fetcher.logs()
    );
    assert!(
        took < Duration::from_secs(HOLD.as_secs()),
        "the job waited for the slow S3 ({took:?})"
    );
    let logs = fetcher.logs().join("\n");
    assert!(slow.delayed() >= 1, "{logs}");
    assert!(logs.contains("\"MediaRetried\""), "EMF metric: {logs}");
    assert!(logs.contains("media_retry"), "{logs}");
    let record = m.record("wamid.SLOW2").await?.ok_or("no record")?;
    assert_eq!(s(&record, "media_status"), Some("pending"));
    Ok(())
}
