//! The TTL stream's event source mapping drops nothing silently: a failing batch is bisected, and what still
//! fails after the retries goes to an on-failure destination, a KMS-encrypted, TLS-only queue kept 14 days and
//! alarmed, that the ttl-expirer's role (the one the mapping sends with) may write through SQS only.

use serde_json::{json, Value};
use wavault_tests::template::Template;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// The `Allow` statements of a role's inline policies (raw, intrinsics unresolved).
fn allow_statements(template: &Template, role: &str) -> Vec<Value> {
    list(&template.root()["Resources"][role]["Properties"]["Policies"])
        .iter()
        .flat_map(|p| list(&p["PolicyDocument"]["Statement"]))
        .filter(|s| s["Effect"] == "Allow")
        .collect()
}

#[test]
fn ttl_stream_failures_go_to_an_alarmed_encrypted_queue() -> TestResult {
    let t = Template::project()?;
    let resources = &t.root()["Resources"];
    let mapping = &resources["TtlExpirerFunction"]["Properties"]["Events"]["TtlRemovals"];
    assert_eq!(mapping["Type"], "DynamoDB");
    let props = &mapping["Properties"];
    assert_eq!(props["BisectBatchOnFunctionError"], json!(true));
    let retries = props["MaximumRetryAttempts"].as_i64().ok_or(
        "TtlRemovals retries forever (no MaximumRetryAttempts): a poison batch blocks the shard",
    )?;
    assert!((0..=10_000).contains(&retries));

    // The destination: a queue of this stack.
    let destination = &props["DestinationConfig"]["OnFailure"]["Destination"];
    let queue = destination["Fn::GetAtt"]
        .as_array()
        .and_then(|parts| {
            (parts.get(1) == Some(&json!("Arn")))
                .then(|| parts.first())
                .flatten()
        })
        .and_then(Value::as_str)
        .ok_or(format!(
            "on-failure destination is not !GetAtt <queue>.Arn: {destination}"
        ))?
        .to_owned();
    let q = t.resource(&queue, "AWS::SQS::Queue")?;
    assert!(
        resources[&queue]["Properties"]
            .get("KmsMasterKeyId")
            .is_some(),
        "{queue} is not KMS-encrypted"
    );
    assert_eq!(
        q.opt_i64(&["MessageRetentionPeriod"])?,
        Some(1_209_600),
        "{queue}: 14 days"
    );

    // TLS only, as the media queues.
    let arn = json!({"Fn::GetAtt": [queue, "Arn"]});
    let tls_only = t
        .logical_ids_of_type("AWS::SQS::QueuePolicy")
        .into_iter()
        .any(|id| {
            let p = &resources[&id]["Properties"];
            list(&p["Queues"]).contains(&json!({"Ref": queue}))
                && list(&p["PolicyDocument"]["Statement"]).iter().any(|s| {
                    s["Effect"] == "Deny"
                        && s["Principal"] == "*"
                        && s["Action"] == "sqs:*"
                        && list(&s["Resource"]).contains(&arn)
                        && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                })
        });
    assert!(tls_only, "no queue policy denies {queue} without TLS");

    // An alarm on its depth.
    let alarmed = t
        .logical_ids_of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .any(|id| {
            let a = &resources[&id]["Properties"];
            a["Namespace"] == "AWS/SQS"
                && a["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && list(&a["Dimensions"]).contains(&json!({
                    "Name": "QueueName",
                    "Value": {"Fn::GetAtt": [queue, "QueueName"]}
                }))
                && a["Threshold"] == json!(0)
                && a["ComparisonOperator"] == "GreaterThanThreshold"
        });
    assert!(alarmed, "no alarm on {queue}'s depth");

    // The mapping sends with the function's role: SendMessage on the queue, the key through SQS only.
    let role = resources["TtlExpirerFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .ok_or("TtlExpirerFunction has no Role: !GetAtt <role>.Arn")?
        .to_owned();
    let statements = allow_statements(&t, &role);
    assert!(
        statements
            .iter()
            .any(|s| list(&s["Action"]).contains(&json!("sqs:SendMessage"))
                && list(&s["Resource"]) == vec![arn.clone()]),
        "{role} may not send to {queue}"
    );
    assert!(
        statements.iter().any(|s| {
            let actions = list(&s["Action"]);
            actions.contains(&json!("kms:GenerateDataKey"))
                && actions.contains(&json!("kms:Decrypt"))
                && s["Condition"]["StringEquals"]["kms:ViaService"]
                    == json!({"Fn::Sub": "sqs.${AWS::Region}.amazonaws.com"})
        }),
        "{role} may not use the key through SQS"
    );
    Ok(())
}
