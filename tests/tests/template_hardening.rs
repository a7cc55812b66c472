//! Properties of `infra/template.yaml` that cfn-lint and checkov do not check: the media queue outlasts the
//! fetcher's timeout, every function logs to its own encrypted group kept `RetentionDays`, every alarm notifies
//! the stack's topic (on alarm and on recovery), and no role or policy grants an action on `*` but X-Ray's.

use serde_json::{json, Value};
use wavault_tests::template::{as_i64, Template};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn functions(template: &Template) -> Vec<String> {
    template.logical_ids_of_type("AWS::Serverless::Function")
}

/// AWS's guidance for SQS event sources: visibility timeout at least six times the function's timeout.
#[test]
fn the_media_queue_outlasts_six_fetcher_timeouts() -> TestResult {
    let t = Template::project()?;
    let fetcher = t.resource("MediaFetcherFunction", "AWS::Serverless::Function")?;
    let timeout = match fetcher.opt_i64(&["Timeout"])? {
        Some(timeout) => timeout,
        None => t
            .global(&["Function", "Timeout"])
            .as_ref()
            .and_then(as_i64)
            .ok_or("no Timeout on the fetcher or in Globals")?,
    };
    let queue = t.resource("MediaQueue", "AWS::SQS::Queue")?;
    let visibility = queue
        .opt_i64(&["VisibilityTimeout"])?
        .ok_or("MediaQueue has no VisibilityTimeout (SQS default 30 s)")?;
    assert!(
        visibility >= 6 * timeout,
        "MediaQueue VisibilityTimeout {visibility} < 6 x fetcher Timeout {timeout}"
    );
    Ok(())
}

#[test]
fn every_function_logs_to_its_own_encrypted_group_kept_retention_days() -> TestResult {
    let t = Template::project()?;
    let retention = t
        .parameter("RetentionDays")
        .and_then(as_i64)
        .ok_or("no RetentionDays default")?;
    let mut groups = Vec::new();
    for id in functions(&t) {
        let f = t.resource(&id, "AWS::Serverless::Function")?;
        let group = f
            .get(&["LoggingConfig", "LogGroup", "Ref"])
            .and_then(Value::as_str)
            .ok_or(format!(
                "{id} has no LoggingConfig.LogGroup: !Ref <its log group>"
            ))?
            .to_string();
        let g = t.resource(&group, "AWS::Logs::LogGroup")?;
        assert_eq!(g.opt_i64(&["RetentionInDays"])?, Some(retention), "{group}");
        assert!(g.get(&["KmsKeyId"]).is_some(), "{group} is not encrypted");
        assert!(!groups.contains(&group), "{group} is shared");
        groups.push(group);
    }
    Ok(())
}

#[test]
fn every_alarm_notifies_the_topic_when_it_fires_and_recovers() -> TestResult {
    let t = Template::project()?;
    let alarms = t.logical_ids_of_type("AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 12, "alarms: {alarms:?}");
    let topic = json!([{"Ref": "AlarmTopic"}]);
    for id in alarms {
        let a = t.resource(&id, "AWS::CloudWatch::Alarm")?;
        assert_eq!(a.get(&["AlarmActions"]), Some(&topic), "{id} AlarmActions");
        assert_eq!(a.get(&["OKActions"]), Some(&topic), "{id} OKActions");
        assert!(
            a.get(&["TreatMissingData"]).is_some(),
            "{id} TreatMissingData"
        );
    }
    Ok(())
}

/// Actions the Service Authorization Reference lists without a resource type: only `Resource: "*"` grants them.
const NO_RESOURCE_LEVEL_ACTIONS: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "dynamodb:ListStreams",
];

/// Allow statements of every role and managed policy: no `*` action, and `*` resources only for the actions that
/// support no resource-level permission (X-Ray's, DynamoDB's ListStreams).
#[test]
fn no_wildcard_actions_and_only_xray_on_any_resource() -> TestResult {
    let t = Template::project()?;
    let mut documents = Vec::new();
    for id in t.logical_ids_of_type("AWS::IAM::Role") {
        let r = t.resource(&id, "AWS::IAM::Role")?;
        for p in r
            .get(&["Policies"])
            .and_then(Value::as_array)
            .ok_or(format!("{id}: no Policies"))?
        {
            documents.push((id.clone(), p["PolicyDocument"].clone()));
        }
        assert!(
            r.get(&["ManagedPolicyArns"]).is_none(),
            "{id} attaches managed policies"
        );
    }
    for id in t.logical_ids_of_type("AWS::IAM::ManagedPolicy") {
        let p = t.resource(&id, "AWS::IAM::ManagedPolicy")?;
        documents.push((id.clone(), p.require(&["PolicyDocument"])?.clone()));
    }
    for id in functions(&t) {
        let f = t.resource(&id, "AWS::Serverless::Function")?;
        assert!(f.get(&["Role"]).is_some(), "{id} has a SAM-generated role");
        assert!(f.get(&["Policies"]).is_none(), "{id} has SAM Policies");
    }
    assert!(documents.len() >= 5);
    for (id, document) in documents {
        for statement in document["Statement"]
            .as_array()
            .ok_or(format!("{id}: no Statement"))?
        {
            if statement["Effect"] != "Allow" {
                continue;
            }
            let list = |v: &Value| match v {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            let actions = list(&statement["Action"]);
            for action in &actions {
                let action = action.as_str().unwrap_or_default();
                assert!(!action.contains('*'), "{id}: action {action}");
            }
            if list(&statement["Resource"]).iter().any(|r| r == "*") {
                assert!(
                    actions.iter().all(|a| a
                        .as_str()
                        .is_some_and(|a| NO_RESOURCE_LEVEL_ACTIONS.contains(&a))),
                    "{id}: {} on *",
                    statement["Sid"]
                );
            }
        }
    }
    Ok(())
}
