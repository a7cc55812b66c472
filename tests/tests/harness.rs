//! Tests of the local-stack toolkit itself: moto, template-driven provisioning, the Runtime API emulator and
//! the HTTP front door. One moto serves the whole binary; each test provisions under its own name suffix.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{HeaderMap, Method, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use wavault_tests::aws::{dynamodb_client, s3_client, sdk_config, secrets_client, sqs_client};
use wavault_tests::http_front::{
    apigw_v2_event, function_url_event, FrontDoorOptions, HttpFrontDoor,
};
use wavault_tests::lambda_emulator::{Invocation, LambdaConfig, LambdaProcess};
use wavault_tests::local_stack::{logical_ids, LocalStack};
use wavault_tests::moto::MotoServer;
use wavault_tests::template::Template;
use wavault_tests::Error;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const META_SECRET: &str =
    r#"{"app_id":"1","app_secret":"s3cr3t","verify_token":"vt","access_token":"EAAG"}"#;
const HASH_KEY: &str = "0123456789abcdef0123456789abcdef";

fn echo_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_echo-lambda"))
}

fn fixture_template() -> Result<Template, Error> {
    Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/template.yaml"))
}

// ---------------------------------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn moto_starts_answers_and_dies_on_drop() -> TestResult {
    let moto = MotoServer::start()?;
    eprintln!(
        "moto_server ready in {:?} on {}",
        moto.startup_time(),
        moto.endpoint()
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], moto.port()));
    assert!(std::net::TcpStream::connect(addr).is_ok());
    moto.reset()?;
    drop(moto);
    // Drop kills and reaps the child before returning, so the port is closed now.
    assert!(std::net::TcpStream::connect(addr).is_err());
    Ok(())
}

#[test]
fn missing_moto_names_the_bootstrap_script() {
    let message = Error::MotoMissing(PathBuf::from("/nowhere/moto_server")).to_string();
    assert!(message.contains("scripts/bootstrap.sh"), "{message}");
}

// ---------------------------------------------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------------------------------------------

/// Compares what moto reports with what the template says, so the check follows the template as it evolves.
async fn assert_matches_template(
    template: &Template,
    sdk: &aws_config::SdkConfig,
    stack: &LocalStack,
) -> TestResult {
    // Table: keys, attribute definitions, GSIs, stream, TTL.
    let table_res = template.resource(logical_ids::RECORDS_TABLE, "AWS::DynamoDB::Table")?;
    let ddb = dynamodb_client(sdk);
    let described = ddb.describe_table().table_name(&stack.table).send().await?;
    let table = described.table().ok_or("no table description")?;
    let keys: Vec<Value> = table
        .key_schema()
        .iter()
        .map(|k| json!({"AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str()}))
        .collect();
    assert_eq!(Some(&Value::Array(keys)), table_res.get(&["KeySchema"]));

    let mut defs: Vec<String> = table
        .attribute_definitions()
        .iter()
        .map(|d| format!("{}:{}", d.attribute_name(), d.attribute_type().as_str()))
        .collect();
    let mut expected_defs: Vec<String> = table_res
        .require(&["AttributeDefinitions"])?
        .as_array()
        .ok_or("AttributeDefinitions is not a list")?
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["AttributeName"].as_str().unwrap_or(""),
                d["AttributeType"].as_str().unwrap_or("")
            )
        })
        .collect();
    defs.sort();
    expected_defs.sort();
    assert_eq!(defs, expected_defs);

    let mut gsis: Vec<Value> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            let mut projection = json!({"ProjectionType": g.projection().and_then(|p| p.projection_type()).map(|t| t.as_str())});
            let non_key = g.projection().map(|p| p.non_key_attributes()).unwrap_or_default();
            if !non_key.is_empty() {
                projection["NonKeyAttributes"] = json!(non_key);
            }
            json!({
                "IndexName": g.index_name(),
                "KeySchema": g.key_schema().iter()
                    .map(|k| json!({"AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str()}))
                    .collect::<Vec<_>>(),
                "Projection": projection,
            })
        })
        .collect();
    let mut expected_gsis: Vec<Value> = table_res
        .get(&["GlobalSecondaryIndexes"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    gsis.sort_by_key(|g| g["IndexName"].to_string());
    expected_gsis.sort_by_key(|g| g["IndexName"].to_string());
    assert_eq!(gsis, expected_gsis);

    let stream = table.stream_specification();
    match table_res.get(&["StreamSpecification", "StreamViewType"]) {
        Some(view) => {
            assert_eq!(stream.map(|s| s.stream_enabled()), Some(true));
            assert_eq!(
                stream
                    .and_then(|s| s.stream_view_type())
                    .map(|v| v.as_str()),
                view.as_str()
            );
            assert!(stack.table_stream_arn.is_some());
        }
        None => assert!(stream.is_none_or(|s| !s.stream_enabled())),
    }

    let ttl = ddb
        .describe_time_to_live()
        .table_name(&stack.table)
        .send()
        .await?;
    let ttl = ttl.time_to_live_description().ok_or("no TTL description")?;
    if let Some(attr) = table_res.get(&["TimeToLiveSpecification", "AttributeName"]) {
        assert_eq!(ttl.attribute_name(), attr.as_str());
        assert_eq!(
            ttl.time_to_live_status().map(|s| s.as_str()),
            Some("ENABLED")
        );
    }

    // Bucket: lifecycle rules read back with the template's ids and days.
    let bucket_res = template.resource(logical_ids::ARCHIVE_BUCKET, "AWS::S3::Bucket")?;
    let s3 = s3_client(sdk);
    let expected_rules = bucket_res
        .get(&["LifecycleConfiguration", "Rules"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !expected_rules.is_empty() {
        let lifecycle = s3
            .get_bucket_lifecycle_configuration()
            .bucket(&stack.bucket)
            .send()
            .await?;
        assert_eq!(lifecycle.rules().len(), expected_rules.len());
        for expected in &expected_rules {
            let id = expected["Id"].as_str();
            let rule = lifecycle
                .rules()
                .iter()
                .find(|r| r.id() == id)
                .ok_or(format!("rule {id:?} missing"))?;
            assert_eq!(
                rule.status().as_str(),
                expected["Status"].as_str().unwrap_or("")
            );
            assert_eq!(
                rule.expiration().and_then(|e| e.days()).map(i64::from),
                expected.get("ExpirationInDays").and_then(Value::as_i64)
            );
            assert_eq!(
                rule.abort_incomplete_multipart_upload()
                    .and_then(|a| a.days_after_initiation())
                    .map(i64::from),
                expected
                    .pointer("/AbortIncompleteMultipartUpload/DaysAfterInitiation")
                    .and_then(Value::as_i64)
            );
            assert_eq!(
                rule.noncurrent_version_expiration()
                    .and_then(|n| n.noncurrent_days())
                    .map(i64::from),
                expected
                    .pointer("/NoncurrentVersionExpiration/NoncurrentDays")
                    .and_then(Value::as_i64)
            );
            if let Some(prefix) = expected.get("Prefix").and_then(Value::as_str) {
                let got = rule.filter().and_then(|f| f.prefix());
                assert_eq!(got, Some(prefix));
            }
        }
    }

    // Queues: redrive to the DLQ with the template's maxReceiveCount.
    let queue_res = template.resource(logical_ids::MEDIA_QUEUE, "AWS::SQS::Queue")?;
    let sqs = sqs_client(sdk);
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&stack.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await?;
    let attrs = attrs.attributes().ok_or("no queue attributes")?;
    let redrive: Value = serde_json::from_str(
        attrs
            .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .ok_or("no RedrivePolicy")?,
    )?;
    assert_eq!(redrive["deadLetterTargetArn"], json!(stack.dlq_arn));
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        queue_res
            .opt_i64(&["RedrivePolicy", "maxReceiveCount"])?
            .ok_or("no maxReceiveCount")?
            .to_string()
    );
    if let Some(vt) = queue_res.opt_i64(&["VisibilityTimeout"])? {
        assert_eq!(
            attrs
                .get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                .map(String::as_str),
            Some(vt.to_string().as_str())
        );
    }

    // Secrets hold what the caller gave.
    let secrets = secrets_client(sdk);
    let meta = secrets
        .get_secret_value()
        .secret_id(&stack.meta_secret_id)
        .send()
        .await?;
    assert_eq!(meta.secret_string(), Some(META_SECRET));
    let key = secrets
        .get_secret_value()
        .secret_id(&stack.contact_hash_secret_id)
        .send()
        .await?;
    assert_eq!(key.secret_string(), Some(HASH_KEY));
    Ok(())
}

#[tokio::test]
async fn provisions_the_fixture_template() -> TestResult {
    let moto = MotoServer::shared()?;
    let sdk = sdk_config(&moto.endpoint());
    let template = fixture_template()?;
    let stack =
        LocalStack::provision_from(&template, &sdk, "fixture", META_SECRET, HASH_KEY).await?;
    assert_matches_template(&template, &sdk, &stack).await?;

    // The checker is not vacuous: spot-check the fixture's literal values.
    let described = dynamodb_client(&sdk)
        .describe_table()
        .table_name(&stack.table)
        .send()
        .await?;
    let table = described.table().ok_or("no table")?;
    assert_eq!(table.key_schema()[0].attribute_name(), "wamid");
    assert_eq!(
        table.global_secondary_indexes()[0].index_name(),
        Some("by-contact")
    );
    let lifecycle = s3_client(&sdk)
        .get_bucket_lifecycle_configuration()
        .bucket(&stack.bucket)
        .send()
        .await?;
    let media = lifecycle
        .rules()
        .iter()
        .find(|r| r.id() == Some("expire-media"))
        .ok_or("no expire-media rule")?;
    assert_eq!(media.expiration().and_then(|e| e.days()), Some(30));
    // Versioning is applied too, but not read back here: moto 5.2.5 answers GetBucketVersioning with a
    // `GetBucketVersioningResponse` XML root, which the Rust SDK rejects (real S3 sends `VersioningConfiguration`).
    let env = stack.function_env(
        wavault_tests::iam::Principal::Webhook,
        &moto.endpoint(),
        "http://127.0.0.1:9",
    )?;
    let get = |k: &str| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("RECORDS_TABLE"), Some(stack.table.as_str()));
    assert_eq!(get("RETENTION_DAYS"), Some("30"));
    assert_eq!(get("GRAPH_API_VERSION"), Some("v23.0"));
    // Through the IAM gateway in front of moto, as the webhook's principal.
    let gateway = stack.gateway()?;
    assert_eq!(get("AWS_ENDPOINT_URL"), Some(gateway.endpoint().as_str()));
    assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("wv.webhook.fixture"));

    // Parameters flow through: a different retention gives different lifecycle days and env.
    let short = fixture_template()?.with_parameter("RetentionDays", 7);
    let stack7 =
        LocalStack::provision_from(&short, &sdk, "fixture-short", META_SECRET, HASH_KEY).await?;
    let lifecycle = s3_client(&sdk)
        .get_bucket_lifecycle_configuration()
        .bucket(&stack7.bucket)
        .send()
        .await?;
    assert!(lifecycle
        .rules()
        .iter()
        .filter_map(|r| r.expiration())
        .all(|e| e.days() == Some(7)));
    assert_eq!(stack7.retention_days, 7);
    Ok(())
}

#[tokio::test]
async fn provisions_the_project_template() -> TestResult {
    let path = Template::project_path();
    if !path.exists() {
        eprintln!("{} does not exist yet; nothing to check", path.display());
        return Ok(());
    }
    let moto = MotoServer::shared()?;
    let sdk = sdk_config(&moto.endpoint());
    let template = Template::project()?;
    let stack = LocalStack::provision(&sdk, "project", META_SECRET, HASH_KEY).await?;
    assert_matches_template(&template, &sdk, &stack).await
}

#[tokio::test]
async fn bad_suffix_is_rejected_before_any_call() -> TestResult {
    let sdk = sdk_config("http://127.0.0.1:9");
    let err = LocalStack::provision_from(&fixture_template()?, &sdk, "Bad_Suffix", "{}", "k").await;
    assert!(matches!(err, Err(Error::InvalidSuffix(_))));
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Lambda Runtime API emulator
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn emulator_runs_many_invocations_on_one_process() -> TestResult {
    let lambda = LambdaProcess::spawn(&echo_binary(), &[("EXTRA".to_string(), "1".to_string())])?;
    let cold = lambda.wait_for_first_poll(Duration::from_secs(30)).await?;
    eprintln!("echo-lambda first poll after {cold:?}");
    assert_eq!(lambda.first_poll_latency(), Some(cold));
    for i in 0..5 {
        let event = json!({"n": i, "nested": {"text": "héllo"}});
        let started = Instant::now();
        let outcome = lambda.invoke(event.clone()).await?;
        assert_eq!(outcome, Invocation::Ok(event));
        if i == 4 {
            eprintln!("warm echo invocation took {:?}", started.elapsed());
        }
    }
    let logs = lambda.logs();
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("echo-lambda handling"))
            .count(),
        5,
        "{logs:#?}"
    );
    assert!(lambda.exit_status().is_none());
    Ok(())
}

#[tokio::test]
async fn emulator_reports_function_errors_timeouts_and_exits() -> TestResult {
    assert!(matches!(
        LambdaProcess::spawn(Path::new("/nonexistent/bootstrap"), &[]),
        Err(Error::Io { .. })
    ));
    let lambda = LambdaProcess::spawn(&echo_binary(), &[])?;

    match lambda.invoke(json!({"fail": "boom"})).await? {
        Invocation::FunctionError(e) => {
            assert_eq!(e.error_message, "boom");
            assert!(!e.error_type.is_empty());
        }
        other => return Err(format!("expected a function error, got {other:?}").into()),
    }

    // A slow invocation times out; the process carries on and serves the next one.
    let slow = lambda
        .invoke_with_timeout(json!({"sleep_ms": 1500}), Duration::from_millis(200))
        .await;
    assert!(matches!(slow, Err(Error::InvokeTimeout { .. })), "{slow:?}");
    assert_eq!(
        lambda.invoke(json!({"after": "timeout"})).await?,
        Invocation::Ok(json!({"after": "timeout"}))
    );

    let exit = lambda.invoke(json!({"exit": 3})).await;
    match exit {
        Err(Error::LambdaExited { status, .. }) => assert_eq!(status, "exit code 3"),
        other => return Err(format!("expected an exit, got {other:?}").into()),
    }
    // Later invocations fail fast instead of waiting for the timeout.
    let started = Instant::now();
    assert!(matches!(
        lambda.invoke(json!({})).await,
        Err(Error::LambdaExited { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(1));
    Ok(())
}

#[tokio::test]
async fn emulator_reports_init_errors() -> TestResult {
    let config = LambdaConfig {
        function_name: Some("broken".to_string()),
        timeout: Duration::from_secs(20),
        ..LambdaConfig::default()
    };
    let env = [(
        "ECHO_LAMBDA_INIT_ERROR".to_string(),
        "no config".to_string(),
    )];
    let lambda = LambdaProcess::spawn_with(&echo_binary(), &env, config)?;
    match lambda.invoke(json!({})).await? {
        Invocation::InitError(e) => {
            assert_eq!(e.error_type, "EchoInitError");
            assert_eq!(e.error_message, "no config");
        }
        other => return Err(format!("expected an init error, got {other:?}").into()),
    }
    assert!(lambda.init_error().is_some());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP front door and event shapes
// ---------------------------------------------------------------------------------------------------------------

/// A one-shot HTTP/1.1 request, as curl would send it.
async fn http(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(StatusCode, HeaderMap, Bytes), Box<dyn std::error::Error + Send + Sync>> {
    let uri: hyper::Uri = url.parse()?;
    let authority = uri.authority().ok_or("no authority")?.to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header("host", &authority)
        .header("user-agent", "curl/8.5.0");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = sender
        .send_request(req.body(Full::new(Bytes::copy_from_slice(body)))?)
        .await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}

#[tokio::test]
async fn front_door_turns_http_into_events_and_back() -> TestResult {
    let lambda = Arc::new(LambdaProcess::spawn(&echo_binary(), &[])?);
    let door = HttpFrontDoor::start(lambda.clone(), "/webhook")?;
    assert!(door.url().ends_with("/webhook"));

    // A Meta-style POST: the echo returns the event, which API Gateway would send back as a JSON 200.
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let (status, headers, reply) = http(
        Method::POST,
        &format!("{}?a=1&a=2&b=x%20y", door.url()),
        &[
            ("Content-Type", "application/json"),
            ("X-Hub-Signature-256", "sha256=abc"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
        ],
        body,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let event: Value = serde_json::from_slice(&reply)?;
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/webhook");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y");
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "1,2", "b": "x y"})
    );
    assert_eq!(event["headers"]["x-hub-signature-256"], "sha256=abc");
    assert_eq!(event["headers"]["x-multi"], "1,2");
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["http"]["userAgent"], "curl/8.5.0");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["body"].as_str().map(str::as_bytes), Some(&body[..]));

    // A binary body arrives base64-encoded.
    let binary = [0u8, 159, 146, 150, 255];
    let (_, _, reply) = http(Method::POST, &door.url(), &[], &binary).await?;
    let event: Value = serde_json::from_slice(&reply)?;
    assert_eq!(event["isBase64Encoded"], true);
    use base64::Engine as _;
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(event["body"].as_str().unwrap_or(""))?;
    assert_eq!(decoded, binary);

    // A payload-2.0 response document maps to status, headers and body.
    let respond =
        json!({"respond": {"statusCode": 201, "headers": {"x-a": "1"}, "body": "created"}})
            .to_string();
    let (status, headers, reply) = http(Method::POST, &door.url(), &[], respond.as_bytes()).await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers.get("x-a").map(|v| v.as_bytes()), Some(&b"1"[..]));
    assert_eq!(&reply[..], b"created");

    // Outside the route prefix: API Gateway's 404, and the function is not invoked.
    let before = lambda.logs().len();
    let (status, _, _) = http(
        Method::GET,
        &format!("http://{}/elsewhere", door.addr()),
        &[],
        b"",
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(lambda.logs().len(), before);

    // A function error is API Gateway's 500, not the error text.
    let (status, _, reply) = http(
        Method::POST,
        &door.url(),
        &[],
        br#"{"fail": "secret detail"}"#,
    )
    .await?;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!String::from_utf8_lossy(&reply).contains("secret detail"));
    Ok(())
}

#[tokio::test]
async fn front_door_can_always_base64() -> TestResult {
    let lambda = Arc::new(LambdaProcess::spawn(&echo_binary(), &[])?);
    let door = HttpFrontDoor::start_with(
        lambda,
        FrontDoorOptions {
            route_prefix: "/".to_string(),
            always_base64: true,
            ..FrontDoorOptions::default()
        },
    )?;
    let (_, _, reply) = http(
        Method::POST,
        &format!("{}/any/path", door.url()),
        &[],
        b"text",
    )
    .await?;
    let event: Value = serde_json::from_slice(&reply)?;
    assert_eq!(event["rawPath"], "/any/path");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "dGV4dA==");
    Ok(())
}

#[test]
fn events_deserialize_as_lambda_http_reads_them() -> TestResult {
    use lambda_http::request::LambdaRequest;
    use lambda_http::RequestExt as _;

    let headers = [
        ("Content-Type", "application/json"),
        ("X-Hub-Signature-256", "sha256=ab"),
        ("Cookie", "a=1; b=2"),
    ];
    for (event, binary) in [
        (
            apigw_v2_event(
                "POST",
                "/webhook",
                "hub.mode=subscribe&x=%2F",
                &headers,
                br#"{"k":1}"#,
                false,
            ),
            false,
        ),
        (
            function_url_event(
                "POST",
                "/webhook",
                "hub.mode=subscribe&x=%2F",
                &headers,
                b"\x00\xffbin",
                false,
            ),
            true,
        ),
        (
            apigw_v2_event(
                "POST",
                "/webhook",
                "hub.mode=subscribe&x=%2F",
                &headers,
                b"forced",
                true,
            ),
            true,
        ),
    ] {
        // The typed event structs accept the shapes...
        serde_json::from_value::<aws_lambda_events::apigw::ApiGatewayV2httpRequest>(event.clone())?;
        serde_json::from_value::<aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest>(
            event.clone(),
        )?;
        // ...and lambda_http turns them into the request a handler sees.
        let parsed: LambdaRequest = serde_json::from_value(event.clone())?;
        assert!(matches!(parsed, LambdaRequest::ApiGatewayV2(_)));
        let request = lambda_http::http::Request::<lambda_http::Body>::from(parsed);
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri().path(), "/webhook");
        assert_eq!(request.uri().query(), Some("hub.mode=subscribe&x=%2F"));
        assert_eq!(request.query_string_parameters().first("x"), Some("/"));
        assert_eq!(
            request
                .headers()
                .get("x-hub-signature-256")
                .map(|v| v.as_bytes()),
            Some(&b"sha256=ab"[..])
        );
        assert_eq!(
            request.headers().get("cookie").map(|v| v.as_bytes()),
            Some(&b"a=1; b=2"[..])
        );
        let body = request.body().to_vec();
        match (binary, event["isBase64Encoded"].as_bool()) {
            (true, Some(true)) => assert!(matches!(request.body(), lambda_http::Body::Binary(_))),
            (false, Some(false)) => assert_eq!(body, br#"{"k":1}"#),
            other => return Err(format!("unexpected encoding {other:?}").into()),
        }
    }
    let url_event = function_url_event("GET", "/", "", &[("a", "b")], b"", false);
    assert!(url_event["requestContext"]["domainName"]
        .as_str()
        .is_some_and(|d| d.ends_with(".lambda-url.us-east-1.on.aws")));
    Ok(())
}
