//! `wavault`: the operator's tool for a contact's rights - erasure and export - and for replaying
//! the journal after a fix, against the deployed stack (or the local one: it honours
//! `AWS_ENDPOINT_URL` like the functions).
//!
//! stdout carries one JSON summary; logs, metrics and progress go to stderr. Nothing printed
//! names the contact: ids are hashed before any lookup, and argument errors are reported by kind
//! without echoing what was typed (a stray phone number must not land in a terminal log).

mod progress;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use wavault_aws::contact_data::{self, ContactDataConfig};
use wavault_aws::sdk::{load_sdk_config, AwsTimeouts};
use wavault_core::config::{OperatorSettings, ReplaySettings};
use wavault_core::contact::{ContactHashes, ContactIds};
use wavault_core::ingest::{ReplayProgress, ReplaySelection};
use wavault_core::metrics::Metrics;

#[derive(Parser)]
#[command(
    name = "wavault",
    version,
    about = "Erase or export everything wavault holds about one WhatsApp contact; replay the journal",
    after_help = "Environment: RECORDS_TABLE, ARCHIVE_BUCKET, CONTACT_HASH_SECRET_ID, KMS_KEY_ID, \
                  AWS_ENDPOINT_URL and the usual AWS credentials and region; replay also \
                  MEDIA_QUEUE_URL, RETENTION_DAYS and MEDIA_DEADLINE_DAYS as the stack sets them."
)]
struct Cli {
    /// Records table (default: $RECORDS_TABLE)
    #[arg(long, global = true, value_name = "NAME")]
    table: Option<String>,
    /// Archive bucket (default: $ARCHIVE_BUCKET)
    #[arg(long, global = true, value_name = "NAME")]
    bucket: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replace the contact's records with tombstones, delete their media, remove them from the
    /// journal; idempotent
    Erase {
        #[command(flatten)]
        contact: ContactArgs,
        /// AWS calls in flight at once (use 1 against moto: its S3 listing is not thread-safe)
        #[arg(long, value_name = "N", default_value_t = wavault_core::contact::CONCURRENCY)]
        concurrency: usize,
    },
    /// Record journal objects again through the webhook's own (idempotent) recording, after a
    /// fix: missing records and media jobs are created, nothing is duplicated or overwritten
    Replay {
        #[command(flatten)]
        selection: ReplayArgs,
        /// Progress on stderr every N objects (a bar on a terminal, a line otherwise)
        #[arg(long, value_name = "N", default_value_t = 100)]
        progress_every: usize,
    },
    /// Write the contact's records, journal entries and media with a SHA-256 manifest to DIR
    Export {
        #[command(flatten)]
        contact: ContactArgs,
        /// Output folder (created; must be empty if it exists)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A progress line on stderr every N items
        #[arg(long, value_name = "N", default_value_t = 100)]
        progress_every: usize,
    },
}

/// Which journal objects `replay` reads.
#[derive(Args)]
struct ReplayArgs {
    /// Objects last written at or after this time (epoch seconds, YYYY-MM-DD or
    /// YYYY-MM-DDTHH:MM:SSZ, UTC)
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "key")]
    since: Option<i64>,
    /// Objects last written before this time (same forms)
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "key")]
    until: Option<i64>,
    /// Only bodies that did not parse when they arrived (`journal/unparsed/`)
    #[arg(long, conflicts_with = "key")]
    unparsed: bool,
    /// These journal keys (repeatable), instead of a range
    #[arg(long, value_name = "KEY")]
    key: Vec<String>,
}

impl ReplayArgs {
    fn selection(&self) -> ReplaySelection {
        if self.key.is_empty() {
            ReplaySelection::Range {
                since: self.since,
                until: self.until,
                unparsed_only: self.unparsed,
            }
        } else {
            ReplaySelection::Keys(self.key.clone())
        }
    }
}

/// Epoch seconds from `1796000000`, `2026-12-01` or `2026-12-01T09:30:00Z` (UTC).
fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let invalid = || "expected epoch seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ".to_owned();
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time.strip_suffix('Z').ok_or_else(invalid)?)),
        None => (text, None),
    };
    let numbers = |part: &str, sep: char| -> Result<Vec<i64>, String> {
        part.split(sep)
            .map(|n| n.parse::<i64>().map_err(|_| invalid()))
            .collect()
    };
    let [year, month, day] = numbers(date, '-')?[..] else {
        return Err(invalid());
    };
    let clock = match time {
        Some(time) => numbers(time, ':')?,
        None => vec![0, 0, 0],
    };
    let [hour, minute, second] = clock[..] else {
        return Err(invalid());
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(invalid());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[derive(Args)]
#[group(required = true, multiple = true)]
struct ContactArgs {
    /// The contact's WhatsApp number (wa_id; `+`, spaces and dashes are ignored)
    #[arg(long, value_name = "NUMBER")]
    wa_id: Option<String>,
    /// The contact's business-scoped user id (BSUID, `US.13491208655302741918`)
    #[arg(long, value_name = "ID")]
    user_id: Option<String>,
    /// The contact's parent BSUID (`US.ENT.11815799212886844830`), when Meta links portfolios
    #[arg(long, value_name = "ID")]
    parent_user_id: Option<String>,
}

impl ContactArgs {
    fn ids(&self) -> ContactIds {
        ContactIds {
            wa_id: self.wa_id.clone(),
            user_id: self.user_id.clone(),
            parent_user_id: self.parent_user_id.clone(),
        }
    }
}

/// Why the tool stopped; each prints as one line.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] wavault_core::config::ConfigError),
    #[error("contact-hash key: {0}")]
    Secret(#[from] wavault_core::secrets::SecretError),
    #[error(transparent)]
    Contact(#[from] wavault_core::contact::ContactError),
    #[error("erasure incomplete (run it again to finish): {0}")]
    Erasure(#[from] wavault_core::contact::ErasureError),
    #[error("export failed: {0}")]
    Export(#[from] wavault_core::contact::ExportError),
    #[error("export incomplete: {0}")]
    Incomplete(String),
    #[error("replay stopped: {0}")]
    Replay(#[from] wavault_core::ingest::ReplayError),
}

/// EMF counts as one line on stderr (stdout is the summary).
#[derive(Default)]
struct StderrMetrics(Mutex<BTreeMap<&'static str, u64>>);

impl Metrics for StderrMetrics {
    fn count(&self, name: &'static str, value: u64) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(name).or_insert(0) += value;
        }
    }

    fn flush(&self) {
        let Ok(mut counts) = self.0.lock() else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let counts = std::mem::take(&mut *counts);
        if let Some(line) = wavault_core::metrics::EmfMetrics::document("wavault", &counts, now) {
            eprintln!("{line}");
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wavault: error: starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (summary, error) = runtime.block_on(run(cli));
    if let Some(summary) = summary {
        println!("{summary}");
    }
    match error {
        None => ExitCode::SUCCESS,
        Some(error) => {
            let line = error.to_string().replace(['\n', '\r'], " ");
            eprintln!("wavault: error: {line}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version as clap prints them; other argument errors by kind only (no typed values).
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        | ErrorKind::MissingRequiredArgument
        | ErrorKind::MissingSubcommand => {
            let _ = error.print();
        }
        kind => eprintln!(
            "wavault: error: {} (values are not repeated here); see `wavault --help`",
            kind.as_str().unwrap_or("invalid arguments")
        ),
    }
    ExitCode::from(error.exit_code().clamp(0, 255) as u8)
}

/// The summary to print (also after a partial export) and the error to report.
async fn run(cli: Cli) -> (Option<Value>, Option<CliError>) {
    match execute(cli).await {
        Ok(Outcome {
            summary,
            incomplete,
        }) => (Some(summary), incomplete.map(CliError::Incomplete)),
        Err(error) => (None, Some(error)),
    }
}

/// What a command that ran to its end has to say: the JSON summary, and why the result is incomplete if it is
/// (an export with media missing or not matching).
struct Outcome {
    summary: Value,
    incomplete: Option<String>,
}

/// What erasure and export are wired with: the settings, the clients and the contact hasher.
async fn contact_wiring(
    cli: &Cli,
) -> Result<
    (
        ContactDataConfig,
        wavault_aws::contact_data::ContactClients,
        wavault_core::contact::ContactHasher,
    ),
    CliError,
> {
    let settings = settings(cli)?;
    let config = contact_data_config(&settings);
    let clients = wavault_aws::contact_data::ContactClients::new(
        &load_sdk_config(AwsTimeouts::OPERATOR, &settings.aws).await,
    );
    let hasher = contact_data::contact_hasher(&clients, &config.contact_hash_secret_id).await?;
    Ok((config, clients, hasher))
}

async fn execute(cli: Cli) -> Result<Outcome, CliError> {
    match &cli.command {
        Command::Erase {
            contact,
            concurrency,
        } => {
            let (config, clients, hasher) = contact_wiring(&cli).await?;
            let ids = contact.ids();
            let audit = ContactHashes::of(&hasher, &ids)?.audit_id();
            let metrics = Arc::new(StderrMetrics::default());
            let mut eraser = contact_data::eraser(&config, &clients, hasher, metrics);
            eraser.concurrency = *concurrency;
            let report = eraser.erase(&ids).await?;
            let mut summary = json!({"command": "erase", "contact": audit});
            merge(&mut summary, &report);
            Ok(Outcome {
                summary,
                incomplete: None,
            })
        }
        Command::Export {
            contact,
            out,
            progress_every,
        } => {
            let (config, clients, hasher) = contact_wiring(&cli).await?;
            let ids = contact.ids();
            let audit = ContactHashes::of(&hasher, &ids)?.audit_id();
            let bar = progress::ProgressBar::new();
            let progress = |p: wavault_core::contact::Progress| {
                bar.show(&format!("export {}", p.stage), p.done, p.total);
            };
            let report = contact_data::exporter(&config, &clients, hasher, *progress_every)
                .export(&ids, out, &progress)
                .await?;
            // The folder is not repeated: an operator may have named it after the contact.
            let mut summary = json!({"command": "export", "contact": audit});
            merge(&mut summary, &report);
            let incomplete = (report.media_missing + report.media_mismatched > 0).then(|| {
                format!(
                    "{} media file(s) missing from the bucket, {} not matching their record's sha256",
                    report.media_missing, report.media_mismatched
                )
            });
            Ok(Outcome {
                summary,
                incomplete,
            })
        }
        Command::Replay {
            selection,
            progress_every,
        } => replay(&cli, selection, *progress_every).await,
    }
}

async fn replay(cli: &Cli, args: &ReplayArgs, progress_every: usize) -> Result<Outcome, CliError> {
    let settings = ReplaySettings::from_lookup(|name| lookup(cli, name))?;
    let sdk = load_sdk_config(AwsTimeouts::OPERATOR, &settings.aws).await;
    let metrics = Arc::new(StderrMetrics::default());
    let replayer = wavault_aws::replay::replayer(&settings, &sdk, metrics, progress_every);
    let bar = progress::ProgressBar::new();
    let progress = |p: ReplayProgress| bar.show("replay", p.done, p.total);
    let report = replayer.replay(&args.selection(), &progress).await?;
    let mut summary = json!({"command": "replay"});
    merge(&mut summary, &report);
    Ok(Outcome {
        summary,
        incomplete: None,
    })
}

/// The settings from the environment; `--table` and `--bucket`, when given (and not blank), win
/// over `RECORDS_TABLE` and `ARCHIVE_BUCKET`.
fn settings(cli: &Cli) -> Result<OperatorSettings, wavault_core::config::ConfigError> {
    OperatorSettings::from_lookup(|name| lookup(cli, name))
}

/// A variable's value: `--table` / `--bucket` when given (and not blank), else the environment.
fn lookup(cli: &Cli, name: &str) -> Option<String> {
    let flag = match name {
        "RECORDS_TABLE" => cli.table.clone(),
        "ARCHIVE_BUCKET" => cli.bucket.clone(),
        _ => None,
    };
    flag.filter(|v| !v.trim().is_empty())
        .or_else(|| std::env::var(name).ok())
}

/// What the erasure and export wiring takes (`ContactDataConfig`, in `wavault-aws`).
fn contact_data_config(settings: &OperatorSettings) -> ContactDataConfig {
    ContactDataConfig {
        records_table: settings.records.name.clone(),
        archive_bucket: settings.archive.name.clone(),
        contact_hash_secret_id: settings.contact_hash_secret.id.clone(),
        kms_key_id: settings.encryption.kms_key_id.clone(),
    }
}

fn merge(summary: &mut Value, report: &impl serde::Serialize) {
    if let (Some(target), Ok(Value::Object(fields))) =
        (summary.as_object_mut(), serde_json::to_value(report))
    {
        target.extend(fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc_epoch_seconds() {
        assert_eq!(parse_time("1796000000"), Ok(1_796_000_000));
        assert_eq!(parse_time("1970-01-01"), Ok(0));
        assert_eq!(parse_time("2026-12-01"), Ok(1_796_083_200));
        assert_eq!(
            parse_time("2026-12-01T09:30:05Z"),
            Ok(1_796_083_200 + 34_205)
        );
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Ok(1_709_164_800));
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-12-01T09:30",
            "2026-12-01T25:00:00Z",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
