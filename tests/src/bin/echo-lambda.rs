//! A tiny Lambda function for testing the emulator and the front door: it answers with the event it got.
//!
//! Knobs, so one binary covers every outcome the emulator must report:
//! - `{"fail": "message"}`: the handler returns an error (`/invocation/{id}/error`);
//! - `{"exit": code}`: the process exits mid-invocation;
//! - `{"sleep_ms": n}`: answers after `n` ms (a slow function, for timeouts);
//!   (each in the event itself, or in the JSON body of an HTTP event)
//! - an HTTP event whose body is `{"respond": {...}}`: answers with that document (an HTTP response);
//! - env `ECHO_LAMBDA_INIT_ERROR=message`: reports `/init/error` and exits, as a runtime whose init failed.

use std::io::{Read as _, Write as _};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    if let Ok(message) = std::env::var("ECHO_LAMBDA_INIT_ERROR") {
        report_init_error(&message)?;
        std::process::exit(1);
    }
    println!("echo-lambda ready");
    lambda_runtime::run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    println!("echo-lambda handling {}", context.request_id);
    // Knobs come from the event itself or, for HTTP events, from its JSON body.
    let body: Value = payload
        .get("body")
        .and_then(Value::as_str)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let knob = |key: &str| payload.get(key).or_else(|| body.get(key)).cloned();
    if let Some(message) = knob("fail") {
        return Err(message.as_str().unwrap_or("failed").to_string().into());
    }
    if let Some(code) = knob("exit").and_then(|c| c.as_i64()) {
        std::process::exit(i32::try_from(code).unwrap_or(1));
    }
    if let Some(ms) = knob("sleep_ms").and_then(|m| m.as_u64()) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    Ok(body.get("respond").cloned().unwrap_or(payload))
}

/// `lambda_runtime` only posts init errors for SnapStart hooks, so post one by hand with a bare HTTP/1.1 request.
fn report_init_error(message: &str) -> Result<(), Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    let body = json!({ "errorType": "EchoInitError", "errorMessage": message }).to_string();
    let mut stream = std::net::TcpStream::connect(&api)?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: EchoInitError\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    if reply.starts_with("HTTP/1.1 202") {
        Ok(())
    } else {
        Err(format!("init/error not accepted: {reply}").into())
    }
}
