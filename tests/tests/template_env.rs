//! Every environment variable a function reads is set on it in `infra/template.yaml`, and every variable the
//! template sets is read.
//!
//! "What a function reads" comes from the code, twice over: each function's `main.rs` loads exactly one settings
//! type (found in its source below), and each settings type declares the variables it reads as `VARIABLES`, the
//! union of its sections' lists (`shared/core/src/config/`); the first test here checks that its `from_lookup`
//! asks for exactly those names. Nothing here lists variables.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use wavault_core::config::{
    ConfigError, MediaFetcherSettings, TokenRotatorSettings, TtlExpirerSettings, WebhookSettings,
};
use wavault_tests::template::Template;
use wavault_tests::workspace_root;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Read by the code but set only locally (an emulator endpoint, the fake Graph API's media host): declared
/// beside the settings in `shared/core/src/config.rs`.
const LOCAL_ONLY: &[&str] = wavault_core::config::LOCAL_ONLY_VARIABLES;

/// Loads a settings type through a lookup, keeping only whether it succeeded.
type Load = fn(&dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError>;

/// The way each function's `main` loads its settings, the variables that type declares, and its loader.
const SETTINGS_LOADS: &[(&str, &[&str], Load)] = &[
    (
        "WebhookSettings::from_env()",
        WebhookSettings::VARIABLES,
        |lookup| WebhookSettings::from_lookup(lookup).map(drop),
    ),
    (
        "MediaFetcherSettings::from_env()",
        MediaFetcherSettings::VARIABLES,
        |lookup| MediaFetcherSettings::from_lookup(lookup).map(drop),
    ),
    (
        "TokenRotatorSettings::from_env()",
        TokenRotatorSettings::VARIABLES,
        |lookup| TokenRotatorSettings::from_lookup(lookup).map(drop),
    ),
    (
        "TtlExpirerSettings::from_env()",
        TtlExpirerSettings::VARIABLES,
        |lookup| TtlExpirerSettings::from_lookup(lookup).map(drop),
    ),
];

/// A value every variable accepts (URLs where a URL is expected, whole days, ...), for [`asked_for`].
fn valid_value(name: &str) -> &'static str {
    match name {
        "MEDIA_QUEUE_URL" | "MEDIA_DLQ_URL" | "GRAPH_API_BASE_URL" | "AWS_ENDPOINT_URL" => {
            "http://127.0.0.1:1/x"
        }
        "GRAPH_API_VERSION" => "v23.0",
        "RETENTION_DAYS" | "MEDIA_DEADLINE_DAYS" => "7",
        "ROTATION_STRATEGY" => "exchange",
        "PHONE_NUMBER_ID" => "123",
        _ => "value",
    }
}

/// The names `load` asks its lookup for, given a valid value for every name.
fn asked_for(load: Load) -> Result<BTreeSet<String>, ConfigError> {
    let asked = RefCell::new(BTreeSet::new());
    load(&|name: &str| {
        asked.borrow_mut().insert(name.to_owned());
        Some(valid_value(name).to_owned())
    })?;
    Ok(asked.into_inner())
}

/// The declared lists are what the settings really read, so the template check below compares the template
/// with the code and not with a list that could drift from it.
#[test]
fn each_settings_type_asks_for_exactly_the_variables_it_declares() -> TestResult {
    for (call, variables, load) in SETTINGS_LOADS {
        let declared: BTreeSet<String> = variables.iter().map(|v| v.to_string()).collect();
        assert_eq!(declared.len(), variables.len(), "{call}: a variable twice");
        assert_eq!(asked_for(*load)?, declared, "{call}");
    }
    Ok(())
}

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
        // Reading the environment anywhere but through settings would escape this check.
        if text.contains("env::var") {
            return Err(format!(
                "{} reads the environment directly: go through its settings in shared/core/src/config/",
                file.display()
            ));
        }
        let compact: String = text.split_whitespace().collect();
        for (call, variables, _) in SETTINGS_LOADS {
            let pattern: String = call.split_whitespace().collect();
            // A name that ends another's (`XSettings::from_env()`) must not count: whole paths only.
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
            "{} loads none of the known settings ({})",
            dir.display(),
            SETTINGS_LOADS
                .iter()
                .map(|(c, _, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        more => Err(format!(
            "{} loads more than one settings type: {:?}",
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
    // The webhook's comes first (the media fetcher's replay action reads it too, further down).
    assert!(
        text.find(dropped) < text.find("Binary: media-fetcher"),
        "the fixture edit expects the webhook's MEDIA_DEADLINE_DAYS line first"
    );
    let edited = text.replacen(dropped, "", 1).replace(
        "          ARCHIVE_BUCKET: !Ref ArchiveBucket\n      Events:\n        TtlRemovals:",
        "          ARCHIVE_BUCKET: !Ref ArchiveBucket\n          MEDIA_QUEUE_URL: !Ref MediaQueue\n      Events:\n        TtlRemovals:",
    );
    assert_ne!(
        edited,
        text.replacen(dropped, "", 1),
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
