//! A delivery storm: the same bodies delivered concurrently to several webhook processes over one stack, each body
//! one to five times, as Meta does when it retries while an earlier attempt is still running (and as several warm
//! Lambda instances receive them). Nothing may be lost or stored twice, and a race between two writers of the same
//! record is a success (a conditional-write conflict means the other one stored it), never a 500.

use std::sync::Arc;
use std::time::Instant;

use wavault_core::webhook::signature::signature_header;
use wavault_tests::http_front::HttpFrontDoor;
use wavault_tests::moto::MotoServer;
use wavault_tests::traffic::{check_stored_once, deliveries};
use wavault_tests::webhook_stack::{spawn_function, WebhookStack, APP_SECRET};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Webhook processes (warm Lambda instances), each serving one request at a time.
const PROCESSES: usize = 4;

#[tokio::test]
async fn concurrent_redeliveries_to_several_webhooks_store_everything_once() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let w = WebhookStack::start(&moto, "storm", &[]).await?;
    let mut doors = vec![w.webhook_url()];
    let mut extra = Vec::new();
    for _ in 1..PROCESSES {
        let lambda = Arc::new(spawn_function(
            "webhook",
            &w.stack,
            &moto,
            "http://127.0.0.1:9",
            &[],
        )?);
        let door = HttpFrontDoor::start(lambda.clone(), "/webhook")?;
        doors.push(door.url());
        extra.push((lambda, door));
    }

    let traffic = deliveries("storm", 48);
    // Body i is delivered 1 + (i * 7) % 5 times, the deliveries interleaved by a fixed permutation and spread
    // over the processes, so copies of one body run on different processes at once.
    let mut plan: Vec<usize> = traffic
        .iter()
        .enumerate()
        .flat_map(|(i, _)| std::iter::repeat_n(i, 1 + (i * 7) % 5))
        .collect();
    let total = plan.len();
    let mut state: u64 = 0x0051_074d;
    for k in (1..plan.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        plan.swap(k, (state >> 33) as usize % (k + 1));
    }
    let http = reqwest::Client::new();
    let started = Instant::now();
    let answers = futures::future::join_all(plan.iter().enumerate().map(|(n, &i)| {
        let (http, url) = (http.clone(), doors[n % doors.len()].clone());
        let body = traffic[i].body.clone();
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .header(
                    "X-Hub-Signature-256",
                    signature_header(APP_SECRET.as_bytes(), &body),
                )
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    }))
    .await;
    let took = started.elapsed();
    let mut refused = Vec::new();
    for answer in answers {
        let status = answer?;
        if status != 200 {
            refused.push(status);
        }
    }
    assert!(refused.is_empty(), "answers other than 200: {refused:?}");

    let stored = check_stored_once(&w, &traffic).await?;
    eprintln!(
        "storm: {total} deliveries of {} bodies over {PROCESSES} webhook processes in {:.1} s ({:.1} deliveries/s \
         against moto), all 200; {stored:?}, each stored once",
        traffic.len(),
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
    );
    Ok(())
}
