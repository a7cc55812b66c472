//! The wavault resources, provisioned in moto from `infra/template.yaml`.
//!
//! Key schema, attribute definitions, indexes, TTL, stream, lifecycle rules, versioning and the redrive
//! `maxReceiveCount` are read from the template, never restated here, so a test run against the local stack
//! exercises the schema that deploys. Names come from the caller's suffix instead of the template, so many
//! tests can share one moto.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_s3::types as s3;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::aws::{
    dynamodb_client, s3_client, secrets_client, sqs_client, REGION, SECRET_ACCESS_KEY,
};
use crate::iam::policies::StackPolicies;
use crate::iam::requests::StackResources;
use crate::iam::{Gateway, Principal, LOCAL_KMS_KEY_ARN};
use crate::template::{as_i64, scalar_string, Resource, Template};
use crate::{Error, Result};
use std::sync::Arc;
use wavault_core::contact::{ContactHasher, RecordIdKind};

/// Logical ids in `infra/template.yaml` the local stack provisions.
pub mod logical_ids {
    /// AWS::DynamoDB::Table holding the records.
    pub const RECORDS_TABLE: &str = "RecordsTable";
    /// AWS::S3::Bucket holding the journal and media.
    pub const ARCHIVE_BUCKET: &str = "ArchiveBucket";
    /// AWS::SQS::Queue of media jobs.
    pub const MEDIA_QUEUE: &str = "MediaQueue";
    /// AWS::SQS::Queue receiving media jobs that failed `maxReceiveCount` times.
    pub const MEDIA_DLQ: &str = "MediaDeadLetterQueue";
    /// AWS::SecretsManager::Secret with the Meta app secret, verify token and access token.
    pub const META_SECRET: &str = "MetaSecret";
    /// AWS::SecretsManager::Secret with the key for contact-id hashing.
    pub const CONTACT_HASH_KEY_SECRET: &str = "ContactHashKeySecret";
}

/// Graph API version used when the template has no `GraphApiVersion` parameter default.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v23.0";
/// Retention used when the template has no `RetentionDays` parameter default.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

/// Names, URLs and ARNs of one provisioned set of resources.
#[derive(Debug, Clone)]
pub struct LocalStack {
    /// DynamoDB table name.
    pub table: String,
    /// The table's stream ARN, when the template enables a stream.
    pub table_stream_arn: Option<String>,
    /// S3 bucket name.
    pub bucket: String,
    /// Media job queue URL.
    pub queue_url: String,
    /// Media job queue ARN.
    pub queue_arn: String,
    /// Dead-letter queue URL.
    pub dlq_url: String,
    /// Dead-letter queue ARN.
    pub dlq_arn: String,
    /// Meta secret ARN (what `!Ref` of a secret gives the functions).
    pub meta_secret_id: String,
    /// Contact-hash key secret ARN.
    pub contact_hash_secret_id: String,
    /// The key that secret holds, as the functions read it: tests compute record keys with it.
    pub contact_hasher: ContactHasher,
    /// The retention the template configures (its `RetentionDays` parameter), for the functions' env.
    pub retention_days: i64,
    /// The Graph API version the template configures (its `GraphApiVersion` parameter).
    pub graph_api_version: String,
    /// The name suffix (the stack's name for the IAM gateway).
    pub suffix: String,
    /// The emulator (or proxy) the resources were provisioned in.
    pub upstream: String,
    /// The template's policies bound to these resources, for the IAM gateway.
    pub iam: Arc<IamBinding>,
}

/// The template's policies and the facts about the resources the IAM gateway maps requests with.
#[derive(Debug, Default)]
pub struct IamBinding {
    pub policies: StackPolicies,
    pub resources: StackResources,
}

impl LocalStack {
    /// The partition key the webhook stores the message `wamid` (and its statuses) under: the one
    /// way tests find a record by its wamid.
    pub fn message_key(&self, wamid: &str) -> String {
        self.contact_hasher.record_key(RecordIdKind::Message, wamid)
    }

    /// The partition key of a value-level error's synthetic id (`error.<digest>.<e>.<c>.<i>`).
    pub fn error_key(&self, id: &str) -> String {
        self.contact_hasher.record_key(RecordIdKind::Error, id)
    }

    /// Provisions from the project's template (`infra/template.yaml`, or `$WAVAULT_TEMPLATE`).
    ///
    /// `name_suffix` (1-30 of `[a-z0-9-]`) makes every name unique so tests can share one moto.
    pub async fn provision(
        sdk: &SdkConfig,
        name_suffix: &str,
        meta_secret_json: &str,
        contact_hash_key: &str,
    ) -> Result<LocalStack> {
        let template = Template::project()?;
        LocalStack::provision_from(
            &template,
            sdk,
            name_suffix,
            meta_secret_json,
            contact_hash_key,
        )
        .await
    }

    /// Provisions from a given template (a fixture, or the project's with parameter overrides).
    pub async fn provision_from(
        template: &Template,
        sdk: &SdkConfig,
        name_suffix: &str,
        meta_secret_json: &str,
        contact_hash_key: &str,
    ) -> Result<LocalStack> {
        validate_suffix(name_suffix)?;
        let table_res = template.resource(logical_ids::RECORDS_TABLE, "AWS::DynamoDB::Table")?;
        let bucket_res = template.resource(logical_ids::ARCHIVE_BUCKET, "AWS::S3::Bucket")?;
        let queue_res = template.resource(logical_ids::MEDIA_QUEUE, "AWS::SQS::Queue")?;
        let dlq_res = template.resource(logical_ids::MEDIA_DLQ, "AWS::SQS::Queue")?;
        template.resource(logical_ids::META_SECRET, "AWS::SecretsManager::Secret")?;
        template.resource(
            logical_ids::CONTACT_HASH_KEY_SECRET,
            "AWS::SecretsManager::Secret",
        )?;
        let retention_days = match template.parameter("RetentionDays") {
            Some(v) => as_i64(&template.resolve(v)).ok_or_else(|| Error::Template {
                origin: template.origin().to_string(),
                message: format!("parameter RetentionDays is not an integer: {v}"),
            })?,
            None => DEFAULT_RETENTION_DAYS,
        };
        let graph_api_version = match template.parameter("GraphApiVersion") {
            Some(v) => scalar_string(&template.resolve(v)).ok_or_else(|| Error::Template {
                origin: template.origin().to_string(),
                message: format!("parameter GraphApiVersion is not a string: {v}"),
            })?,
            None => DEFAULT_GRAPH_API_VERSION.to_string(),
        };

        let (table, table_stream_arn) =
            create_table(sdk, &table_res, &format!("wavault-records-{name_suffix}")).await?;
        let bucket =
            create_bucket(sdk, &bucket_res, &format!("wavault-archive-{name_suffix}")).await?;
        let (dlq_url, dlq_arn) = create_queue(
            sdk,
            &dlq_res,
            &format!("wavault-media-dlq-{name_suffix}"),
            None,
        )
        .await?;
        let (queue_url, queue_arn) = create_queue(
            sdk,
            &queue_res,
            &format!("wavault-media-{name_suffix}"),
            Some(&dlq_arn),
        )
        .await?;
        let meta_secret_id = create_secret(
            sdk,
            &format!("wavault-meta-{name_suffix}"),
            meta_secret_json,
        )
        .await?;
        let contact_hash_secret_id = create_secret(
            sdk,
            &format!("wavault-contact-hash-key-{name_suffix}"),
            contact_hash_key,
        )
        .await?;
        let upstream = sdk
            .endpoint_url()
            .ok_or_else(|| Error::Emulator("the SDK config has no endpoint (moto's)".into()))?
            .trim_end_matches('/')
            .to_owned();
        let mut stack = LocalStack {
            table,
            table_stream_arn,
            bucket,
            queue_url,
            queue_arn,
            dlq_url,
            dlq_arn,
            meta_secret_id,
            contact_hash_secret_id,
            // Read as `secrets::parse_contact_hash_key` reads it (trimmed).
            contact_hasher: ContactHasher::new(contact_hash_key.trim()),
            retention_days,
            graph_api_version,
            suffix: name_suffix.to_owned(),
            upstream,
            // Bound below: binding the template needs the names above.
            iam: Arc::default(),
        };
        let bound = crate::iam::bind(template, &stack, name_suffix)?;
        stack.iam = Arc::new(IamBinding {
            policies: StackPolicies::from_template(&bound)?,
            resources: crate::iam::stack_resources(&bound, &stack)?,
        });
        stack.register_with(&stack.upstream.clone(), false)?;
        Ok(stack)
    }

    /// The IAM gateway in front of `upstream` with this stack registered; `expect_denials` marks a test that
    /// provokes denials on purpose (the IAM check does not count them).
    pub fn register_with(&self, upstream: &str, expect_denials: bool) -> Result<Arc<Gateway>> {
        let gateway = Gateway::for_upstream(upstream)?;
        gateway.register(
            &self.suffix,
            self.iam.policies.clone(),
            self.iam.resources.clone(),
            expect_denials,
        )?;
        Ok(gateway)
    }

    /// Marks this stack as provoking AWS denials on purpose (a test pointing a function at a resource its role
    /// does not cover): the IAM check does not count its denied calls.
    pub fn expect_denials(&self) -> Result<()> {
        self.register_with(&self.upstream, true).map(|_| ())
    }

    /// The IAM gateway in front of the emulator these resources live in.
    pub fn gateway(&self) -> Result<Arc<Gateway>> {
        Gateway::for_upstream(&self.upstream)
    }

    /// SDK configuration that calls AWS as `principal` of this stack, through the IAM gateway (what Lambda's
    /// event source mappings do with a function's role, for tests that emulate them).
    pub fn sdk_config_as(&self, principal: Principal) -> Result<SdkConfig> {
        let gateway = self.gateway()?;
        Ok(crate::aws::sdk_config_with_key(
            &gateway.endpoint(),
            &principal.access_key_id(&self.suffix),
        ))
    }

    /// The AWS endpoint every process of this stack is given: the IAM gateway in front of `upstream` (which
    /// tells the processes apart by their access keys). A proxy that models an AWS misbehaviour (slow, faulty)
    /// forwards here, so IAM is still checked behind it.
    pub fn aws_endpoint(&self, upstream: &str) -> Result<String> {
        let gateway = Gateway::for_upstream(upstream)?;
        if !gateway.knows(&self.suffix) {
            self.register_with(upstream, false)?;
        }
        Ok(gateway.endpoint())
    }

    /// The environment `principal`'s process gets locally: resource names as the template would pass them, the
    /// IAM gateway in front of `upstream` (moto, or a proxy in front of it) as `AWS_ENDPOINT_URL`, credentials
    /// naming the principal, and the Graph API base URL (the fake Graph API in tests). `RETENTION_DAYS` and
    /// `GRAPH_API_VERSION` are the template's parameter defaults (30 and v23.0 today); `KMS_KEY_ID` is the key the
    /// template's `ArchiveKey.Arn` stands for.
    pub fn function_env(
        &self,
        principal: Principal,
        upstream: &str,
        graph_base_url: &str,
    ) -> Result<Vec<(String, String)>> {
        let endpoint = self.aws_endpoint(upstream)?;
        let access_key = principal.access_key_id(&self.suffix);
        Ok([
            ("RECORDS_TABLE", self.table.as_str()),
            ("ARCHIVE_BUCKET", self.bucket.as_str()),
            ("MEDIA_QUEUE_URL", self.queue_url.as_str()),
            ("MEDIA_DLQ_URL", self.dlq_url.as_str()),
            ("META_SECRET_ID", self.meta_secret_id.as_str()),
            (
                "CONTACT_HASH_SECRET_ID",
                self.contact_hash_secret_id.as_str(),
            ),
            ("GRAPH_API_BASE_URL", graph_base_url),
            ("GRAPH_API_VERSION", self.graph_api_version.as_str()),
            ("MEDIA_DOWNLOAD_HOSTS", "127.0.0.1"), // the fake Graph API serves downloads here
            ("RETENTION_DAYS", &self.retention_days.to_string()),
            ("KMS_KEY_ID", LOCAL_KMS_KEY_ARN),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", access_key.as_str()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_REGION", REGION),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
    }
}

fn validate_suffix(suffix: &str) -> Result<()> {
    let ok = (1..=30).contains(&suffix.len())
        && suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !suffix.starts_with('-')
        && !suffix.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSuffix(suffix.to_string()))
    }
}

fn aws_error<E>(operation: &'static str) -> impl FnOnce(E) -> Error
where
    E: std::error::Error,
{
    move |e| Error::Aws {
        operation,
        message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
    }
}

fn build_error<'a>(
    res: &'a Resource,
    path: &'a [&'a str],
) -> impl FnOnce(BuildError) -> Error + 'a {
    move |e| res.error(path, &format!("is incomplete: {e}"))
}

/// The elements of a list property (empty when absent).
fn list<'a>(res: &'a Resource, path: &[&str]) -> Result<&'a [Value]> {
    match res.get(path) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(v) => Err(res.error(path, &format!("is not a list: {v}"))),
    }
}

fn field_str(res: &Resource, path: &[&str], item: &Value, key: &str) -> Result<String> {
    item.get(key).and_then(scalar_string).ok_or_else(|| {
        res.error(
            path,
            &format!("has an entry without a string {key}: {item}"),
        )
    })
}

fn field_i64(res: &Resource, path: &[&str], item: &Value, key: &str) -> Result<Option<i64>> {
    match item.get(key) {
        None => Ok(None),
        Some(v) => as_i64(v)
            .map(Some)
            .ok_or_else(|| res.error(path, &format!("has a non-integer {key}: {v}"))),
    }
}

fn key_schema(
    res: &Resource,
    path: &[&str],
    items: &[Value],
) -> Result<Vec<ddb::KeySchemaElement>> {
    items
        .iter()
        .map(|item| {
            ddb::KeySchemaElement::builder()
                .attribute_name(field_str(res, path, item, "AttributeName")?)
                .key_type(ddb::KeyType::from(
                    field_str(res, path, item, "KeyType")?.as_str(),
                ))
                .build()
                .map_err(build_error(res, path))
        })
        .collect()
}

fn projection(res: &Resource, path: &[&str], item: &Value) -> Result<ddb::Projection> {
    let p = item
        .get("Projection")
        .ok_or_else(|| res.error(path, &format!("has an index without Projection: {item}")))?;
    let mut b = ddb::Projection::builder();
    if let Some(t) = p.get("ProjectionType").and_then(scalar_string) {
        b = b.projection_type(ddb::ProjectionType::from(t.as_str()));
    }
    if let Some(Value::Array(attrs)) = p.get("NonKeyAttributes") {
        for a in attrs.iter().filter_map(scalar_string) {
            b = b.non_key_attributes(a);
        }
    }
    Ok(b.build())
}

fn throughput(
    res: &Resource,
    path: &[&str],
    item: &Value,
) -> Result<Option<ddb::ProvisionedThroughput>> {
    let Some(t) = item.get("ProvisionedThroughput") else {
        return Ok(None);
    };
    let read = field_i64(res, path, t, "ReadCapacityUnits")?;
    let write = field_i64(res, path, t, "WriteCapacityUnits")?;
    ddb::ProvisionedThroughput::builder()
        .set_read_capacity_units(read)
        .set_write_capacity_units(write)
        .build()
        .map(Some)
        .map_err(build_error(res, path))
}

async fn create_table(
    sdk: &SdkConfig,
    res: &Resource,
    name: &str,
) -> Result<(String, Option<String>)> {
    let client = dynamodb_client(sdk);
    let mut req = client.create_table().table_name(name);

    let defs_path = ["AttributeDefinitions"];
    for item in list(res, &defs_path)? {
        req = req.attribute_definitions(
            ddb::AttributeDefinition::builder()
                .attribute_name(field_str(res, &defs_path, item, "AttributeName")?)
                .attribute_type(ddb::ScalarAttributeType::from(
                    field_str(res, &defs_path, item, "AttributeType")?.as_str(),
                ))
                .build()
                .map_err(build_error(res, &defs_path))?,
        );
    }
    let key_path = ["KeySchema"];
    let keys = res
        .require(&key_path)?
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if keys.is_empty() {
        return Err(res.error(&key_path, "must be a non-empty list"));
    }
    req = req.set_key_schema(Some(key_schema(res, &key_path, keys)?));

    // CloudFormation's default billing mode is PROVISIONED.
    let billing = res
        .opt_str(&["BillingMode"])?
        .unwrap_or_else(|| "PROVISIONED".to_string());
    req = req.billing_mode(ddb::BillingMode::from(billing.as_str()));
    if let Some(t) = throughput(res, &[], res.properties())? {
        req = req.provisioned_throughput(t);
    }

    let gsi_path = ["GlobalSecondaryIndexes"];
    for item in list(res, &gsi_path)? {
        let keys = item
            .get("KeySchema")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        req = req.global_secondary_indexes(
            ddb::GlobalSecondaryIndex::builder()
                .index_name(field_str(res, &gsi_path, item, "IndexName")?)
                .set_key_schema(Some(key_schema(res, &gsi_path, keys)?))
                .projection(projection(res, &gsi_path, item)?)
                .set_provisioned_throughput(throughput(res, &gsi_path, item)?)
                .build()
                .map_err(build_error(res, &gsi_path))?,
        );
    }
    let lsi_path = ["LocalSecondaryIndexes"];
    for item in list(res, &lsi_path)? {
        let keys = item
            .get("KeySchema")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        req = req.local_secondary_indexes(
            ddb::LocalSecondaryIndex::builder()
                .index_name(field_str(res, &lsi_path, item, "IndexName")?)
                .set_key_schema(Some(key_schema(res, &lsi_path, keys)?))
                .projection(projection(res, &lsi_path, item)?)
                .build()
                .map_err(build_error(res, &lsi_path))?,
        );
    }
    if let Some(view) = res.opt_str(&["StreamSpecification", "StreamViewType"])? {
        req = req.stream_specification(
            ddb::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(ddb::StreamViewType::from(view.as_str()))
                .build()
                .map_err(build_error(res, &["StreamSpecification"]))?,
        );
    }
    let created = req
        .send()
        .await
        .map_err(aws_error("DynamoDB CreateTable"))?;
    let stream_arn = created
        .table_description()
        .and_then(|d| d.latest_stream_arn())
        .map(str::to_string);

    wait_table_active(&client, name).await?;

    if let Some(attr) = res.opt_str(&["TimeToLiveSpecification", "AttributeName"])? {
        let enabled = res
            .opt_bool(&["TimeToLiveSpecification", "Enabled"])?
            .unwrap_or(false);
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                ddb::TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(enabled)
                    .build()
                    .map_err(build_error(res, &["TimeToLiveSpecification"]))?,
            )
            .send()
            .await
            .map_err(aws_error("DynamoDB UpdateTimeToLive"))?;
    }
    Ok((name.to_string(), stream_arn))
}

/// moto creates tables ACTIVE at once; the poll keeps this correct against anything slower.
async fn wait_table_active(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(aws_error("DynamoDB DescribeTable"))?;
        let status = described.table().and_then(|t| t.table_status());
        if status == Some(&ddb::TableStatus::Active) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Aws {
                operation: "DynamoDB DescribeTable",
                message: format!("table {name} not ACTIVE after 30 s (status {status:?})"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_bucket(sdk: &SdkConfig, res: &Resource, name: &str) -> Result<String> {
    let client = s3_client(sdk);
    client
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .map_err(aws_error("S3 CreateBucket"))?;

    if let Some(status) = res.opt_str(&["VersioningConfiguration", "Status"])? {
        client
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                s3::VersioningConfiguration::builder()
                    .status(s3::BucketVersioningStatus::from(status.as_str()))
                    .build(),
            )
            .send()
            .await
            .map_err(aws_error("S3 PutBucketVersioning"))?;
    }

    let rules_path = ["LifecycleConfiguration", "Rules"];
    let mut rules = Vec::new();
    for item in list(res, &rules_path)? {
        rules.push(lifecycle_rule(res, &rules_path, item)?);
    }
    if !rules.is_empty() {
        client
            .put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(
                s3::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .map_err(build_error(res, &rules_path))?,
            )
            .send()
            .await
            .map_err(aws_error("S3 PutBucketLifecycleConfiguration"))?;
    }
    Ok(name.to_string())
}

/// Maps one CloudFormation lifecycle rule to the S3 API. Keys this does not know are an error rather than
/// silently dropped: a rule that is applied differently locally would make the retention tests lie.
fn lifecycle_rule(res: &Resource, path: &[&str], item: &Value) -> Result<s3::LifecycleRule> {
    const KNOWN: &[&str] = &[
        "Id",
        "Status",
        "Prefix",
        "TagFilters",
        "ObjectSizeGreaterThan",
        "ObjectSizeLessThan",
        "ExpirationInDays",
        "ExpiredObjectDeleteMarker",
        "NoncurrentVersionExpiration",
        "NoncurrentVersionExpirationInDays",
        "AbortIncompleteMultipartUpload",
        "Transitions",
        "NoncurrentVersionTransitions",
    ];
    let obj = item
        .as_object()
        .ok_or_else(|| res.error(path, &format!("has a non-object rule: {item}")))?;
    if let Some(unknown) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(res.error(
            path,
            &format!("has a rule key the local stack does not apply: {unknown}"),
        ));
    }
    let mut b = s3::LifecycleRule::builder()
        .set_id(item.get("Id").and_then(scalar_string))
        .status(s3::ExpirationStatus::from(
            field_str(res, path, item, "Status")?.as_str(),
        ));

    // Filter: a prefix, tags and sizes; several conditions go under And, as S3 requires.
    let prefix = item.get("Prefix").and_then(scalar_string);
    let mut tags = Vec::new();
    if let Some(Value::Array(filters)) = item.get("TagFilters") {
        for f in filters {
            tags.push(
                s3::Tag::builder()
                    .key(field_str(res, path, f, "Key")?)
                    .value(field_str(res, path, f, "Value")?)
                    .build()
                    .map_err(build_error(res, path))?,
            );
        }
    }
    let above = field_i64(res, path, item, "ObjectSizeGreaterThan")?;
    let below = field_i64(res, path, item, "ObjectSizeLessThan")?;
    let conditions = usize::from(prefix.is_some())
        + tags.len()
        + usize::from(above.is_some())
        + usize::from(below.is_some());
    let filter = if conditions > 1 {
        s3::LifecycleRuleFilter::builder()
            .and(
                s3::LifecycleRuleAndOperator::builder()
                    .set_prefix(prefix)
                    .set_tags(if tags.is_empty() { None } else { Some(tags) })
                    .set_object_size_greater_than(above)
                    .set_object_size_less_than(below)
                    .build(),
            )
            .build()
    } else {
        s3::LifecycleRuleFilter::builder()
            .set_tag(tags.pop())
            .set_object_size_greater_than(above)
            .set_object_size_less_than(below)
            .prefix(prefix.unwrap_or_default())
            .build()
    };
    b = b.filter(filter);

    let days = field_i64(res, path, item, "ExpirationInDays")?;
    let marker = match item.get("ExpiredObjectDeleteMarker") {
        None => None,
        Some(Value::Bool(v)) => Some(*v),
        Some(v) => scalar_string(v).map(|s| s == "true"),
    };
    if days.is_some() || marker.is_some() {
        b = b.expiration(
            s3::LifecycleExpiration::builder()
                .set_days(to_i32(res, path, days)?)
                .set_expired_object_delete_marker(marker)
                .build(),
        );
    }
    let noncurrent = match item.get("NoncurrentVersionExpiration") {
        Some(n) => Some((
            field_i64(res, path, n, "NoncurrentDays")?,
            field_i64(res, path, n, "NewerNoncurrentVersions")?,
        )),
        None => field_i64(res, path, item, "NoncurrentVersionExpirationInDays")?
            .map(|d| (Some(d), None)),
    };
    if let Some((days, newer)) = noncurrent {
        b = b.noncurrent_version_expiration(
            s3::NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(to_i32(res, path, days)?)
                .set_newer_noncurrent_versions(to_i32(res, path, newer)?)
                .build(),
        );
    }
    if let Some(abort) = item.get("AbortIncompleteMultipartUpload") {
        b = b.abort_incomplete_multipart_upload(
            s3::AbortIncompleteMultipartUpload::builder()
                .set_days_after_initiation(to_i32(
                    res,
                    path,
                    field_i64(res, path, abort, "DaysAfterInitiation")?,
                )?)
                .build(),
        );
    }
    if let Some(Value::Array(ts)) = item.get("Transitions") {
        for t in ts {
            b = b.transitions(
                s3::Transition::builder()
                    .storage_class(s3::TransitionStorageClass::from(
                        field_str(res, path, t, "StorageClass")?.as_str(),
                    ))
                    .set_days(to_i32(
                        res,
                        path,
                        field_i64(res, path, t, "TransitionInDays")?,
                    )?)
                    .build(),
            );
        }
    }
    if let Some(Value::Array(ts)) = item.get("NoncurrentVersionTransitions") {
        for t in ts {
            b = b.noncurrent_version_transitions(
                s3::NoncurrentVersionTransition::builder()
                    .storage_class(s3::TransitionStorageClass::from(
                        field_str(res, path, t, "StorageClass")?.as_str(),
                    ))
                    .set_noncurrent_days(to_i32(
                        res,
                        path,
                        field_i64(res, path, t, "TransitionInDays")?,
                    )?)
                    .build(),
            );
        }
    }
    b.build().map_err(build_error(res, path))
}

fn to_i32(res: &Resource, path: &[&str], v: Option<i64>) -> Result<Option<i32>> {
    v.map(|n| {
        i32::try_from(n).map_err(|_| res.error(path, &format!("has an out-of-range number {n}")))
    })
    .transpose()
}

/// Creates a queue with the template's plain attributes; for the main queue, the redrive policy's
/// `maxReceiveCount` comes from the template and its target must be the template's dead-letter queue.
async fn create_queue(
    sdk: &SdkConfig,
    res: &Resource,
    name: &str,
    dlq_arn: Option<&str>,
) -> Result<(String, String)> {
    let client = sqs_client(sdk);
    let mut req = client.create_queue().queue_name(name);
    for attr in [
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
    ] {
        if let Some(v) = res.opt_i64(&[attr])? {
            req = req.attributes(QueueAttributeName::from(attr), v.to_string());
        }
    }
    if let Some(dlq_arn) = dlq_arn {
        let target = res.require(&["RedrivePolicy", "deadLetterTargetArn"])?;
        let wired = target
            .get("Fn::GetAtt")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.first().and_then(Value::as_str) == Some(logical_ids::MEDIA_DLQ)
                    && a.get(1).and_then(Value::as_str) == Some("Arn")
            });
        if !wired {
            return Err(res.error(
                &["RedrivePolicy", "deadLetterTargetArn"],
                &format!(
                    "should be !GetAtt {}.Arn, found {target}",
                    logical_ids::MEDIA_DLQ
                ),
            ));
        }
        let max = res
            .opt_i64(&["RedrivePolicy", "maxReceiveCount"])?
            .ok_or_else(|| res.error(&["RedrivePolicy", "maxReceiveCount"], "is required"))?;
        let policy = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max });
        req = req.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let created = req.send().await.map_err(aws_error("SQS CreateQueue"))?;
    let url = created
        .queue_url()
        .ok_or_else(|| Error::Aws {
            operation: "SQS CreateQueue",
            message: format!("no QueueUrl returned for {name}"),
        })?
        .to_string();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws_error("SQS GetQueueAttributes"))?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .ok_or_else(|| Error::Aws {
            operation: "SQS GetQueueAttributes",
            message: format!("no QueueArn returned for {name}"),
        })?
        .to_string();
    Ok((url, arn))
}

async fn create_secret(sdk: &SdkConfig, name: &str, value: &str) -> Result<String> {
    let created = secrets_client(sdk)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .map_err(aws_error("Secrets Manager CreateSecret"))?;
    created.arn().map(str::to_string).ok_or_else(|| Error::Aws {
        operation: "Secrets Manager CreateSecret",
        message: format!("no ARN returned for {name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_must_make_valid_names() {
        assert!(validate_suffix("t1-abc").is_ok());
        for bad in [
            "",
            "UPPER",
            "under_score",
            "-lead",
            "trail-",
            &"x".repeat(31),
        ] {
            assert!(validate_suffix(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn lifecycle_rules_map_and_unknown_keys_fail() -> Result<()> {
        let t = Template::parse(
            r#"
Resources:
  B:
    Type: AWS::S3::Bucket
    Properties:
      LifecycleConfiguration:
        Rules:
          - Id: expire
            Status: Enabled
            Prefix: media/
            ExpirationInDays: 30
            NoncurrentVersionExpiration: { NoncurrentDays: 1 }
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }
          - Id: odd
            Status: Enabled
            SomethingNew: 1
"#,
            "inline",
        )?;
        let res = t.resource("B", "AWS::S3::Bucket")?;
        let rules = res
            .require(&["LifecycleConfiguration", "Rules"])?
            .as_array()
            .cloned()
            .unwrap_or_default();
        let path = ["LifecycleConfiguration", "Rules"];
        let rule = lifecycle_rule(&res, &path, &rules[0])?;
        assert_eq!(rule.id(), Some("expire"));
        assert_eq!(rule.expiration().and_then(|e| e.days()), Some(30));
        assert_eq!(rule.filter().and_then(|f| f.prefix()), Some("media/"));
        assert_eq!(
            rule.noncurrent_version_expiration()
                .and_then(|n| n.noncurrent_days()),
            Some(1)
        );
        assert!(lifecycle_rule(&res, &path, &rules[1]).is_err());
        Ok(())
    }
}
