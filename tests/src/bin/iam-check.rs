//! The IAM contract check (`make test` runs it after the suites; `make iam-table` rewrites the table in docs/iam.md).
//!
//! Reads every call the IAM gateways recorded under `target/iam/`, evaluates them against
//! `infra/template.yaml`, and fails (exit 1) when a call was denied, a request could not be mapped, a grant was
//! never exercised without a kept reason, or the permission table in `docs/iam.md` is not what the records give.
//!
//! `--write` updates that table instead of comparing it.

use std::process::ExitCode;

use wavault_tests::iam::gateway::records_dir;
use wavault_tests::iam::policies::StackPolicies;
use wavault_tests::iam::report::{check, coverage_table, read_records, with_table};
use wavault_tests::template::Template;
use wavault_tests::workspace_root;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("iam-check: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let write = std::env::args().any(|a| a == "--write");
    let dir = records_dir();
    let calls = read_records(&dir)?;
    if calls.is_empty() {
        eprintln!(
            "iam-check: no recorded calls under {} (run the integration tests first: `make test`)",
            dir.display()
        );
        return Ok(false);
    }
    let template = Template::project()?;
    let policies = StackPolicies::from_template(&wavault_tests::iam::bind_for_report(&template)?)?;
    let findings = check(&calls, &policies);
    println!(
        "IAM check: {} recorded AWS calls of the functions and the wavault tool, evaluated against {}",
        findings.calls,
        Template::project_path().display()
    );
    println!("{}", coverage_table(&findings));
    for line in &findings.kept {
        println!("kept, not exercised locally: {line}");
    }
    let mut ok = true;
    for line in &findings.denied {
        eprintln!("DENIED: {line}");
        ok = false;
    }
    for line in &findings.unclassified {
        eprintln!("UNMAPPED: {line}");
        ok = false;
    }
    for line in &findings.unexercised {
        eprintln!(
            "GRANTED BUT NEVER EXERCISED: {line} (exercise it in a test, remove it, or keep it with a reason in the \
             resource's Metadata.wavault-iam.unexercised)"
        );
        ok = false;
    }
    let readme_path = workspace_root().join("docs").join("iam.md");
    let readme = std::fs::read_to_string(&readme_path)?;
    let table = format!("{}\n{}", findings.table, coverage_table(&findings));
    match with_table(&readme, &table) {
        None => {
            eprintln!("docs/iam.md has no IAM table markers");
            ok = false;
        }
        Some(updated) if updated != readme => {
            if write {
                std::fs::write(&readme_path, updated)?;
                println!("docs/iam.md: IAM table rewritten");
            } else {
                eprintln!(
                    "docs/iam.md: the IAM permission table differs from what the check found: run `make iam-table`"
                );
                ok = false;
            }
        }
        Some(_) => println!("docs/iam.md: IAM table in step"),
    }
    if ok {
        println!("IAM check passed");
    }
    Ok(ok)
}
