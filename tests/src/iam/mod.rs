//! IAM as AWS enforces it, for the local stack: every AWS request a wavault process makes is evaluated against
//! the policy the template gives that process (iam-rs), recorded, and answered as AWS would answer it.
//!
//! - [`principal`]: who is calling (credentials the local stack hands each process).
//! - [`policies`]: the template's identity and resource policies, resolved to the provisioned ARNs.
//! - [`requests`]: an SDK request -> the IAM actions, resources and context AWS authorizes (with sources).
//! - [`gateway`]: the proxy in front of moto that enforces and records.
//! - [`report`]: the check `make test` runs over every record: denied calls, grants never exercised, the
//!   permission table in `docs/iam.md`.

pub mod gateway;
pub mod policies;
pub mod principal;
pub mod report;
pub mod requests;

use std::collections::BTreeMap;

use crate::iam::policies::{ACCOUNT, REGION};
use crate::iam::requests::{BucketEncryption, StackResources};
use crate::local_stack::{logical_ids, LocalStack};
use crate::template::{scalar_string, ResourceRefs, Template};
use crate::Result;

pub use gateway::Gateway;
pub use principal::Principal;

/// The KMS key the local stack stands for (moto's S3, SQS and Secrets Manager store the key id without using
/// it); the template's `ArchiveKey.Arn` resolves to it, and the functions get it as `KMS_KEY_ID`.
pub const LOCAL_KMS_KEY_ARN: &str =
    "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// Binds `template`'s resources to what `stack` provisioned, so every `Ref` / `Fn::GetAtt` in a policy resolves
/// to the local ARN; resources the local stack does not create get placeholder names no call will use.
pub fn bind(template: &Template, stack: &LocalStack, suffix: &str) -> Result<Template> {
    let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", stack.table);
    let mut bound = template.clone();
    let mut known: BTreeMap<&str, ResourceRefs> = BTreeMap::new();
    known.insert(
        logical_ids::RECORDS_TABLE,
        refs(
            &stack.table,
            &[
                ("Arn", table_arn.clone()),
                (
                    "StreamArn",
                    stack
                        .table_stream_arn
                        .clone()
                        .unwrap_or_else(|| format!("{table_arn}/stream/none")),
                ),
            ],
        ),
    );
    known.insert(
        logical_ids::ARCHIVE_BUCKET,
        refs(
            &stack.bucket,
            &[("Arn", format!("arn:aws:s3:::{}", stack.bucket))],
        ),
    );
    known.insert(
        logical_ids::MEDIA_QUEUE,
        refs(&stack.queue_url, &[("Arn", stack.queue_arn.clone())]),
    );
    known.insert(
        logical_ids::MEDIA_DLQ,
        refs(&stack.dlq_url, &[("Arn", stack.dlq_arn.clone())]),
    );
    known.insert(logical_ids::META_SECRET, refs(&stack.meta_secret_id, &[]));
    known.insert(
        logical_ids::CONTACT_HASH_KEY_SECRET,
        refs(&stack.contact_hash_secret_id, &[]),
    );
    known.insert(
        "ArchiveKey",
        refs(LOCAL_KMS_KEY_ARN, &[("Arn", LOCAL_KMS_KEY_ARN.to_owned())]),
    );
    let all: Vec<(String, String)> = template
        .root()
        .get("Resources")
        .and_then(serde_json::Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(id, r)| {
                    (
                        id.clone(),
                        r.get("Type")
                            .and_then(serde_json::Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for (logical_id, kind) in &all {
        let refs = match known.remove(logical_id.as_str()) {
            Some(r) => r,
            None => placeholder(template, logical_id, kind, suffix)?,
        };
        bound = bound.with_resource(logical_id, refs);
    }
    Ok(bound)
}

fn refs(reference: &str, attributes: &[(&str, String)]) -> ResourceRefs {
    ResourceRefs {
        reference: reference.to_owned(),
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

/// ARNs for resources the local stack does not create (log groups, topics, alarms, extra queues).
fn placeholder(
    template: &Template,
    logical_id: &str,
    kind: &str,
    suffix: &str,
) -> Result<ResourceRefs> {
    let name = format!("{}-{suffix}", logical_id.to_lowercase());
    Ok(match kind {
        "AWS::Logs::LogGroup" => {
            let group = template
                .resource(logical_id, kind)?
                .opt_str(&["LogGroupName"])?
                .unwrap_or(name);
            refs(
                &group,
                &[(
                    "Arn",
                    format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"),
                )],
            )
        }
        "AWS::SQS::Queue" => refs(
            &format!("http://127.0.0.1:0/{ACCOUNT}/{name}"),
            &[("Arn", format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))],
        ),
        "AWS::SNS::Topic" => {
            let arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}");
            refs(&arn, &[("TopicName", name.clone())])
        }
        "AWS::IAM::Role" => refs(
            &name,
            &[("Arn", format!("arn:aws:iam::{ACCOUNT}:role/{name}"))],
        ),
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => refs(
            &name,
            &[(
                "Arn",
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
            )],
        ),
        _ => refs(
            &name,
            &[("Arn", format!("arn:aws:local:{REGION}:{ACCOUNT}:{name}"))],
        ),
    })
}

/// What the request mapping needs to know of `stack`: encryption of the bucket, queues and secrets (from the
/// bound template) and the table's partition key.
pub fn stack_resources(bound: &Template, stack: &LocalStack) -> Result<StackResources> {
    let mut resources = StackResources::default();
    let bucket = bound.resource(logical_ids::ARCHIVE_BUCKET, "AWS::S3::Bucket")?;
    let rule = bucket
        .get(&["BucketEncryption", "ServerSideEncryptionConfiguration"])
        .and_then(|v| v.as_array())
        .and_then(|rules| rules.first())
        .cloned();
    let kms_key = rule
        .as_ref()
        .and_then(|r| r.pointer("/ServerSideEncryptionByDefault/KMSMasterKeyID"))
        .and_then(scalar_string);
    let bucket_key = rule
        .as_ref()
        .and_then(|r| r.get("BucketKeyEnabled"))
        .is_some_and(|v| v.as_bool() == Some(true) || scalar_string(v).as_deref() == Some("true"));
    resources.buckets.insert(
        stack.bucket.clone(),
        BucketEncryption {
            kms_key,
            bucket_key,
        },
    );
    for (logical, url, arn) in [
        (logical_ids::MEDIA_QUEUE, &stack.queue_url, &stack.queue_arn),
        (logical_ids::MEDIA_DLQ, &stack.dlq_url, &stack.dlq_arn),
    ] {
        let queue = bound.resource(logical, "AWS::SQS::Queue")?;
        let key = queue.opt_str(&["KmsMasterKeyId"])?;
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        resources.queues.insert(name, (arn.clone(), key));
    }
    for (logical, arn) in [
        (logical_ids::META_SECRET, &stack.meta_secret_id),
        (
            logical_ids::CONTACT_HASH_KEY_SECRET,
            &stack.contact_hash_secret_id,
        ),
    ] {
        let secret = bound.resource(logical, "AWS::SecretsManager::Secret")?;
        let key = secret.opt_str(&["KmsKeyId"])?;
        resources
            .secrets
            .insert(arn.clone(), (arn.clone(), key.clone()));
        // A secret may be named by its name too (the part of the ARN before the random suffix).
        if let Some(name) = arn.rsplit(":secret:").next() {
            let name = name.rsplit_once('-').map_or(name, |(n, _)| n);
            resources
                .secrets
                .insert(name.to_owned(), (arn.clone(), key));
        }
    }
    let table = bound.resource(logical_ids::RECORDS_TABLE, "AWS::DynamoDB::Table")?;
    let hash_key = table
        .get(&["KeySchema"])
        .and_then(|v| v.as_array())
        .and_then(|keys| {
            keys.iter()
                .find(|k| k.get("KeyType").and_then(|t| t.as_str()) == Some("HASH"))
        })
        .and_then(|k| k.get("AttributeName"))
        .and_then(scalar_string)
        .unwrap_or_default();
    resources.tables.insert(stack.table.clone(), hash_key);
    if let Some(key) = table.opt_str(&["SSESpecification", "KMSMasterKeyId"])? {
        resources.table_keys.insert(stack.table.clone(), key);
    }
    Ok(resources)
}

/// A stack of placeholder names (nothing provisioned) whose Meta secret is `meta_secret_arn`.
fn nominal_stack(suffix: &str, meta_secret_arn: &str) -> LocalStack {
    LocalStack {
        table: format!("nominal-{suffix}"),
        table_stream_arn: Some(format!(
            "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/nominal-{suffix}/stream/nominal"
        )),
        bucket: format!("nominal-{suffix}"),
        queue_url: format!("http://127.0.0.1:0/{ACCOUNT}/nominal-{suffix}"),
        queue_arn: format!("arn:aws:sqs:{REGION}:{ACCOUNT}:nominal-{suffix}"),
        dlq_url: format!("http://127.0.0.1:0/{ACCOUNT}/nominal-dlq-{suffix}"),
        dlq_arn: format!("arn:aws:sqs:{REGION}:{ACCOUNT}:nominal-dlq-{suffix}"),
        meta_secret_id: meta_secret_arn.to_owned(),
        contact_hash_secret_id: format!(
            "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:nominal-hash-{suffix}-AbCdEf"
        ),
        contact_hasher: wavault_core::contact::ContactHasher::new("nominal-contact-hash-key"),
        retention_days: 30,
        graph_api_version: String::new(),
        suffix: suffix.to_owned(),
        upstream: String::new(),
        iam: std::sync::Arc::default(),
    }
}

/// The project's template bound to a nominal stack, for reading grant ids (which do not depend on names).
pub fn bind_for_report(template: &Template) -> Result<Template> {
    let stack = nominal_stack(
        "report",
        &format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:report-AbCdEf"),
    );
    bind(template, &stack, "report")
}

/// Registers, with the gateway in front of `upstream`, a stack that has only a Meta secret (the rotation
/// tests): the project's policies with that secret's ARN, so the rotator is checked like any function. A stack
/// already registered under `suffix` is kept.
pub fn register_secret_only(
    upstream: &str,
    suffix: &str,
    meta_secret_arn: &str,
) -> Result<std::sync::Arc<Gateway>> {
    let gateway = Gateway::for_upstream(upstream)?;
    if gateway.knows(suffix) {
        return Ok(gateway);
    }
    let template = Template::project()?;
    let stack = nominal_stack(suffix, meta_secret_arn);
    let bound = bind(&template, &stack, suffix)?;
    let mut resources = stack_resources(&bound, &stack)?;
    resources.buckets.clear();
    resources.queues.clear();
    resources.tables.clear();
    resources.table_keys.clear();
    gateway.register(
        suffix,
        crate::iam::policies::StackPolicies::from_template(&bound)?,
        resources,
        false,
    )?;
    Ok(gateway)
}
