//! The functions under AWS faults: the real binaries, their AWS calls through [`FaultyUpstream`] (throttling,
//! 5xx and answers lost after the side effect, on every service, at a set rate) in front of the IAM gateway and
//! moto, and Meta's retries of every delivery not answered 200.
//!
//! What must hold: a 200 only when the journal object, the records and the media jobs are durable (checked at
//! the moment of each 200, against moto directly and the proxy's ledger of accepted SQS messages), and once Meta
//! has retried every failed delivery, every message stored exactly once.
//!
//! `WAVAULT_FAULT_RATE` (default 0.2) and `WAVAULT_FAULT_SEED` change the plan (docs/figures.md "Faults").

use std::collections::{BTreeSet, HashMap};

use wavault_tests::faults::{Fault, FaultPlan, FaultyUpstream};
use wavault_tests::moto::MotoServer;
use wavault_tests::traffic::{check_stored_once, deliveries, Delivery};
use wavault_tests::webhook_stack::WebhookStack;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Meta retries a failed delivery for days; the test gives it this many rounds.
const MAX_ROUNDS: usize = 15;

fn fault_rate() -> f64 {
    std::env::var("WAVAULT_FAULT_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0.2)
}

fn fault_seed() -> u64 {
    std::env::var("WAVAULT_FAULT_SEED")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0x5eed_0013)
}

async fn journal_exists(w: &WebhookStack, key: &str) -> Result<bool, BoxError> {
    match w
        .s3
        .head_object()
        .bucket(&w.stack.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(false),
        Err(e) => Err(format!("HeadObject: {e:?}").into()),
    }
}

/// What a 200 promises, checked the moment it is answered: the journal object, every message's record, and a job
/// for every media file accepted by SQS.
async fn assert_durable(
    w: &WebhookStack,
    faults: &FaultyUpstream,
    delivery: &Delivery,
) -> TestResult {
    assert!(
        journal_exists(w, &delivery.journal_key()).await?,
        "answered 200 before the journal object was stored"
    );
    let jobs: BTreeSet<String> = faults
        .accepted_messages()
        .iter()
        .filter_map(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .filter_map(|job| job["record"].as_str().map(str::to_owned))
        .collect();
    for (wamid, media) in &delivery.messages {
        assert!(
            w.item(wamid, "message").await?.is_some(),
            "answered 200 before a message's record was stored"
        );
        if media.is_some() {
            assert!(
                jobs.contains(&w.stack.message_key(wamid)),
                "answered 200 before the media job was accepted by SQS"
            );
        }
    }
    Ok(())
}

/// Under a fault rate on every service, and a total S3 outage while six of the bodies first arrive, the
/// webhook answers 200 only for what is durable, refuses (500) what it cannot store and stores nothing of it, and
/// after Meta's retries holds every message exactly once.
#[tokio::test]
async fn under_aws_faults_a_200_means_durable_and_every_message_is_stored_once() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let mut w = WebhookStack::start(&moto, "faults-webhook", &[]).await?;
    let plan = FaultPlan::everywhere(fault_rate(), fault_seed());
    let faults = FaultyUpstream::start(&w.stack.aws_endpoint(&moto)?, plan.clone())?;
    let endpoint = faults.endpoint();
    w.respawn(&[("AWS_ENDPOINT_URL", endpoint.as_str())])?;

    let traffic = deliveries("faults", 36);
    let outage: std::ops::Range<usize> = 12..18;
    let mut pending = Vec::new();
    let mut answers: HashMap<u16, u64> = HashMap::new();
    let mut rounds = 0;

    // First deliveries: S3 is down while the middle third arrives.
    for (i, delivery) in traffic.iter().enumerate() {
        let down = outage.contains(&i);
        faults.set_plan(if down {
            plan.clone().with_outage("s3")
        } else {
            plan.clone()
        });
        let answer = w.post_signed(&delivery.body).await?;
        *answers.entry(answer.status).or_default() += 1;
        if answer.status == 200 {
            assert!(!down, "answered 200 while S3 was down");
            assert_durable(&w, &faults, delivery).await?;
        } else {
            assert_eq!(answer.status, 500, "{}", answer.body);
            if down {
                assert!(
                    !journal_exists(&w, &delivery.journal_key()).await?,
                    "a refused body left a journal object"
                );
                for (wamid, _) in &delivery.messages {
                    assert!(
                        w.item(wamid, "message").await?.is_none(),
                        "a refused body left a record"
                    );
                }
            }
            pending.push(i);
        }
    }
    assert!(
        pending.len() >= outage.len(),
        "every body sent during the S3 outage is refused"
    );

    // Meta's retries, under the fault rate alone.
    faults.set_plan(plan.clone());
    while !pending.is_empty() && rounds < MAX_ROUNDS {
        rounds += 1;
        let mut still = Vec::new();
        for i in pending {
            let answer = w.post_signed(&traffic[i].body).await?;
            *answers.entry(answer.status).or_default() += 1;
            if answer.status == 200 {
                assert_durable(&w, &faults, &traffic[i]).await?;
            } else {
                assert_eq!(answer.status, 500, "{}", answer.body);
                still.push(i);
            }
        }
        pending = still;
    }
    assert!(
        pending.is_empty(),
        "{} bodies still refused after {MAX_ROUNDS} rounds of retries",
        pending.len()
    );

    // Exactly once: one journal object per body, one record per message and per status, a job per media file.
    faults.set_plan(FaultPlan::none());
    let stored = check_stored_once(&w, &traffic).await?;

    // The faults did happen: on every service the webhook calls on each delivery, of every kind, and lost answers
    // where a retried write meets its own first attempt (S3's If-None-Match, DynamoDB's conditions).
    let counts = faults.counts();
    let on = |service: &str, fault: Fault| {
        counts
            .faults
            .get(&(service.to_owned(), fault))
            .copied()
            .unwrap_or(0)
    };
    for service in ["s3", "dynamodb", "sqs"] {
        let n: u64 = [Fault::Throttled, Fault::ServerError, Fault::AnswerLost]
            .into_iter()
            .map(|f| on(service, f))
            .sum();
        assert!(n > 0, "no fault on {service}: {counts:?}");
    }
    for fault in [Fault::Throttled, Fault::ServerError, Fault::AnswerLost] {
        assert!(counts.of(fault) > 0, "no {fault:?}: {counts:?}");
    }
    assert!(
        on("s3", Fault::AnswerLost) > 0 && on("dynamodb", Fault::AnswerLost) > 0,
        "{counts:?}"
    );
    eprintln!(
        "faults: rate {} seed {:#x}: {} requests, {} faults ({} throttled, {} 5xx, {} answers lost); \
         webhook answers {answers:?}; {rounds} retry rounds; {stored:?}, each stored once",
        fault_rate(),
        fault_seed(),
        counts.total_requests(),
        counts.total_faults(),
        counts.of(Fault::Throttled),
        counts.of(Fault::ServerError),
        counts.of(Fault::AnswerLost),
    );
    Ok(())
}
