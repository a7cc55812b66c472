//! From an AWS API request (as the SDK sends it) to what IAM authorizes: the actions, the resource ARNs and the
//! request context AWS evaluates, including the calls services make on the caller's behalf (KMS).
//!
//! Sources (AWS Service Authorization Reference, "Actions, resources, and condition keys for ..." pages, and the
//! services' developer guides), per mapping below:
//! - S3: "Required permissions for Amazon S3 API operations" (S3 User Guide): HeadObject and GetObject are
//!   `s3:GetObject`; the multipart calls Create/UploadPart/Complete are `s3:PutObject`, Abort is
//!   `s3:AbortMultipartUpload`; CopyObject needs `s3:GetObject` on the source and `s3:PutObject` on the target;
//!   DeleteObject with a version id is `s3:DeleteObjectVersion`; ListObjectVersions is `s3:ListBucketVersions` and
//!   ListObjectsV2 is `s3:ListBucket`, both on the bucket with `s3:prefix` in the context. GetObject API reference:
//!   "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Forbidden error"
//!   for a missing key (HeadObject likewise).
//! - SSE-KMS (S3 User Guide, "Using server-side encryption with AWS KMS keys" and "Reducing the cost of SSE-KMS
//!   with Amazon S3 Bucket Keys"): PutObject and CreateMultipartUpload need `kms:GenerateDataKey`, UploadPart and
//!   GetObject `kms:Decrypt` (a multipart upload needs both); S3 calls KMS on the caller's behalf
//!   (`kms:ViaService = s3.<region>.amazonaws.com`), with the encryption context `aws:s3:arn` = the bucket ARN
//!   when Bucket Keys are on (the object ARN otherwise). HeadObject needs `kms:Decrypt` only in checksum mode,
//!   which wavault does not use. With Bucket Keys, KMS is called once per cached bucket key, not per object:
//!   the check asks on every request, which is stricter, never more lenient.
//! - The implicit `s3:ListBucket` check for a missing key: AWS does not document its request context. It is
//!   evaluated here without `s3:prefix` (a prefix-conditioned grant does not count), the conservative reading
//!   (a Ceph change, ceph/ceph#68577, reports AWS sets `s3:prefix` to the key; unverified).
//! - SQS (SQS Developer Guide, "Key management"): producers of an encrypted queue need `kms:GenerateDataKey` and
//!   `kms:Decrypt`, consumers `kms:Decrypt`; context `aws:sqs:arn`, via `sqs.<region>.amazonaws.com`. Batch calls
//!   are authorized as their single-message action.
//! - Secrets Manager (User Guide, "Secret encryption and decryption"): GetSecretValue needs `kms:Decrypt`,
//!   PutSecretValue `kms:GenerateDataKey`, with `kms:EncryptionContext:SecretARN` and
//!   `kms:ViaService = secretsmanager.<region>.amazonaws.com`.
//! - DynamoDB: item calls on `table/<name>` with `dynamodb:LeadingKeys` (the partition key values); Query on an
//!   index on `table/<name>/index/<index>`; stream reads (`DescribeStream`, `GetShardIterator`, `GetRecords`) on
//!   `table/<name>/stream/<label>`; `ListStreams` has no resource type in the Service Authorization Reference, so
//!   only `Resource: "*"` grants it. A table encrypted with a customer managed key: DynamoDB calls
//!   `kms:Decrypt` as the caller (cached table key, re-checked after 5 idle minutes; "How Amazon DynamoDB uses
//!   AWS KMS"), via `dynamodb.<region>.amazonaws.com` with the context `aws:dynamodb:tableName` and
//!   `aws:dynamodb:subscriberId`; the check asks it on every data-plane call, stream reads included.
//! - DynamoDB batches: BatchWriteItem and BatchGetItem are authorized as `dynamodb:BatchWriteItem` /
//!   `dynamodb:BatchGetItem` on each table of `RequestItems` (a table name or ARN), with the item context of each
//!   key (API permissions reference; the Service Authorization Reference lists `dynamodb:LeadingKeys` for both):
//!   here one check per requested key, which under `ForAllValues` is the same as one check over all their
//!   partition keys.
//! - DynamoDB reads' projection (Developer Guide, "Using IAM policy conditions for fine-grained access control";
//!   the Service Authorization Reference lists `dynamodb:Attributes` and `dynamodb:Select` for GetItem and
//!   BatchGetItem): `dynamodb:Attributes` is the top-level attribute names the read asks for
//!   (`ProjectionExpression`, placeholders resolved through `ExpressionAttributeNames`, or the legacy
//!   `AttributesToGet`); `dynamodb:Select` "always has a value (ALL_ATTRIBUTES, unless otherwise specified)":
//!   `SPECIFIC_ATTRIBUTES` with a projection, `ALL_ATTRIBUTES` without (then there is no `dynamodb:Attributes`).
//!   Modelled for GetItem and BatchGetItem only: Query, Scan and the writes put other names in
//!   `dynamodb:Attributes` (key conditions, filters, items), so the policies refuse a grant that conditions on
//!   these keys for any other action ([`crate::iam::policies`]), rather than evaluate it against a context that
//!   lacks them (where `ForAllValues` would hold).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::http_front::percent_decode;
use crate::iam::policies::{ACCOUNT, REGION};

/// The resource used for actions that support no resource-level permission: only a `"*"` grant matches it (an
/// ARN no real resource has).
pub const NO_RESOURCE_LEVEL: &str = "arn:aws:iam-check:::no-resource-level-permission";

/// What the gateway needs to know of the provisioned resources to map a request.
#[derive(Debug, Clone, Default)]
pub struct StackResources {
    /// Bucket name -> its default SSE-KMS key (and whether Bucket Keys are on).
    pub buckets: BTreeMap<String, BucketEncryption>,
    /// Queue name -> (queue ARN, KMS key ARN if encrypted with one).
    pub queues: BTreeMap<String, (String, Option<String>)>,
    /// Secret name or ARN -> (secret ARN, KMS key ARN).
    pub secrets: BTreeMap<String, (String, Option<String>)>,
    /// Table name -> its partition key attribute name.
    pub tables: BTreeMap<String, String>,
    /// Table name -> the customer managed key it is encrypted with.
    pub table_keys: BTreeMap<String, String>,
}

/// A bucket's default encryption.
#[derive(Debug, Clone, Default)]
pub struct BucketEncryption {
    /// The KMS key ARN of the bucket's SSE-KMS default (None: SSE-S3).
    pub kms_key: Option<String>,
    /// S3 Bucket Keys on: S3 asks KMS with the bucket ARN as encryption context.
    pub bucket_key: bool,
}

/// One authorization AWS performs for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// IAM action (`s3:PutObject`).
    pub action: String,
    /// Resource ARN.
    pub resource: String,
    /// Condition keys AWS puts in the request context.
    pub context: BTreeMap<String, Value>,
    /// Why AWS asks (`S3 PutObject`, `KMS for S3 PutObject`).
    pub why: String,
}

/// A classified request.
#[derive(Debug, Clone)]
pub struct Classified {
    /// Service signing name (`s3`, `dynamodb`, `sqs`, `secretsmanager`).
    pub service: String,
    /// API operation (`PutObject`, `GetItem`).
    pub operation: String,
    /// The checks AWS performs before it acts.
    pub checks: Vec<Check>,
    /// For S3 GetObject/HeadObject: the bucket whose `s3:ListBucket` decides 403 or 404 for a missing key.
    pub missing_key_bucket: Option<String>,
}

/// Why a request could not be classified (the gateway then refuses it: an unknown call is not assumed allowed).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unclassified(pub String);

/// The parts of an HTTP request the mapping reads.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// Path without the query, percent-encoded as sent.
    pub path: &'a str,
    /// The raw query string.
    pub query: &'a str,
    /// Header lookup (lower-case names).
    pub header: &'a dyn Fn(&str) -> Option<String>,
    pub body: &'a [u8],
}

/// Maps a request of `service` (the SigV4 scope's service) to its checks.
pub fn classify(
    service: &str,
    request: &HttpRequest<'_>,
    resources: &StackResources,
    stream_of_iterator: &dyn Fn(&str) -> Option<String>,
) -> Result<Classified, Unclassified> {
    match service {
        "s3" => classify_s3(request, resources),
        "dynamodb" => classify_dynamodb(request, resources, stream_of_iterator),
        "sqs" => classify_sqs(request, resources),
        "secretsmanager" => classify_secrets(request, resources),
        other => Err(Unclassified(format!(
            "service {other} is not modelled by the IAM gateway"
        ))),
    }
}

fn base_context() -> BTreeMap<String, Value> {
    // On AWS every SDK call from Lambda is HTTPS; the local hop is plain HTTP only because it is loopback.
    BTreeMap::from([
        ("aws:SecureTransport".to_owned(), json!(true)),
        ("aws:PrincipalAccount".to_owned(), json!(ACCOUNT)),
        ("aws:RequestedRegion".to_owned(), json!(REGION)),
    ])
}

fn check(action: &str, resource: String, context: BTreeMap<String, Value>, why: String) -> Check {
    Check {
        action: action.to_owned(),
        resource,
        context,
        why,
    }
}

fn kms_check(
    action: &str,
    key: &str,
    service: &str,
    encryption_context: &[(&str, &str)],
    why: String,
) -> Check {
    let mut context = base_context();
    context.insert(
        "kms:ViaService".to_owned(),
        json!(format!("{service}.{REGION}.amazonaws.com")),
    );
    context.insert("kms:CallerAccount".to_owned(), json!(ACCOUNT));
    for (k, v) in encryption_context {
        context.insert(format!("kms:EncryptionContext:{k}"), json!(v));
    }
    check(action, key.to_owned(), context, why)
}

// ------------------------------------------------------------------------------------------------ S3

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn classify_s3(
    request: &HttpRequest<'_>,
    resources: &StackResources,
) -> Result<Classified, Unclassified> {
    let path = request.path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (percent_decode(b), Some(percent_decode(k))),
        None => (percent_decode(path), None),
    };
    let key = key.filter(|k| !k.is_empty());
    let query = query_pairs(request.query);
    let has = |name: &str| query.iter().any(|(k, _)| k == name);
    let value = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let encryption = resources.buckets.get(&bucket).cloned().unwrap_or_default();
    let mut context = base_context();
    let method = request.method;
    let header = request.header;

    let Some(key) = key else {
        // Bucket-level operations.
        if let Some(prefix) = value("prefix") {
            context.insert("s3:prefix".to_owned(), json!(prefix));
        }
        let (operation, action) = match method {
            "GET" if has("versions") => ("ListObjectVersions", "s3:ListBucketVersions"),
            "GET" if has("uploads") => ("ListMultipartUploads", "s3:ListBucketMultipartUploads"),
            "GET" if has("versioning") => ("GetBucketVersioning", "s3:GetBucketVersioning"),
            "GET" if has("lifecycle") => (
                "GetBucketLifecycleConfiguration",
                "s3:GetLifecycleConfiguration",
            ),
            "GET" if has("location") => ("GetBucketLocation", "s3:GetBucketLocation"),
            "GET" => ("ListObjectsV2", "s3:ListBucket"),
            "HEAD" => ("HeadBucket", "s3:ListBucket"),
            _ => {
                return Err(Unclassified(format!(
                    "S3 {method} on a bucket with query {:?} is not modelled",
                    request.query
                )))
            }
        };
        return Ok(Classified {
            service: "s3".into(),
            operation: operation.into(),
            checks: vec![check(
                action,
                bucket_arn,
                context,
                format!("S3 {operation}"),
            )],
            missing_key_bucket: None,
        });
    };

    let object_arn = format!("{bucket_arn}/{key}");
    let kms_context_arn = if encryption.bucket_key {
        bucket_arn.clone()
    } else {
        object_arn.clone()
    };
    // The key S3 uses for a write: the request's, else the bucket default (only when SSE-KMS is asked or default).
    let sse = header("x-amz-server-side-encryption");
    let sse_key = header("x-amz-server-side-encryption-aws-kms-key-id");
    if let Some(v) = &sse {
        context.insert("s3:x-amz-server-side-encryption".to_owned(), json!(v));
    }
    if let Some(v) = &sse_key {
        context.insert(
            "s3:x-amz-server-side-encryption-aws-kms-key-id".to_owned(),
            json!(v),
        );
    }
    let write_key: Option<String> = match sse.as_deref() {
        Some("aws:kms") | Some("aws:kms:dsse") => sse_key.clone().or(encryption.kms_key.clone()),
        Some(_) => None,
        None => encryption.kms_key.clone(),
    };
    let read_key = encryption.kms_key.clone();
    let kms = |action: &str, key_arn: &Option<String>, operation: &str| -> Vec<Check> {
        key_arn
            .iter()
            .map(|k| {
                kms_check(
                    action,
                    k,
                    "s3",
                    &[("aws:s3:arn", kms_context_arn.as_str())],
                    format!("KMS for S3 {operation}"),
                )
            })
            .collect()
    };

    let copy_source = header("x-amz-copy-source");
    let mut checks = Vec::new();
    let mut missing_key_bucket = None;
    let operation = match method {
        "HEAD" => {
            checks.push(check(
                "s3:GetObject",
                object_arn,
                context,
                "S3 HeadObject".into(),
            ));
            missing_key_bucket = Some(bucket.clone());
            "HeadObject"
        }
        "GET" if has("uploadId") => {
            checks.push(check(
                "s3:ListMultipartUploadParts",
                object_arn,
                context,
                "S3 ListParts".into(),
            ));
            "ListParts"
        }
        "GET" => {
            let (action, why) = if has("versionId") {
                ("s3:GetObjectVersion", "S3 GetObject of a version")
            } else {
                ("s3:GetObject", "S3 GetObject")
            };
            checks.push(check(action, object_arn, context, why.into()));
            checks.extend(kms("kms:Decrypt", &read_key, "GetObject"));
            missing_key_bucket = Some(bucket.clone());
            "GetObject"
        }
        "PUT" if has("partNumber") && has("uploadId") => {
            checks.push(check(
                "s3:PutObject",
                object_arn,
                context,
                "S3 UploadPart".into(),
            ));
            // The part is encrypted with the upload's data key, which S3 decrypts for each part.
            checks.extend(kms("kms:Decrypt", &read_key, "UploadPart"));
            "UploadPart"
        }
        "PUT" if copy_source.is_some() => {
            let source = copy_source.unwrap_or_default();
            let source = percent_decode(source.trim_start_matches('/'));
            let source = source.split('?').next().unwrap_or_default().to_owned();
            checks.push(check(
                "s3:GetObject",
                format!("arn:aws:s3:::{source}"),
                base_context(),
                "S3 CopyObject (source)".into(),
            ));
            checks.push(check(
                "s3:PutObject",
                object_arn,
                context,
                "S3 CopyObject (target)".into(),
            ));
            checks.extend(kms("kms:Decrypt", &read_key, "CopyObject (source)"));
            checks.extend(kms(
                "kms:GenerateDataKey",
                &write_key,
                "CopyObject (target)",
            ));
            "CopyObject"
        }
        "PUT" => {
            checks.push(check(
                "s3:PutObject",
                object_arn,
                context,
                "S3 PutObject".into(),
            ));
            checks.extend(kms("kms:GenerateDataKey", &write_key, "PutObject"));
            "PutObject"
        }
        "POST" if has("uploads") => {
            checks.push(check(
                "s3:PutObject",
                object_arn,
                context,
                "S3 CreateMultipartUpload".into(),
            ));
            checks.extend(kms(
                "kms:GenerateDataKey",
                &write_key,
                "CreateMultipartUpload",
            ));
            "CreateMultipartUpload"
        }
        "POST" if has("uploadId") => {
            checks.push(check(
                "s3:PutObject",
                object_arn,
                context,
                "S3 CompleteMultipartUpload".into(),
            ));
            // S3 reads the encrypted parts back to assemble the object.
            checks.extend(kms("kms:Decrypt", &read_key, "CompleteMultipartUpload"));
            "CompleteMultipartUpload"
        }
        "DELETE" if has("uploadId") => {
            checks.push(check(
                "s3:AbortMultipartUpload",
                object_arn,
                context,
                "S3 AbortMultipartUpload".into(),
            ));
            "AbortMultipartUpload"
        }
        "DELETE" => {
            let (action, why) = if has("versionId") {
                ("s3:DeleteObjectVersion", "S3 DeleteObject of a version")
            } else {
                ("s3:DeleteObject", "S3 DeleteObject")
            };
            checks.push(check(action, object_arn, context, why.into()));
            "DeleteObject"
        }
        other => {
            return Err(Unclassified(format!(
                "S3 {other} on an object with query {:?} is not modelled",
                request.query
            )))
        }
    };
    Ok(Classified {
        service: "s3".into(),
        operation: operation.into(),
        checks,
        missing_key_bucket,
    })
}

/// The ARN of `bucket` (the missing-key check asks `s3:ListBucket` on it, without `s3:prefix`: the request is a
/// GET of a key, not a listing).
pub fn list_bucket_check(bucket: &str, operation: &str) -> Check {
    check(
        "s3:ListBucket",
        format!("arn:aws:s3:::{bucket}"),
        base_context(),
        format!("S3 {operation} of a missing key (403 without it, 404 with it)"),
    )
}

// ------------------------------------------------------------------------------------------ JSON protocols

fn target_operation(request: &HttpRequest<'_>) -> Result<(String, String), Unclassified> {
    let target = (request.header)("x-amz-target")
        .ok_or_else(|| Unclassified("JSON request without X-Amz-Target".into()))?;
    let (prefix, operation) = target
        .split_once('.')
        .ok_or_else(|| Unclassified(format!("X-Amz-Target {target:?} has no operation")))?;
    Ok((prefix.to_owned(), operation.to_owned()))
}

fn json_body(request: &HttpRequest<'_>) -> Result<Value, Unclassified> {
    if request.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(request.body)
        .map_err(|e| Unclassified(format!("request body is not JSON: {e}")))
}

fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

/// A table as a request names it (its name, or its ARN, which the item and batch calls accept too): (name, ARN).
fn table_ref(table: &str) -> (String, String) {
    match table.split_once(":table/") {
        Some((_, name)) if table.starts_with("arn:") => (
            name.split('/').next().unwrap_or_default().to_owned(),
            table.to_owned(),
        ),
        _ => (table.to_owned(), table_arn(table)),
    }
}

/// `dynamodb:Select` and `dynamodb:Attributes` of a read: a GetItem request, or one table's `KeysAndAttributes`
/// in a BatchGetItem (see the module documentation).
fn read_projection(read: &Value, operation: &str) -> Result<BTreeMap<String, Value>, Unclassified> {
    let mut attributes: Vec<String> = Vec::new();
    if let Some(expression) = read.get("ProjectionExpression").and_then(Value::as_str) {
        let names = read.get("ExpressionAttributeNames");
        for path in expression.split(',') {
            // The top-level attribute of a document path (`a.b[0]`): names with `.` or `[` are placeholders.
            let top = path.trim().split(['.', '[']).next().unwrap_or_default();
            let name = if top.starts_with('#') {
                names
                    .and_then(|n| n.get(top))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Unclassified(format!(
                            "DynamoDB {operation}: ProjectionExpression placeholder {top} has no ExpressionAttributeNames entry"
                        ))
                    })?
                    .to_owned()
            } else {
                top.to_owned()
            };
            if name.is_empty() {
                return Err(Unclassified(format!(
                    "DynamoDB {operation}: ProjectionExpression {expression:?} names an empty attribute"
                )));
            }
            attributes.push(name);
        }
    } else if let Some(list) = read.get("AttributesToGet").and_then(Value::as_array) {
        attributes.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    attributes.sort();
    attributes.dedup();
    let mut context = BTreeMap::new();
    if attributes.is_empty() {
        context.insert("dynamodb:Select".to_owned(), json!("ALL_ATTRIBUTES"));
    } else {
        context.insert("dynamodb:Select".to_owned(), json!("SPECIFIC_ATTRIBUTES"));
        context.insert("dynamodb:Attributes".to_owned(), json!(attributes));
    }
    Ok(context)
}

fn leading_key(item_key: &Value, hash_key: &str) -> Option<String> {
    let attribute = item_key.get(hash_key)?;
    attribute
        .get("S")
        .or_else(|| attribute.get("N"))
        .or_else(|| attribute.get("B"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn classify_dynamodb(
    request: &HttpRequest<'_>,
    resources: &StackResources,
    stream_of_iterator: &dyn Fn(&str) -> Option<String>,
) -> Result<Classified, Unclassified> {
    let (prefix, operation) = target_operation(request)?;
    let body = json_body(request)?;
    let mut checks = Vec::new();
    let item_check = |action: &str, table: &str, key: Option<&Value>, why: &str| {
        let (name, arn) = table_ref(table);
        let mut context = base_context();
        let hash_key = resources.tables.get(&name).map(String::as_str);
        if let (Some(key), Some(hash_key)) = (key, hash_key) {
            if let Some(value) = leading_key(key, hash_key) {
                context.insert("dynamodb:LeadingKeys".to_owned(), json!([value]));
            }
        }
        check(action, arn, context, why.to_owned())
    };
    let table_name = || {
        body.get("TableName")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Unclassified(format!("DynamoDB {operation} without TableName")))
    };
    if prefix.starts_with("DynamoDBStreams") {
        let stream_arn = match operation.as_str() {
            "GetRecords" => {
                let iterator = body
                    .get("ShardIterator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Some(stream_of_iterator(iterator).ok_or_else(|| {
                    Unclassified("GetRecords with a shard iterator the gateway never issued".into())
                })?)
            }
            "ListStreams" => None,
            _ => Some(
                body.get("StreamArn")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| Unclassified(format!("{operation} without StreamArn")))?,
            ),
        };
        let resource = stream_arn.unwrap_or_else(|| NO_RESOURCE_LEVEL.to_owned());
        let table = resource
            .split(":table/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned);
        checks.push(check(
            &format!("dynamodb:{operation}"),
            resource,
            base_context(),
            format!("DynamoDB Streams {operation}"),
        ));
        if operation == "GetRecords" {
            if let Some(table) = table {
                checks.extend(table_kms(resources, &table, &operation));
            }
        }
        return Ok(Classified {
            service: "dynamodb".into(),
            operation,
            checks,
            missing_key_bucket: None,
        });
    }
    match operation.as_str() {
        "GetItem" => {
            let table = table_name()?;
            let mut get = item_check(
                "dynamodb:GetItem",
                &table,
                body.get("Key"),
                "DynamoDB GetItem",
            );
            get.context.extend(read_projection(&body, &operation)?);
            checks.push(get);
        }
        "DeleteItem" | "UpdateItem" => {
            let table = table_name()?;
            checks.push(item_check(
                &format!("dynamodb:{operation}"),
                &table,
                body.get("Key"),
                &format!("DynamoDB {operation}"),
            ));
        }
        "PutItem" => {
            let table = table_name()?;
            checks.push(item_check(
                "dynamodb:PutItem",
                &table,
                body.get("Item"),
                "DynamoDB PutItem",
            ));
        }
        "Query" | "Scan" => {
            let table = table_name()?;
            let (_, arn) = table_ref(&table);
            let resource = match body.get("IndexName").and_then(Value::as_str) {
                Some(index) => format!("{arn}/index/{index}"),
                None => arn,
            };
            checks.push(check(
                &format!("dynamodb:{operation}"),
                resource,
                base_context(),
                format!("DynamoDB {operation}"),
            ));
        }
        "DescribeTable" | "DescribeTimeToLive" => {
            let table = table_name()?;
            checks.push(check(
                &format!("dynamodb:{operation}"),
                table_ref(&table).1,
                base_context(),
                format!("DynamoDB {operation}"),
            ));
        }
        "TransactWriteItems" => {
            for item in body
                .get("TransactItems")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                for (kind, action, key_field) in [
                    ("Put", "dynamodb:PutItem", "Item"),
                    ("Update", "dynamodb:UpdateItem", "Key"),
                    ("Delete", "dynamodb:DeleteItem", "Key"),
                    ("ConditionCheck", "dynamodb:ConditionCheckItem", "Key"),
                ] {
                    if let Some(part) = item.get(kind) {
                        let table = part
                            .get("TableName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        checks.push(item_check(
                            action,
                            &table,
                            part.get(key_field),
                            &format!("DynamoDB TransactWriteItems ({kind})"),
                        ));
                    }
                }
            }
        }
        "BatchWriteItem" => {
            let requests = body
                .get("RequestItems")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (table, writes) in requests {
                for write in writes.as_array().cloned().unwrap_or_default() {
                    if let Some(put) = write.get("PutRequest") {
                        checks.push(item_check(
                            "dynamodb:BatchWriteItem",
                            &table,
                            put.get("Item"),
                            "DynamoDB BatchWriteItem (put)",
                        ));
                    }
                    if let Some(delete) = write.get("DeleteRequest") {
                        checks.push(item_check(
                            "dynamodb:BatchWriteItem",
                            &table,
                            delete.get("Key"),
                            "DynamoDB BatchWriteItem (delete)",
                        ));
                    }
                }
            }
        }
        "BatchGetItem" => {
            let requests = body
                .get("RequestItems")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (table, read) in requests {
                let projection = read_projection(&read, &operation)?;
                for key in read
                    .get("Keys")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                {
                    let mut get = item_check(
                        "dynamodb:BatchGetItem",
                        &table,
                        Some(&key),
                        "DynamoDB BatchGetItem",
                    );
                    get.context.extend(projection.clone());
                    checks.push(get);
                }
            }
            if checks.is_empty() {
                // DynamoDB rejects it (ValidationException); a call with nothing to check is not let through.
                return Err(Unclassified("DynamoDB BatchGetItem without keys".into()));
            }
        }
        other => {
            return Err(Unclassified(format!(
                "DynamoDB {other} is not modelled by the IAM gateway"
            )))
        }
    }
    let tables: std::collections::BTreeSet<String> = checks
        .iter()
        .filter_map(|c| c.resource.split(":table/").nth(1))
        .filter_map(|rest| rest.split('/').next())
        .map(str::to_owned)
        .collect();
    for table in tables {
        checks.extend(table_kms(resources, &table, &operation));
    }
    Ok(Classified {
        service: "dynamodb".into(),
        operation,
        checks,
        missing_key_bucket: None,
    })
}

/// `kms:Decrypt` DynamoDB asks as the caller for a table encrypted with a customer managed key.
fn table_kms(resources: &StackResources, table: &str, operation: &str) -> Vec<Check> {
    resources
        .table_keys
        .get(table)
        .map(|key| {
            kms_check(
                "kms:Decrypt",
                key,
                "dynamodb",
                &[
                    ("aws:dynamodb:tableName", table),
                    ("aws:dynamodb:subscriberId", ACCOUNT),
                ],
                format!("KMS for DynamoDB {operation}"),
            )
        })
        .into_iter()
        .collect()
}

fn classify_sqs(
    request: &HttpRequest<'_>,
    resources: &StackResources,
) -> Result<Classified, Unclassified> {
    let (_, operation) = target_operation(request)?;
    let body = json_body(request)?;
    let queue_url = body
        .get("QueueUrl")
        .and_then(Value::as_str)
        .ok_or_else(|| Unclassified(format!("SQS {operation} without QueueUrl")))?;
    let name = queue_url.rsplit('/').next().unwrap_or_default();
    let (arn, key) = resources
        .queues
        .get(name)
        .cloned()
        .unwrap_or_else(|| (format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"), None));
    let action = match operation.as_str() {
        "SendMessage" | "SendMessageBatch" => "sqs:SendMessage",
        "ReceiveMessage" => "sqs:ReceiveMessage",
        "DeleteMessage" | "DeleteMessageBatch" => "sqs:DeleteMessage",
        "ChangeMessageVisibility" | "ChangeMessageVisibilityBatch" => "sqs:ChangeMessageVisibility",
        "GetQueueAttributes" => "sqs:GetQueueAttributes",
        "PurgeQueue" => "sqs:PurgeQueue",
        other => {
            return Err(Unclassified(format!(
                "SQS {other} is not modelled by the IAM gateway"
            )))
        }
    };
    let mut checks = vec![check(
        action,
        arn.clone(),
        base_context(),
        format!("SQS {operation}"),
    )];
    if let Some(key) = key {
        let kms_actions: &[&str] = match action {
            "sqs:SendMessage" => &["kms:GenerateDataKey", "kms:Decrypt"],
            "sqs:ReceiveMessage" => &["kms:Decrypt"],
            _ => &[],
        };
        for kms_action in kms_actions {
            checks.push(kms_check(
                kms_action,
                &key,
                "sqs",
                &[("aws:sqs:arn", arn.as_str())],
                format!("KMS for SQS {operation}"),
            ));
        }
    }
    Ok(Classified {
        service: "sqs".into(),
        operation,
        checks,
        missing_key_bucket: None,
    })
}

fn classify_secrets(
    request: &HttpRequest<'_>,
    resources: &StackResources,
) -> Result<Classified, Unclassified> {
    let (_, operation) = target_operation(request)?;
    let body = json_body(request)?;
    let id = body
        .get("SecretId")
        .and_then(Value::as_str)
        .ok_or_else(|| Unclassified(format!("Secrets Manager {operation} without SecretId")))?;
    let (arn, key) = resources.secrets.get(id).cloned().unwrap_or_else(|| {
        (
            format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}"),
            None,
        )
    });
    let action = match operation.as_str() {
        "GetSecretValue"
        | "DescribeSecret"
        | "PutSecretValue"
        | "UpdateSecretVersionStage"
        | "ListSecretVersionIds" => format!("secretsmanager:{operation}"),
        other => {
            return Err(Unclassified(format!(
                "Secrets Manager {other} is not modelled by the IAM gateway"
            )))
        }
    };
    let mut checks = vec![check(
        &action,
        arn.clone(),
        base_context(),
        format!("Secrets Manager {operation}"),
    )];
    let kms_action = match operation.as_str() {
        "GetSecretValue" => Some("kms:Decrypt"),
        "PutSecretValue" => Some("kms:GenerateDataKey"),
        _ => None,
    };
    if let (Some(kms_action), Some(key)) = (kms_action, &key) {
        checks.push(kms_check(
            kms_action,
            key,
            "secretsmanager",
            &[("SecretARN", arn.as_str())],
            format!("KMS for Secrets Manager {operation}"),
        ));
    }
    // Writing a secret version also decrypts (Secrets Manager User Guide, "Secret encryption and decryption").
    if let ("PutSecretValue", Some(key)) = (operation.as_str(), &key) {
        checks.push(kms_check(
            "kms:Decrypt",
            key,
            "secretsmanager",
            &[("SecretARN", arn.as_str())],
            format!("KMS for Secrets Manager {operation}"),
        ));
    }
    Ok(Classified {
        service: "secretsmanager".into(),
        operation,
        checks,
        missing_key_bucket: None,
    })
}
