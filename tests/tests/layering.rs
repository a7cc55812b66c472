//! The architecture, enforced: the core links no AWS SDK, HTTP client or Lambda crate; each function links only
//! the adapters it uses; the in-memory test doubles are in no function binary. Read from `cargo tree` with the
//! normal (non-dev) dependency edges of each package, as a release build of it resolves them.

use std::collections::BTreeSet;
use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// `name` and enabled features of every package `package` links in a normal build.
fn linked(
    package: &str,
) -> Result<BTreeSet<(String, String)>, Box<dyn std::error::Error + Send + Sync>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(wavault_tests::workspace_root())
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "-f",
            "{p}|{f}",
        ])
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {package}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?
        .lines()
        .filter_map(|line| {
            let (package, features) = line.split_once('|')?;
            let name = package.split_whitespace().next()?.to_owned();
            Some((name, features.trim().to_owned()))
        })
        .collect())
}

fn names(linked: &BTreeSet<(String, String)>) -> BTreeSet<String> {
    linked.iter().map(|(n, _)| n.clone()).collect()
}

#[test]
fn the_core_knows_no_aws_no_http_client_and_no_lambda() -> TestResult {
    let core = names(&linked("wavault-core")?);
    let forbidden: Vec<&String> = core
        .iter()
        .filter(|n| {
            n.starts_with("aws-")
                || n.starts_with("aws_")
                || n.starts_with("lambda")
                || ["reqwest", "hyper", "wavault-aws", "wavault-graph"].contains(&n.as_str())
        })
        .collect();
    assert!(forbidden.is_empty(), "wavault-core links {forbidden:?}");
    Ok(())
}

#[test]
fn each_function_links_only_the_adapters_it_uses() -> TestResult {
    // (package, must not link)
    let rules: [(&str, &[&str]); 5] = [
        ("webhook", &["wavault-graph", "reqwest"]),
        (
            "ttl-expirer",
            &[
                "wavault-graph",
                "reqwest",
                "aws-sdk-sqs",
                "aws-sdk-secretsmanager",
            ],
        ),
        (
            "token-rotator",
            &["aws-sdk-dynamodb", "aws-sdk-s3", "aws-sdk-sqs"],
        ),
        ("media-fetcher", &[]),
        // The operator tool sends media jobs when it replays the journal (SQS), and calls no Graph API.
        (
            "wavault-cli",
            &["wavault-graph", "reqwest", "lambda_runtime"],
        ),
    ];
    for (package, forbidden) in rules {
        let linked = linked(package)?;
        let names = names(&linked);
        for name in forbidden {
            assert!(!names.contains(*name), "{package} links {name}");
        }
        // The test doubles are compiled only for tests.
        for (name, features) in &linked {
            if name == "wavault-core" {
                assert!(
                    !features.split(',').any(|f| f == "testkit"),
                    "{package} links wavault-core with its testkit"
                );
            }
        }
    }
    Ok(())
}
