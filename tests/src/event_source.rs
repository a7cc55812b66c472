//! What Lambda's DynamoDB stream event source mapping calls, with the function's role: `ListStreams`,
//! `DescribeStream`, `GetShardIterator`, `GetRecords`, through the IAM gateway, so the tests check the stream
//! permissions the template grants (moto serves the DynamoDB Streams API at the same endpoint).
//!
//! Plain JSON requests: the workspace links no DynamoDB Streams SDK client for tests alone. The `Authorization`
//! header carries the principal's access key as SigV4 would (the gateway reads the caller from it; moto checks
//! no signature).

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::HashMap;

use crate::iam::Principal;
use crate::local_stack::LocalStack;
use crate::{Error, Result};

/// The records currently in `stack`'s table stream, read from the start (TRIM_HORIZON) of every shard as
/// `principal` (the ttl-expirer's mapping).
pub async fn read_table_stream(stack: &LocalStack, principal: Principal) -> Result<Vec<Value>> {
    let gateway = stack.gateway()?;
    let client = reqwest::Client::new();
    let key = principal.access_key_id(&stack.suffix);
    let call = |operation: &'static str, body: Value| {
        let client = client.clone();
        let url = gateway.endpoint();
        let key = key.clone();
        async move {
            let answer = client
                .post(url)
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", format!("DynamoDBStreams_20120810.{operation}"))
                .header(
                    "authorization",
                    format!(
                        "AWS4-HMAC-SHA256 Credential={key}/20261201/us-east-1/dynamodb/aws4_request, \
                         SignedHeaders=host, Signature=0"
                    ),
                )
                .body(body.to_string())
                .send()
                .await
                .map_err(|e| Error::Emulator(format!("{operation}: {e}")))?;
            let status = answer.status();
            let text = answer
                .text()
                .await
                .map_err(|e| Error::Emulator(format!("{operation} body: {e}")))?;
            if !status.is_success() {
                return Err(Error::Aws {
                    operation,
                    message: format!("HTTP {status}: {text}"),
                });
            }
            serde_json::from_str::<Value>(&text)
                .map_err(|e| Error::BadResponse(format!("{operation}: {e}: {text}")))
        }
    };
    let listed = call("ListStreams", json!({ "TableName": stack.table })).await?;
    let mut records = Vec::new();
    for stream in listed["Streams"].as_array().cloned().unwrap_or_default() {
        let Some(arn) = stream["StreamArn"].as_str() else {
            continue;
        };
        let described = call("DescribeStream", json!({ "StreamArn": arn })).await?;
        for shard in described["StreamDescription"]["Shards"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let iterator = call(
                "GetShardIterator",
                json!({
                    "StreamArn": arn,
                    "ShardId": shard["ShardId"],
                    "ShardIteratorType": "TRIM_HORIZON",
                }),
            )
            .await?;
            let mut next = iterator["ShardIterator"].as_str().map(str::to_owned);
            // Bounded: moto returns everything in one or two pages; an open shard keeps handing iterators out.
            for _ in 0..100 {
                let Some(current) = next.take() else { break };
                let page = call("GetRecords", json!({ "ShardIterator": current })).await?;
                let batch = page["Records"].as_array().cloned().unwrap_or_default();
                if batch.is_empty() {
                    break;
                }
                records.extend(batch);
                next = page["NextShardIterator"].as_str().map(str::to_owned);
            }
        }
    }
    Ok(records)
}

/// DynamoDB JSON of an item, as a stream record's image carries it.
fn image(item: &HashMap<String, AttributeValue>) -> Value {
    let mut image = serde_json::Map::new();
    for (name, value) in item {
        let value = match value {
            AttributeValue::S(v) => json!({ "S": v }),
            AttributeValue::N(v) => json!({ "N": v }),
            AttributeValue::Bool(v) => json!({ "BOOL": v }),
            other => json!({ "NULL": format!("{other:?}").is_empty() }),
        };
        image.insert(name.clone(), value);
    }
    Value::Object(image)
}

/// The stream record DynamoDB writes when `principal` removes `item` (TTL: `dynamodb.amazonaws.com`), as the
/// event source mapping hands it to the expirer.
pub fn removal_record(
    item: &HashMap<String, AttributeValue>,
    sequence: &str,
    principal: &str,
) -> Value {
    json!({
        "eventID": format!("event-{sequence}"),
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"pk": {"S": crate::webhook_stack::s(item, "pk")}, "sk": {"S": crate::webhook_stack::s(item, "sk")}},
            "OldImage": image(item),
            "SequenceNumber": sequence,
            "SizeBytes": 100,
            "StreamViewType": "OLD_IMAGE"
        },
        "userIdentity": {"type": "Service", "principalId": principal},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026"
    })
}
