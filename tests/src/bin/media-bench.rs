//! Benchmark: archive 1 MiB, 16 MiB and 100 MiB files from the fake Graph API into moto with the
//! real media-fetcher binary (release build), one fresh process per size, and report its peak
//! RSS (VmHWM), CPU seconds (utime + stime) per GiB against `sha256sum` over the same bytes, and
//! wall time.
//!
//! Run: `make bench-media` (builds the release binary, then
//! `WAVAULT_BIN_PROFILE=release cargo run --release -p wavault-tests --bin media-bench`).

use std::io::Write;
use std::time::Instant;
use wavault_tests::fake_graph::{MediaBehaviour, MediaBody};
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{spawn_function, ACCESS_TOKEN};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const MIB: u64 = 1024 * 1024;

fn proc_status_kib(pid: u32, field: &str) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{field} not found").into())
}

fn cpu_seconds(pid: u32) -> BenchResult<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit(')').next().ok_or("bad stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).ok_or("utime")?.parse::<f64>()?
        + fields.get(12).ok_or("stime")?.parse::<f64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz)
}

fn sha256sum_cpu_seconds(len: u64, seed: u64) -> BenchResult<f64> {
    let path = std::env::temp_dir().join(format!("wavault-bench-{len}-{seed}.bin"));
    let mut file = std::fs::File::create(&path)?;
    let mut offset = 0;
    while offset < len {
        let n = (len - offset).min(8 * MIB) as usize;
        file.write_all(&MediaBody::generated_range(seed, offset, n))?;
        offset += n as u64;
    }
    drop(file);
    let mut before: libc::rusage = unsafe { std::mem::zeroed() };
    let mut after: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut before) };
    let status = std::process::Command::new("sha256sum")
        .arg(&path)
        .output()?;
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut after) };
    std::fs::remove_file(&path)?;
    if !status.status.success() {
        return Err("sha256sum failed".into());
    }
    let secs = |r: &libc::rusage| {
        r.ru_utime.tv_sec as f64
            + r.ru_utime.tv_usec as f64 / 1e6
            + r.ru_stime.tv_sec as f64
            + r.ru_stime.tv_usec as f64 / 1e6
    };
    Ok(secs(&after) - secs(&before))
}

#[tokio::main]
async fn main() -> BenchResult {
    let moto = MotoServer::start()?;
    let stack = MediaStack::start(&moto.endpoint(), "bench").await?;
    stack.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    println!("| size | peak RSS | fetcher CPU | CPU s/GiB | sha256sum CPU s/GiB | ratio | wall |");
    println!("|---|---|---|---|---|---|---|");
    let mut rss_1mib = 0;
    for (i, mib) in [1u64, 16, 100].into_iter().enumerate() {
        let len = mib * MIB;
        let seed = 40 + i as u64;
        let media_id = format!("bench-{mib}");
        stack.graph.add_media(
            &media_id,
            MediaBody::Generated { len, seed },
            "video/mp4",
            MediaBehaviour::Ok,
        );
        stack
            .receive_media(
                &format!("wamid.BENCH.{mib}"),
                "video",
                &media_id,
                "video/mp4",
            )
            .await?;
        // A fresh fetcher per size: its peak RSS belongs to this file alone.
        let fetcher = spawn_function(
            "media-fetcher",
            &stack.webhook.stack,
            &moto.endpoint(),
            &stack.graph.base_url(),
            &[],
        )?;
        fetcher
            .wait_for_first_poll(std::time::Duration::from_secs(30))
            .await?;
        let pid = fetcher.pid().ok_or("no pid")?;
        let cpu_before = cpu_seconds(pid)?;
        let started = Instant::now();
        let round = stack.fetch_round_with(&fetcher).await?;
        let wall = started.elapsed();
        if !round.retried.is_empty() || round.media_ids.len() != 1 {
            return Err(
                format!("unexpected round: {round:?}\n{}", fetcher.logs().join("\n")).into(),
            );
        }
        let cpu = cpu_seconds(pid)? - cpu_before;
        let rss_kib = proc_status_kib(pid, "VmHWM:")?;
        if mib == 1 {
            rss_1mib = rss_kib;
        }
        let gib = len as f64 / (1024.0 * MIB as f64);
        let baseline = sha256sum_cpu_seconds(len, seed)?;
        println!(
            "| {mib} MiB | {:.1} MiB | {:.3} s | {:.2} | {:.2} | {:.2}x | {:.2} s |",
            rss_kib as f64 / 1024.0,
            cpu,
            cpu / gib,
            baseline / gib,
            cpu / baseline.max(1e-9),
            wall.as_secs_f64()
        );
        if mib == 100 {
            println!(
                "\nRSS at 100 MiB / RSS at 1 MiB = {:.2}",
                rss_kib as f64 / rss_1mib.max(1) as f64
            );
        }
    }
    Ok(())
}
