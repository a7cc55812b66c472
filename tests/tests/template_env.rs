//! Every environment variable a function reads is set on it in `infra/template.yaml`, and every variable the
//! template sets is read.
//!
//! "What a function reads" comes from the code, twice over: each function's `main.rs` loads exactly one config
//! (found in its source below), and each config declares the variables it reads as a constant that a unit test
//! in `shared/core/src/config.rs` checks against what its `from_lookup` really asks for. Nothing here lists variables.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use wavault_core::config::{Config, ExpirerConfig, RotatorConfig};
use wavault_tests::template::Template;
use wavault_tests::workspace_root;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Read by the code but set only locally (an emulator endpoint, the fake Graph API's media host): declared
/// beside the configs in `shared/core/src/config.rs`.
const LOCAL_ONLY: &[&str] = wavault_core::config::LOCAL_ONLY_VARIABLES;

/// The ways a function's `main` loads its configuration, and the variables each reads.
const CONFIG_LOADS: &[(&str, &[&str])] = &[
    (
        "Config::from_env_for(Config::WEBHOOK_VARIABLES)",
        Config::WEBHOOK_VARIABLES,
    ),
    (
        "Config::from_env_for(Config::MEDIA_FETCHER_VARIABLES)",
        Config::MEDIA_FETCHER_VARIABLES,
    ),
    ("Config::from_env()", Config::VARIABLES),
    ("RotatorConfig::from_env()", RotatorConfig::VARIABLES),
    ("ExpirerConfig::from_env()", ExpirerConfig::VARIABLES),
];

/// Every `.rs` file under `dir`, except unit-test folders.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().and_then(|n| n.to_str()) != Some("tests") {
                sources(&path, out)?;
            }
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The variables the function built from `functions/<binary>/` reads, found in its source; or why not.
fn variables_read_by(binary: &str) -> Result<BTreeSet<String>, String> {
    let dir = workspace_root().join("functions").join(binary).join("src");
    let mut files = Vec::new();
    sources(&dir, &mut files).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut loads = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        // Reading the environment anywhere but through a config would escape this check.
        if text.contains("env::var") {
            return Err(format!(
                "{} reads the environment directly: go through a config in shared/core/src/config.rs",
                file.display()
            ));
        }
        let compact: String = text.split_whitespace().collect();
        for (call, variables) in CONFIG_LOADS {
            let pattern: String = call.split_whitespace().collect();
            // `RotatorConfig::from_env()` must not count as `Config::from_env()`: whole paths only.
            let whole = compact.match_indices(&pattern).any(|(at, _)| {
                !compact[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if whole {
                loads.push((*call, *variables));
            }
        }
    }
    match loads.as_slice() {
        [(_, variables)] => Ok(variables.iter().map(|v| v.to_string()).collect()),
        [] => Err(format!(
            "{} loads none of the known configs ({})",
            dir.display(),
            CONFIG_LOADS
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        more => Err(format!(
            "{} loads more than one config: {:?}",
            dir.display(),
            more.iter().map(|(c, _)| *c).collect::<Vec<_>>()
        )),
    }
}

/// The names of an `Environment.Variables` object.
fn names(variables: Option<&Value>) -> BTreeSet<String> {
    variables
        .and_then(Value::as_object)
        .map(|vars| vars.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every mismatch between what the template sets and what the code reads, one line each.
fn mismatches(template: &Template) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let global = names(
        template
            .global(&["Function", "Environment", "Variables"])
            .as_ref(),
    );
    let functions = template.logical_ids_of_type("AWS::Serverless::Function");
    if functions.is_empty() {
        return Err(format!("{} has no AWS::Serverless::Function", template.origin()).into());
    }
    let mut problems = Vec::new();
    for id in functions {
        let binary = template
            .metadata(&id)
            .and_then(|m| m.pointer("/BuildProperties/Binary"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{id} has no Metadata.BuildProperties.Binary"))?;
        let read = match variables_read_by(binary) {
            Ok(read) => read,
            Err(why) => {
                problems.push(format!("{id}: {why}"));
                continue;
            }
        };
        let resource = template.resource(&id, "AWS::Serverless::Function")?;
        let mut set = names(resource.get(&["Environment", "Variables"]));
        set.extend(global.iter().cloned());
        for name in read.difference(&set) {
            if !LOCAL_ONLY.contains(&name.as_str()) {
                problems.push(format!(
                    "{id} ({binary}) reads {name}, which the template does not set"
                ));
            }
        }
        for name in set.difference(&read) {
            problems.push(format!(
                "{id} ({binary}) is given {name}, which its code never reads"
            ));
        }
        for name in LOCAL_ONLY {
            if set.contains(*name) {
                problems.push(format!(
                    "{id} sets {name}, which only a local emulator may set"
                ));
            }
        }
    }
    Ok(problems)
}

#[test]
fn every_function_gets_exactly_the_variables_its_code_reads() -> TestResult {
    let template = Template::project()?;
    let problems = mismatches(&template)?;
    assert!(
        problems.is_empty(),
        "{}:\n  {}",
        template.origin(),
        problems.join("\n  ")
    );
    Ok(())
}

/// The check is not vacuous: a variable dropped from a function and one added to another are both named.
#[test]
fn a_missing_and_an_unread_variable_are_both_reported() -> TestResult {
    let text = std::fs::read_to_string(Template::project_path())?;
    let dropped = "          MEDIA_DEADLINE_DAYS: !Ref MediaDeadlineDays\n";
    assert_eq!(
        text.matches(dropped).count(),
        1,
        "the fixture edit expects one MEDIA_DEADLINE_DAYS line (the webhook's)"
    );
    let edited = text.replace(dropped, "").replace(
        "          ARCHIVE_BUCKET: !Ref ArchiveBucket\n      Events:\n        TtlRemovals:",
        "          ARCHIVE_BUCKET: !Ref ArchiveBucket\n          MEDIA_QUEUE_URL: !Ref MediaQueue\n      Events:\n        TtlRemovals:",
    );
    assert_ne!(
        edited,
        text.replace(dropped, ""),
        "the ttl-expirer edit applied"
    );
    let problems = mismatches(&Template::parse(&edited, "edited template")?)?;
    assert_eq!(
        problems,
        vec![
            "TtlExpirerFunction (ttl-expirer) is given MEDIA_QUEUE_URL, which its code never reads"
                .to_string(),
            "WebhookFunction (webhook) reads MEDIA_DEADLINE_DAYS, which the template does not set"
                .to_string(),
        ]
    );
    Ok(())
}
