//! Benchmark: local cold start of each release function binary, from process start to its first
//! Lambda Runtime API poll (`invocation/next`), beside a hello-world `lambda_runtime` binary built
//! the same way (`echo-lambda`). Each binary is started `RUNS` times under the project's Runtime
//! API emulator with the environment the template gives it (resources named, nothing reached:
//! no function calls AWS during init).
//!
//! Run: `make bench-coldstart` (release build of the functions and `echo-lambda`, then
//! `WAVAULT_BIN_PROFILE=release cargo run --release -p wavault-tests --bin coldstart-bench`).

use std::time::Duration;
use wavault_tests::lambda_emulator::{LambdaConfig, LambdaProcess};
use wavault_tests::webhook_stack::function_binary;

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const RUNS: usize = 30;

/// What every function is given by the template, with values that are never contacted.
fn environment() -> Vec<(String, String)> {
    [
        ("RECORDS_TABLE", "wavault-records"),
        ("ARCHIVE_BUCKET", "wavault-archive"),
        (
            "MEDIA_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/media",
        ),
        (
            "MEDIA_DLQ_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/media-dlq",
        ),
        ("META_SECRET_ID", "wavault/meta"),
        ("CONTACT_HASH_SECRET_ID", "wavault/contact-hash-key"),
        ("GRAPH_API_BASE_URL", "https://graph.facebook.com"),
        ("GRAPH_API_VERSION", "v23.0"),
        ("RETENTION_DAYS", "30"),
        ("MEDIA_DEADLINE_DAYS", "7"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn cold_starts(name: &str) -> BenchResult<Vec<Duration>> {
    let binary = function_binary(name)?;
    let mut latencies = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let process = LambdaProcess::spawn_with(
            &binary,
            &environment(),
            LambdaConfig {
                function_name: Some(name.to_owned()),
                ..Default::default()
            },
        )?;
        latencies.push(process.wait_for_first_poll(Duration::from_secs(10)).await?);
    }
    latencies.sort();
    Ok(latencies)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> BenchResult {
    println!("| binary | median | p90 | min | size (x86_64, stripped) |");
    println!("|---|---|---|---|---|");
    for name in [
        "echo-lambda",
        "webhook",
        "media-fetcher",
        "token-rotator",
        "ttl-expirer",
    ] {
        let latencies = cold_starts(name).await?;
        let size = std::fs::metadata(function_binary(name)?)?.len();
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB |",
            ms(latencies[latencies.len() / 2]),
            ms(latencies[latencies.len() * 9 / 10]),
            ms(latencies[0]),
            size as f64 / (1024.0 * 1024.0),
        );
    }
    Ok(())
}
