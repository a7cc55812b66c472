//! The IAM gateway itself: it answers a denied call as AWS does (and stores nothing), turns a missing key into 403
//! for a caller without `s3:ListBucket`, applies resource policies and KMS conditions, maps requests to the
//! actions AWS authorizes, and the check over its records fails on what it should.

use std::collections::BTreeMap;

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::json;
use wavault_tests::aws::{dynamodb_client, s3_client, secrets_client, sqs_client};
use wavault_tests::iam::gateway::{evaluate_check, CallRecord, CheckRecord};
use wavault_tests::iam::policies::StackPolicies;
use wavault_tests::iam::report;
use wavault_tests::iam::requests::{classify, HttpRequest, StackResources, NO_RESOURCE_LEVEL};
use wavault_tests::iam::{bind_for_report, Principal, LOCAL_KMS_KEY_ARN};
use wavault_tests::local_stack::LocalStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::template::Template;
use wavault_tests::webhook_stack::{meta_secret_json, CONTACT_HASH_KEY};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn stack(suffix: &str) -> Result<LocalStack, Box<dyn std::error::Error + Send + Sync>> {
    let moto = MotoServer::shared()?;
    let sdk = wavault_tests::aws::sdk_config(&moto.endpoint());
    let stack = LocalStack::provision(&sdk, suffix, &meta_secret_json(), CONTACT_HASH_KEY).await?;
    // These tests provoke denials on purpose.
    stack.expect_denials()?;
    Ok(stack)
}

fn code<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("none").to_owned()
}

#[tokio::test]
async fn a_denied_s3_write_is_403_access_denied_and_stores_nothing() -> TestResult {
    let stack = stack("iam-s3deny").await?;
    let webhook = s3_client(&stack.sdk_config_as(Principal::Webhook)?);
    let admin = s3_client(&wavault_tests::aws::sdk_config(
        &MotoServer::shared()?.endpoint(),
    ));

    // The webhook may write journal/ only.
    let denied = webhook
        .put_object()
        .bucket(&stack.bucket)
        .key("media/not-mine")
        .body(ByteStream::from_static(b"x"))
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(LOCAL_KMS_KEY_ARN)
        .send()
        .await
        .err()
        .ok_or("a write outside journal/ was allowed")?;
    let service = denied.as_service_error().ok_or("not a service error")?;
    assert_eq!(code(service), "AccessDenied");
    assert_eq!(
        denied.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );
    assert!(
        service
            .message()
            .unwrap_or_default()
            .contains("s3:PutObject"),
        "{service:?}"
    );
    let listed = admin.list_objects_v2().bucket(&stack.bucket).send().await?;
    assert_eq!(listed.key_count(), Some(0), "nothing stored");

    // The same write under journal/ goes through.
    webhook
        .put_object()
        .bucket(&stack.bucket)
        .key("journal/allowed.json")
        .body(ByteStream::from_static(b"{}"))
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(LOCAL_KMS_KEY_ARN)
        .send()
        .await?;

    // The bucket policy refuses any encryption but SSE-KMS with the stack's key, whoever writes.
    let aes = webhook
        .put_object()
        .bucket(&stack.bucket)
        .key("journal/aes.json")
        .body(ByteStream::from_static(b"{}"))
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .send()
        .await
        .err()
        .ok_or("an SSE-S3 write was allowed")?;
    assert_eq!(
        code(aes.as_service_error().ok_or("not a service error")?),
        "AccessDenied"
    );
    let calls = stack.gateway()?.calls(&stack.suffix);
    let aes_call = calls
        .iter()
        .find(|c| c.answer == "denied" && c.checks.iter().any(|k| k.denied_by.is_some()))
        .ok_or("no resource-policy denial recorded")?;
    assert_eq!(
        aes_call.checks[0].denied_by.as_deref(),
        Some("ArchiveBucketPolicy")
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_key_is_403_without_list_bucket_and_404_with_it() -> TestResult {
    // The operator's policy as deployed (with s3:ListBucket), and the same policy without that statement.
    let moto = MotoServer::shared()?;
    let sdk = wavault_tests::aws::sdk_config(&moto.endpoint());
    let text = std::fs::read_to_string(Template::project_path())?;
    let statement = "          - Sid: ArchiveMissingKeysAre404\n            Effect: Allow\n            Action: s3:ListBucket\n            Resource: !GetAtt ArchiveBucket.Arn\n";
    assert!(
        text.contains(statement),
        "the operator's ListBucket statement moved"
    );
    let without = Template::parse(&text.replace(statement, ""), "template without ListBucket")?;
    let blind = LocalStack::provision_from(
        &without,
        &sdk,
        "iam-missing-403",
        &meta_secret_json(),
        CONTACT_HASH_KEY,
    )
    .await?;
    blind.expect_denials()?;
    let seeing = stack("iam-missing-404").await?;

    let operator = s3_client(&blind.sdk_config_as(Principal::Operator)?);
    let head = operator
        .head_object()
        .bucket(&blind.bucket)
        .key("media/none")
        .send()
        .await
        .err()
        .ok_or("HEAD of a missing key succeeded")?;
    assert_eq!(head.raw_response().map(|r| r.status().as_u16()), Some(403));
    let get = operator
        .get_object()
        .bucket(&blind.bucket)
        .key("media/none")
        .send()
        .await
        .err()
        .ok_or("GET of a missing key succeeded")?;
    assert_eq!(
        code(get.as_service_error().ok_or("not a service error")?),
        "AccessDenied"
    );
    let calls = blind.gateway()?.calls(&blind.suffix);
    assert!(calls.iter().any(|c| c.answer == "missing-key-403"
        && c.checks
            .iter()
            .any(|k| k.action == "s3:ListBucket" && !k.allowed)));

    // With s3:ListBucket (the deployed policy) the same GET is NoSuchKey.
    let operator = s3_client(&seeing.sdk_config_as(Principal::Operator)?);
    let get = operator
        .get_object()
        .bucket(&seeing.bucket)
        .key("media/none")
        .send()
        .await
        .err()
        .ok_or("GET of a missing key succeeded")?;
    assert_eq!(
        code(get.as_service_error().ok_or("not a service error")?),
        "NoSuchKey"
    );
    Ok(())
}

#[tokio::test]
async fn json_services_answer_access_denied_as_aws_does() -> TestResult {
    let stack = stack("iam-json").await?;
    let config = stack.sdk_config_as(Principal::Webhook)?;

    // DynamoDB: the webhook never deletes records.
    let delete = dynamodb_client(&config)
        .delete_item()
        .table_name(&stack.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("message".into()),
        )
        .send()
        .await
        .err()
        .ok_or("DeleteItem allowed")?;
    assert_eq!(
        code(delete.as_service_error().ok_or("not a service error")?),
        "AccessDeniedException"
    );

    // SQS: the webhook sends jobs but never receives them.
    let receive = sqs_client(&config)
        .receive_message()
        .queue_url(&stack.queue_url)
        .send()
        .await
        .err()
        .ok_or("ReceiveMessage allowed")?;
    assert_eq!(
        code(receive.as_service_error().ok_or("not a service error")?),
        "AccessDenied"
    );

    // Secrets Manager: only the rotator writes the Meta secret.
    let put = secrets_client(&config)
        .put_secret_value()
        .secret_id(&stack.meta_secret_id)
        .secret_string("{}")
        .send()
        .await
        .err()
        .ok_or("PutSecretValue allowed")?;
    assert_eq!(
        code(put.as_service_error().ok_or("not a service error")?),
        "AccessDeniedException"
    );

    // And what the role grants still works through the gateway.
    secrets_client(&config)
        .get_secret_value()
        .secret_id(&stack.meta_secret_id)
        .send()
        .await?;
    Ok(())
}

fn report_policies() -> Result<StackPolicies, Box<dyn std::error::Error + Send + Sync>> {
    Ok(StackPolicies::from_template(&bind_for_report(
        &Template::project()?,
    )?)?)
}

fn kms_check(
    action: &str,
    via: &str,
    context: &[(&str, &str)],
) -> wavault_tests::iam::requests::Check {
    let mut ctx: BTreeMap<String, serde_json::Value> = BTreeMap::from([
        ("aws:SecureTransport".to_owned(), json!(true)),
        (
            "kms:ViaService".to_owned(),
            json!(format!("{via}.us-east-1.amazonaws.com")),
        ),
    ]);
    for (k, v) in context {
        ctx.insert(format!("kms:EncryptionContext:{k}"), json!(v));
    }
    wavault_tests::iam::requests::Check {
        action: action.to_owned(),
        resource: LOCAL_KMS_KEY_ARN.to_owned(),
        context: ctx,
        why: "test".to_owned(),
    }
}

#[test]
fn kms_grants_hold_only_through_their_service_and_encryption_context() -> TestResult {
    let policies = report_policies()?;
    let meta = "arn:aws:secretsmanager:us-east-1:123456789012:secret:report-AbCdEf";
    let other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hash-AbCdEf";
    let allowed = |p, c| evaluate_check(&policies, p, &c).allowed;
    // The rotator may decrypt the Meta secret through Secrets Manager, and nothing else.
    assert!(allowed(
        Principal::TokenRotator,
        kms_check("kms:Decrypt", "secretsmanager", &[("SecretARN", meta)])
    ));
    assert!(!allowed(
        Principal::TokenRotator,
        kms_check("kms:Decrypt", "secretsmanager", &[("SecretARN", other)])
    ));
    assert!(!allowed(
        Principal::TokenRotator,
        kms_check("kms:Decrypt", "s3", &[("SecretARN", meta)])
    ));
    // The webhook's S3 key use is bound to the archive bucket's encryption context.
    assert!(allowed(
        Principal::Webhook,
        kms_check(
            "kms:GenerateDataKey",
            "s3",
            &[("aws:s3:arn", "arn:aws:s3:::nominal-report")]
        )
    ));
    assert!(!allowed(
        Principal::Webhook,
        kms_check(
            "kms:GenerateDataKey",
            "s3",
            &[("aws:s3:arn", "arn:aws:s3:::elsewhere")]
        )
    ));
    // A grant that can never match: ListStreams supports no resource-level permission.
    let list = wavault_tests::iam::requests::Check {
        action: "dynamodb:ListStreams".into(),
        resource: NO_RESOURCE_LEVEL.into(),
        context: BTreeMap::new(),
        why: "test".into(),
    };
    let outcome = evaluate_check(&policies, Principal::TtlExpirer, &list);
    assert!(outcome.allowed, "{outcome:?}");
    assert_eq!(
        outcome.grants,
        vec!["TtlRemovalsStreamList dynamodb:ListStreams *"]
    );
    Ok(())
}

fn classify_s3(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Vec<(String, String)> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut resources = StackResources::default();
    resources.buckets.insert(
        "b".into(),
        wavault_tests::iam::requests::BucketEncryption {
            kms_key: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
            bucket_key: true,
        },
    );
    let request = HttpRequest {
        method,
        path,
        query,
        header: &lookup,
        body: b"",
    };
    classify("s3", &request, &resources, &|_| None)
        .map(|c| {
            c.checks
                .into_iter()
                .map(|k| (k.action, k.resource))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn s3_requests_map_to_the_actions_aws_authorizes() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/k".to_owned();
    let obj = "arn:aws:s3:::b/media/x".to_owned();
    let pair = |a: &str, r: &str| (a.to_owned(), r.to_owned());
    assert_eq!(
        classify_s3("HEAD", "/b/media/x", "", &[]),
        vec![pair("s3:GetObject", &obj)],
        "HEAD is s3:GetObject and needs no KMS"
    );
    assert_eq!(
        classify_s3("GET", "/b/media/x", "x-id=GetObject", &[]),
        vec![pair("s3:GetObject", &obj), pair("kms:Decrypt", &key)]
    );
    assert_eq!(
        classify_s3("PUT", "/b/media/x", "x-id=PutObject", &[]),
        vec![
            pair("s3:PutObject", &obj),
            pair("kms:GenerateDataKey", &key)
        ]
    );
    assert_eq!(
        classify_s3("POST", "/b/media/x", "uploads", &[]),
        vec![
            pair("s3:PutObject", &obj),
            pair("kms:GenerateDataKey", &key)
        ]
    );
    assert_eq!(
        classify_s3("PUT", "/b/media/x", "partNumber=1&uploadId=u", &[]),
        vec![pair("s3:PutObject", &obj), pair("kms:Decrypt", &key)]
    );
    assert_eq!(
        classify_s3("POST", "/b/media/x", "uploadId=u", &[]),
        vec![pair("s3:PutObject", &obj), pair("kms:Decrypt", &key)]
    );
    assert_eq!(
        classify_s3("DELETE", "/b/media/x", "uploadId=u", &[]),
        vec![pair("s3:AbortMultipartUpload", &obj)]
    );
    assert_eq!(
        classify_s3("DELETE", "/b/media/x", "versionId=v", &[]),
        vec![pair("s3:DeleteObjectVersion", &obj)]
    );
    assert_eq!(
        classify_s3(
            "PUT",
            "/b/media/x",
            "",
            &[("x-amz-copy-source", "b/media/y")]
        ),
        vec![
            pair("s3:GetObject", "arn:aws:s3:::b/media/y"),
            pair("s3:PutObject", &obj),
            pair("kms:Decrypt", &key),
            pair("kms:GenerateDataKey", &key)
        ]
    );
    assert_eq!(
        classify_s3("GET", "/b", "versions&prefix=media%2Fx", &[]),
        vec![pair("s3:ListBucketVersions", "arn:aws:s3:::b")]
    );
}

#[test]
fn dynamodb_requests_name_the_index_and_the_leading_key() -> TestResult {
    let mut resources = StackResources::default();
    resources.tables.insert("t".into(), "pk".into());
    let classify_ddb = |operation: &str, body: serde_json::Value| {
        let body = body.to_string();
        let target = format!("DynamoDB_20120810.{operation}");
        let lookup = |name: &str| (name == "x-amz-target").then(|| target.clone());
        let request = HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            header: &lookup,
            body: body.as_bytes(),
        };
        classify("dynamodb", &request, &resources, &|_| None)
    };
    let query = classify_ddb(
        "Query",
        json!({"TableName": "t", "IndexName": "media-pending"}),
    )?;
    assert_eq!(
        query.checks[0].resource,
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/media-pending"
    );
    let get = classify_ddb(
        "GetItem",
        json!({"TableName": "t", "Key": {"pk": {"S": "sweep.retention"}, "sk": {"S": "x"}}}),
    )?;
    assert_eq!(
        get.checks[0].context.get("dynamodb:LeadingKeys"),
        Some(&json!(["sweep.retention"]))
    );
    assert!(
        classify_ddb("CreateTable", json!({"TableName": "t"})).is_err(),
        "unknown calls are refused"
    );
    Ok(())
}

fn classify_ddb(
    resources: &StackResources,
    operation: &str,
    body: serde_json::Value,
) -> Result<wavault_tests::iam::requests::Classified, wavault_tests::iam::requests::Unclassified> {
    let body = body.to_string();
    let target = format!("DynamoDB_20120810.{operation}");
    let lookup = |name: &str| (name == "x-amz-target").then(|| target.clone());
    let request = HttpRequest {
        method: "POST",
        path: "/",
        query: "",
        header: &lookup,
        body: body.as_bytes(),
    };
    classify("dynamodb", &request, resources, &|_| None)
}

/// A BatchGetItem of `keys` (partition key values, sort key `contact`) as the webhook sends it, with `projection`
/// (placeholders for pk, sk, erased_at) or none.
fn batch_get(table: &str, keys: &[&str], projection: Option<&str>) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|pk| json!({"pk": {"S": pk}, "sk": {"S": "contact"}}))
        .collect();
    let mut read = json!({"Keys": keys, "ConsistentRead": true});
    if let Some(projection) = projection {
        read["ProjectionExpression"] = json!(projection);
        read["ExpressionAttributeNames"] =
            json!({"#pk": "pk", "#sk": "sk", "#erased_at": "erased_at", "#b": "body"});
    }
    json!({"RequestItems": {table: read}})
}

#[test]
fn dynamodb_batch_get_is_one_check_per_key_with_its_leading_key_and_projection() -> TestResult {
    let mut resources = StackResources::default();
    resources.tables.insert("t".into(), "pk".into());
    resources
        .table_keys
        .insert("t".into(), LOCAL_KMS_KEY_ARN.to_owned());
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/t";
    let got = classify_ddb(
        &resources,
        "BatchGetItem",
        batch_get("t", &["erased.a", "erased.b"], Some("#pk, #sk,#erased_at")),
    )?;
    assert_eq!(got.operation, "BatchGetItem");
    let items: Vec<_> = got
        .checks
        .iter()
        .filter(|c| c.action == "dynamodb:BatchGetItem")
        .collect();
    assert_eq!(items.len(), 2, "one check per key: {:?}", got.checks);
    for (check, pk) in items.iter().zip(["erased.a", "erased.b"]) {
        assert_eq!(check.resource, table);
        assert_eq!(
            check.context.get("dynamodb:LeadingKeys"),
            Some(&json!([pk]))
        );
        assert_eq!(
            check.context.get("dynamodb:Select"),
            Some(&json!("SPECIFIC_ATTRIBUTES"))
        );
        assert_eq!(
            check.context.get("dynamodb:Attributes"),
            Some(&json!(["erased_at", "pk", "sk"]))
        );
    }
    // The table's key, once per table, as for GetItem.
    let kms: Vec<_> = got
        .checks
        .iter()
        .filter(|c| c.action == "kms:Decrypt")
        .collect();
    assert_eq!(kms.len(), 1, "{:?}", got.checks);
    assert_eq!(kms[0].resource, LOCAL_KMS_KEY_ARN);
    assert_eq!(kms[0].why, "KMS for DynamoDB BatchGetItem");
    assert_eq!(
        kms[0]
            .context
            .get("kms:EncryptionContext:aws:dynamodb:tableName"),
        Some(&json!("t"))
    );

    // A table named by its ARN is the same table; a read without projection asks for every attribute.
    let all = classify_ddb(
        &resources,
        "BatchGetItem",
        batch_get(table, &["erased.a"], None),
    )?;
    assert_eq!(all.checks[0].resource, table);
    assert_eq!(
        all.checks[0].context.get("dynamodb:LeadingKeys"),
        Some(&json!(["erased.a"]))
    );
    assert_eq!(
        all.checks[0].context.get("dynamodb:Select"),
        Some(&json!("ALL_ATTRIBUTES"))
    );
    assert_eq!(all.checks[0].context.get("dynamodb:Attributes"), None);
    assert_eq!(all.checks.len(), 2, "{:?}", all.checks);

    // Document paths count by their top-level attribute; the legacy AttributesToGet is a projection too.
    let get = classify_ddb(
        &resources,
        "GetItem",
        json!({"TableName": "t", "Key": {"pk": {"S": "x"}, "sk": {"S": "y"}},
               "ProjectionExpression": "#m.status, kind[0]", "ExpressionAttributeNames": {"#m": "media"}}),
    )?;
    assert_eq!(
        get.checks[0].context.get("dynamodb:Attributes"),
        Some(&json!(["kind", "media"]))
    );
    let legacy = classify_ddb(
        &resources,
        "BatchGetItem",
        json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "x"}, "sk": {"S": "y"}}], "AttributesToGet": ["pk"]}}}),
    )?;
    assert_eq!(
        legacy.checks[0].context.get("dynamodb:Select"),
        Some(&json!("SPECIFIC_ATTRIBUTES"))
    );

    assert!(
        classify_ddb(
            &resources,
            "BatchGetItem",
            batch_get("t", &["erased.a"], Some("#nope"))
        )
        .is_err(),
        "a placeholder without a name is refused"
    );
    assert!(
        classify_ddb(&resources, "BatchGetItem", json!({"RequestItems": {}})).is_err(),
        "a batch naming no key is refused"
    );
    Ok(())
}

#[test]
fn only_the_recorders_read_erasure_markers_and_only_their_key_and_erased_at() -> TestResult {
    let policies = report_policies()?;
    let mut resources = StackResources::default();
    resources
        .tables
        .insert("nominal-report".into(), "pk".into());
    resources
        .table_keys
        .insert("nominal-report".into(), LOCAL_KMS_KEY_ARN.to_owned());
    let outcome = |principal: Principal, keys: &[&str], projection: Option<&str>| {
        classify_ddb(
            &resources,
            "BatchGetItem",
            batch_get("nominal-report", keys, projection),
        )
        .map(|classified| {
            classified
                .checks
                .iter()
                .map(|c| evaluate_check(&policies, principal, c))
                .collect::<Vec<_>>()
        })
    };
    let markers = Some("#pk, #sk, #erased_at");
    let read = outcome(Principal::Webhook, &["erased.a", "erased.b"], markers)?;
    assert!(read.iter().all(|c| c.allowed), "{read:?}");
    assert_eq!(
        read[0].grants,
        vec!["ErasureMarkersRead dynamodb:BatchGetItem !GetAtt RecordsTable.Arn"]
    );
    // A projection of fewer attributes is fine.
    let fewer = outcome(Principal::Webhook, &["erased.a"], Some("#erased_at"))?;
    assert!(fewer.iter().all(|c| c.allowed), "{fewer:?}");

    let denied = |checks: &[CheckRecord]| {
        checks
            .iter()
            .filter(|c| !c.allowed)
            .map(|c| c.action.clone())
            .collect::<Vec<_>>()
    };
    // Any other item (a message record, the sweep checkpoint), even beside a marker.
    let mixed = outcome(
        Principal::Webhook,
        &["erased.a", "msg.0123", "sweep.retention"],
        markers,
    )?;
    assert_eq!(
        denied(&mixed),
        vec!["dynamodb:BatchGetItem", "dynamodb:BatchGetItem"],
        "{mixed:?}"
    );
    // Every attribute (no projection), or one beyond the key and erased_at.
    let everything = outcome(Principal::Webhook, &["erased.a"], None)?;
    assert_eq!(denied(&everything), vec!["dynamodb:BatchGetItem"]);
    let more = outcome(
        Principal::Webhook,
        &["erased.a"],
        Some("#pk, #sk, #erased_at, #b"),
    )?;
    assert_eq!(denied(&more), vec!["dynamodb:BatchGetItem"]);
    // The operator tool reads them as the webhook does (`wavault replay` records bodies the same way).
    let operator = outcome(Principal::Operator, &["erased.a"], markers)?;
    assert!(denied(&operator).is_empty(), "{operator:?}");
    let operator_more = outcome(Principal::Operator, &["erased.a", "msg.0123"], markers)?;
    assert_eq!(denied(&operator_more), vec!["dynamodb:BatchGetItem"]);
    // The media fetcher's replay action records as the webhook does, under the same conditions.
    let fetcher = outcome(Principal::MediaFetcher, &["erased.a"], markers)?;
    assert!(denied(&fetcher).is_empty(), "{fetcher:?}");
    let fetcher_more = outcome(Principal::MediaFetcher, &["erased.a", "msg.0123"], markers)?;
    assert_eq!(denied(&fetcher_more), vec!["dynamodb:BatchGetItem"]);
    let principal = Principal::TtlExpirer;
    {
        let other = outcome(principal, &["erased.a"], markers)?;
        assert_eq!(
            denied(&other),
            vec!["dynamodb:BatchGetItem"],
            "{principal}: {other:?}"
        );
    }
    Ok(())
}

#[test]
fn a_projection_condition_on_an_action_the_gateway_does_not_model_is_refused() -> TestResult {
    let template = |action: &str| {
        Template::parse(
            &format!(
                r#"
Resources:
  ContactDataOperatorPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: Projected
            Effect: Allow
            Action: {action}
            Resource: "*"
            Condition:
              ForAllValues:StringEquals:
                dynamodb:attributes: [pk, sk]
"#
            ),
            "test template",
        )
    };
    assert!(StackPolicies::from_template(&template("dynamodb:BatchGetItem")?).is_ok());
    let refused = StackPolicies::from_template(&template("dynamodb:PutItem")?)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("Projected") && refused.contains("dynamodb:attributes"),
        "{refused}"
    );
    Ok(())
}

fn record(principal: Principal, checks: Vec<CheckRecord>, answer: &str) -> CallRecord {
    CallRecord {
        principal,
        policy_source: "X".into(),
        stack: "s".into(),
        service: "s3".into(),
        operation: "PutObject".into(),
        checks,
        answer: answer.into(),
        expected_denial: false,
        unclassified: None,
    }
}

#[test]
fn the_check_fails_on_a_denial_and_on_a_grant_nothing_used() -> TestResult {
    let policies = report_policies()?;
    let denied = CheckRecord {
        action: "s3:PutObject".into(),
        resource: "arn:aws:s3:::s/media/x".into(),
        why: "S3 PutObject".into(),
        allowed: false,
        grants: vec![],
        denied_by: None,
        fix: Some("statement JournalWrite ...".into()),
    };
    let findings = report::check(
        &[record(Principal::Webhook, vec![denied], "denied")],
        &policies,
    );
    assert!(!findings.passed());
    assert_eq!(findings.denied.len(), 1);
    let line = findings.denied.iter().next().cloned().unwrap_or_default();
    assert!(
        line.contains("webhook") && line.contains("s3:PutObject") && line.contains("JournalWrite"),
        "{line}"
    );
    // Nothing exercised: every grant without a kept reason is reported.
    assert!(findings
        .unexercised
        .iter()
        .any(|g| g.contains("RecordsPutAndRead dynamodb:PutItem")));
    // A grant kept with a reason in the template is not.
    assert!(!findings.unexercised.iter().any(|g| g.contains("OwnLogs")));
    Ok(())
}
