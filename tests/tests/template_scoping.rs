//! Two stacks in one account and region never share a metric or an alarm.
//!
//! wavault's EMF metrics have one dimension, `Function` (`webhook`, `media-fetcher`, ...), which is the same in
//! every deployment; what keeps two stacks apart is the namespace, `wavault/${AWS::StackName}`, given to every
//! function as `METRICS_NAMESPACE`. Checked here on `infra/template.yaml`:
//! - every function gets exactly that namespace and its wiring (`main.rs` or `wiring.rs`) publishes under it;
//! - every alarm on a wavault metric uses that namespace, exactly the dimensions the functions emit (`Function`
//!   with a value some function's wiring passes to `EmfMetrics::new`) and a metric name the code emits;
//! - every alarm on an AWS metric is keyed by a resource of this stack (`!Ref` / `!GetAtt`);
//! - no alarm has a fixed `AlarmName` (CloudFormation then names it `<stack>-<logical id>-<suffix>`);
//! - the dashboard is named after the stack and every metric it shows is the stack's namespace or a stack resource.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use wavault_tests::template::Template;
use wavault_tests::workspace_root;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The per-stack namespace, as written in the template (unresolved).
const STACK_NAMESPACE: &str = "wavault/${AWS::StackName}";

fn stack_namespace() -> Value {
    json!({ "Fn::Sub": STACK_NAMESPACE })
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sources(&path, out)?;
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The text of every source file of the shared crate and the functions (where metric names are emitted).
fn code_text() -> Result<String, Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    sources(&workspace_root().join("shared"), &mut files)?;
    sources(&workspace_root().join("functions"), &mut files)?;
    let mut text = String::new();
    for file in files {
        text.push_str(&std::fs::read_to_string(file)?);
    }
    Ok(text)
}

/// The `Function` dimension a function's metrics carry: the name its wiring (`main.rs`, else `wiring.rs`) gives
/// `EmfMetrics::new`, and whether it publishes under the configured namespace (the settings' metrics section).
fn emf_identity(binary: &str) -> Result<(String, bool), String> {
    let src = workspace_root().join("functions").join(binary).join("src");
    for file in ["main.rs", "wiring.rs"] {
        let path = src.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let compact: String = text.split_whitespace().collect();
        let Some(at) = compact.find("EmfMetrics::new(\"") else {
            continue;
        };
        let start = at + "EmfMetrics::new(\"".len();
        let name: String = compact[start..].chars().take_while(|c| *c != '"').collect();
        let namespaced = compact.contains(".with_namespace(settings.metrics.namespace");
        return Ok((name, namespaced));
    }
    Err(format!(
        "{} builds no EmfMetrics (main.rs, wiring.rs)",
        src.display()
    ))
}

/// A dimension value that names a resource of this template (`!Ref X`, `!GetAtt X.Attr`).
fn is_stack_resource(template: &Template, value: &Value) -> bool {
    let resources = &template.root()["Resources"];
    let logical = match value {
        Value::Object(map) if map.len() == 1 => match (map.get("Ref"), map.get("Fn::GetAtt")) {
            (Some(Value::String(id)), _) => Some(id.clone()),
            (_, Some(Value::Array(parts))) => {
                parts.first().and_then(Value::as_str).map(str::to_owned)
            }
            (_, Some(Value::String(dotted))) => dotted.split('.').next().map(str::to_owned),
            _ => None,
        },
        _ => None,
    };
    logical.is_some_and(|id| resources.get(&id).is_some())
}

/// Every way the template lets two stacks share a metric or an alarm, one line each.
fn problems(template: &Template) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let resources = template.root()["Resources"]
        .as_object()
        .ok_or("the template has no Resources")?;
    let code = code_text()?;
    let mut problems = Vec::new();

    // Functions: the stack's namespace in, published under it.
    let mut emitted_functions = BTreeSet::new();
    for id in template.logical_ids_of_type("AWS::Serverless::Function") {
        let properties = &resources[&id]["Properties"];
        let binary = template
            .metadata(&id)
            .and_then(|m| m.pointer("/BuildProperties/Binary"))
            .and_then(Value::as_str)
            .ok_or(format!("{id} has no Metadata.BuildProperties.Binary"))?;
        let namespace = properties.pointer("/Environment/Variables/METRICS_NAMESPACE");
        if namespace != Some(&stack_namespace()) {
            problems.push(format!(
                "{id}: METRICS_NAMESPACE is {namespace:?}, not !Sub {STACK_NAMESPACE}"
            ));
        }
        match emf_identity(binary) {
            Ok((name, true)) => {
                emitted_functions.insert(name);
            }
            Ok((name, false)) => {
                problems.push(format!(
                    "{id}: functions/{binary} publishes {name} metrics without the configured namespace"
                ));
            }
            Err(why) => problems.push(format!("{id}: {why}")),
        }
    }

    // Alarms.
    for id in template.logical_ids_of_type("AWS::CloudWatch::Alarm") {
        let properties = &resources[&id]["Properties"];
        if let Some(name) = properties.get("AlarmName") {
            if !name.to_string().contains("${AWS::StackName}") {
                problems.push(format!("{id}: AlarmName {name} is not per stack"));
            }
        }
        let dimensions = properties["Dimensions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        match &properties["Namespace"] {
            Value::String(aws) if aws.starts_with("AWS/") => {
                if dimensions.is_empty() {
                    problems.push(format!(
                        "{id}: {aws} alarm without dimensions (account-wide)"
                    ));
                }
                for d in &dimensions {
                    if !is_stack_resource(template, &d["Value"]) {
                        problems.push(format!(
                            "{id}: dimension {} = {} is not a resource of this stack",
                            d["Name"], d["Value"]
                        ));
                    }
                }
            }
            namespace if *namespace == stack_namespace() => {
                let function = match dimensions.as_slice() {
                    [only] if only["Name"] == "Function" => {
                        only["Value"].as_str().unwrap_or_default()
                    }
                    _ => {
                        problems.push(format!(
                            "{id}: dimensions {dimensions:?} are not the [Function] the functions emit"
                        ));
                        continue;
                    }
                };
                if !emitted_functions.contains(function) {
                    problems.push(format!(
                        "{id}: no function emits Function = {function:?} (emitted: {emitted_functions:?})"
                    ));
                }
                let metric = properties["MetricName"].as_str().unwrap_or_default();
                if metric.is_empty() || !code.contains(&format!("\"{metric}\"")) {
                    problems.push(format!(
                        "{id}: metric {metric:?} is emitted nowhere in the code"
                    ));
                }
            }
            other => problems.push(format!(
                "{id}: namespace {other} is neither AWS/... nor !Sub {STACK_NAMESPACE}"
            )),
        }
    }

    // The dashboard.
    for id in template.logical_ids_of_type("AWS::CloudWatch::Dashboard") {
        let properties = &resources[&id]["Properties"];
        if !properties["DashboardName"]
            .to_string()
            .contains("${AWS::StackName}")
        {
            problems.push(format!("{id}: DashboardName is not per stack"));
        }
        let body = properties["DashboardBody"]["Fn::Sub"]
            .as_str()
            .ok_or(format!("{id}: DashboardBody is not a !Sub string"))?;
        let body: Value = serde_json::from_str(body)?;
        for widget in body["widgets"].as_array().cloned().unwrap_or_default() {
            let title = widget["properties"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut namespace = String::new();
            for row in widget["properties"]["metrics"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let cells: Vec<&str> = row
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let Some(first) = cells.first() else { continue };
                // "..." repeats the previous row but for the values that follow.
                let values: Vec<&str> = if *first == "..." {
                    cells[1..].to_vec()
                } else {
                    if *first != "." {
                        namespace = (*first).to_owned();
                    }
                    cells.iter().skip(3).step_by(2).copied().collect()
                };
                if namespace.starts_with("AWS/") {
                    for value in values.iter().filter(|v| **v != ".") {
                        if !value.contains("${") {
                            problems.push(format!(
                                "{id} \"{title}\": {namespace} dimension {value:?} is not a resource of this stack"
                            ));
                        }
                    }
                } else if namespace != STACK_NAMESPACE {
                    problems.push(format!(
                        "{id} \"{title}\": namespace {namespace:?} is not {STACK_NAMESPACE}"
                    ));
                }
            }
        }
    }
    Ok(problems)
}

#[test]
fn no_metric_or_alarm_is_shared_between_stacks() -> TestResult {
    let template = Template::project()?;
    let problems = problems(&template)?;
    assert!(
        problems.is_empty(),
        "{}:\n  {}",
        template.origin(),
        problems.join("\n  ")
    );
    // Not vacuous: the template has custom-metric alarms, AWS-metric alarms and a dashboard.
    assert!(template.logical_ids_of_type("AWS::CloudWatch::Alarm").len() >= 12);
    assert_eq!(
        template
            .logical_ids_of_type("AWS::CloudWatch::Dashboard")
            .len(),
        1
    );
    Ok(())
}

/// The namespace resolves per stack: what the functions are given is what the alarms watch.
#[test]
fn functions_and_alarms_resolve_to_the_same_namespace() -> TestResult {
    let template = Template::project()?;
    let webhook = template.resource("WebhookFunction", "AWS::Serverless::Function")?;
    let alarm = template.resource("WebhookDeliveryFailedAlarm", "AWS::CloudWatch::Alarm")?;
    let given = webhook.opt_str(&["Environment", "Variables", "METRICS_NAMESPACE"])?;
    assert_eq!(given.as_deref(), Some("wavault/wavault-local"));
    assert_eq!(alarm.opt_str(&["Namespace"])?, given);
    Ok(())
}

/// The check is not vacuous: a shared namespace, a dimension nobody emits and a fixed alarm name are named.
#[test]
fn shared_namespaces_and_fixed_names_are_reported() -> TestResult {
    let text = std::fs::read_to_string(Template::project_path())?;
    let scoped =
        "      Namespace: !Sub wavault/${AWS::StackName}\n      MetricName: DeliveryFailed\n";
    assert_eq!(
        text.matches(scoped).count(),
        1,
        "the fixture expects one DeliveryFailed alarm"
    );
    let edited = text
        .replace(scoped, "      Namespace: wavault\n      MetricName: DeliveryFailed\n")
        .replacen(
            "      MetricName: SignatureRejected\n      Dimensions:\n        - Name: Function\n          Value: webhook\n",
            "      MetricName: SignatureRejected\n      Dimensions:\n        - Name: Function\n          Value: webhooks\n",
            1,
        )
        .replacen(
            "  TtlExpirerErrorsAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n",
            "  TtlExpirerErrorsAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      AlarmName: wavault-ttl-expirer-errors\n",
            1,
        );
    let problems = problems(&Template::parse(&edited, "edited template")?)?;
    let mentions = |id: &str| problems.iter().any(|p| p.starts_with(id));
    assert!(
        mentions("WebhookDeliveryFailedAlarm: namespace"),
        "{problems:#?}"
    );
    assert!(
        mentions("SignatureRejectedAlarm: no function emits"),
        "{problems:#?}"
    );
    assert!(
        mentions("TtlExpirerErrorsAlarm: AlarmName"),
        "{problems:#?}"
    );
    assert_eq!(problems.len(), 3, "{problems:#?}");
    Ok(())
}
