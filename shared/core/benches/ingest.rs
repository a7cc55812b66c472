//! Benchmark: verify + parse + plan of a webhook, in process, against bare HMAC-SHA256 over the
//! same bytes; and the whole use case with in-memory ports.
//!
//! Run: `cargo bench -p wavault-core --bench ingest`
//! Reports CPU time per call (thread CPU clock, median of runs) so a busy machine skews it less.
// Test code: failing loudly is the point (the workspace lints deny these in the crates themselves).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;
use wavault_core::contact::{ContactHasher, RecordIdKind};
use wavault_core::ingest::PlanContext;
use wavault_core::ingest::{WebhookRequest, WebhookResponse};
use wavault_core::records;
use wavault_core::retention::RetentionPolicy;
use wavault_core::testkit::memory::MemoryIngest;
use wavault_core::testkit::samples;
use wavault_core::webhook::parse_notification;
use wavault_core::webhook::signature;
use wavault_core::webhook::signature::signature_header;

const SECRET: &[u8] = b"bench-app-secret";

// The thread CPU clock has no safe wrapper in std.
#[allow(unsafe_code)]
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Median CPU time per call over `runs` runs of `iters` calls each.
fn measure(runs: usize, iters: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..iters.min(100) {
        f();
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = thread_cpu();
            for _ in 0..iters {
                f();
            }
            (thread_cpu() - start) / iters as u32
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn verify_parse_plan(body: &[u8], header: &str, hasher: &ContactHasher) -> usize {
    let verdict = signature::verify(body, Some(header), SECRET, None);
    assert!(verdict.is_ok());
    let sha = records::body_sha256_hex(body);
    let notification = parse_notification(body).expect("parses");
    let key = records::journal_key(&sha, true);
    let plan = wavault_core::ingest::plan(
        &notification,
        &PlanContext {
            received_at: 1_763_800_000,
            retention: RetentionPolicy::days(30),
            hasher,
            journal_key: &key,
            body_sha256_hex: &sha,
            media_deadline_days: 7,
            people: &wavault_core::contact::HashedPeople::of(
                &wavault_core::contact::mentions(body),
                hasher,
            ),
        },
    );
    plan.records.len()
}

fn report(name: &str, updates: usize, body: &[u8]) {
    let header = signature_header(SECRET, body);
    let hasher = ContactHasher::new(b"bench-contact-hash-key-0123456789");
    let iters = if updates > 1 { 20 } else { 5_000 };
    let hmac = measure(15, iters, || {
        black_box(signature::sign(SECRET, black_box(body)));
    });
    if std::env::var_os("WAVAULT_BENCH_BREAKDOWN").is_some() {
        let sha = measure(15, iters, || {
            black_box(records::body_sha256_hex(black_box(body)));
        });
        let envelope = measure(15, iters, || {
            black_box(
                parse_notification(black_box(body))
                    .map(|n| n.entry.len())
                    .ok(),
            );
        });
        let values = measure(15, iters, || {
            let n = parse_notification(black_box(body)).expect("parses");
            let mut count = 0;
            for e in &n.entry {
                for c in &e.changes {
                    if let Some(v) = c
                        .value
                        .and_then(|v| wavault_core::webhook::parse::parse_messages_value(v.get()))
                    {
                        count += v.messages.len() + v.statuses.len();
                    }
                }
            }
            black_box(count);
        });
        println!(
            "  [breakdown] sha256 {:.1} µs, envelope {:.1} µs, envelope+values {:.1} µs",
            sha.as_secs_f64() * 1e6,
            envelope.as_secs_f64() * 1e6,
            values.as_secs_f64() * 1e6
        );
    }
    let vpp = measure(15, iters, || {
        black_box(verify_parse_plan(black_box(body), &header, &hasher));
    });
    // The share of planning that keys the records: one keyed HMAC per element (part of the above).
    let ids: Vec<String> = (0..updates)
        .map(|i| format!("wamid.HBgLMTU1NTAwMDAwMDAVAgASGBQzQUJCRjBFQjU5RDk{i:08}"))
        .collect();
    let keys = measure(15, iters, || {
        for id in &ids {
            black_box(hasher.record_key(RecordIdKind::Message, black_box(id)));
        }
    });

    // Who the body mentions (read as a JSON tree, every field) and the keyed hash of each id: the
    // journal links and the erased-contact lookup are made of these (part of the above).
    let people = measure(15, iters, || {
        let mentions = wavault_core::contact::mentions(black_box(body));
        black_box(wavault_core::contact::HashedPeople::of(&mentions, &hasher));
    });

    let secret_json = format!(
        r#"{{"app_id":"1","app_secret":"{}","verify_token":"v","access_token":"t"}}"#,
        String::from_utf8_lossy(SECRET)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let full = measure(9, iters.min(200), || {
        // A fresh world each call so every record is new (the worst case for the stores).
        let world = MemoryIngest::new(&secret_json);
        let response = runtime.block_on(world.ingest.handle(WebhookRequest::Delivery {
            signature: Some(&header),
            body,
        }));
        assert!(matches!(response, WebhookResponse::Accepted(_)));
    });

    println!(
        "{name}: {updates} update(s), {} bytes\n  bare HMAC-SHA256        {:>10.1} µs\n  verify+parse+plan       {:>10.1} µs  ({:.2} µs/update, {:.2}x HMAC)\n    of which record keys  {:>10.1} µs  ({:.2} µs/update)\n    of which mentions     {:>10.1} µs  ({:.2} µs/update)\n  whole use case (memory) {:>10.1} µs  ({:.2} µs/update)",
        body.len(),
        hmac.as_secs_f64() * 1e6,
        vpp.as_secs_f64() * 1e6,
        vpp.as_secs_f64() * 1e6 / updates as f64,
        vpp.as_secs_f64() / hmac.as_secs_f64(),
        keys.as_secs_f64() * 1e6,
        keys.as_secs_f64() * 1e6 / updates as f64,
        people.as_secs_f64() * 1e6,
        people.as_secs_f64() * 1e6 / updates as f64,
        full.as_secs_f64() * 1e6,
        full.as_secs_f64() * 1e6 / updates as f64,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing else useful: run once.
    report(
        "one text message",
        1,
        &samples::text_body("wamid.bench.1", "15550001111", "Olá, café ☕"),
    );
    report("batch", 1000, &samples::batch_body(1000));
}
