#!/usr/bin/env python3
"""Writes the committed seed corpora (tests/fuzz/seeds/<target>/) from the project's fixtures: every webhook body of
tests/fixtures/{webhooks,drifted,realistic}, compacted, for the parsing and planning targets; a few of them framed
for the signature target and wrapped in API Gateway HTTP API / Function URL events for the HTTP edge's target.
Rerun after adding fixtures: python3 tests/fuzz/make_seeds.py"""
import base64, hashlib, hmac, json, pathlib, shutil

root = pathlib.Path(__file__).resolve().parents[2]
seeds = root / "tests/fuzz/seeds"
bodies = {}
for folder in ("webhooks", "drifted", "realistic"):
    for path in sorted((root / "tests/fixtures" / folder).glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except ValueError:  # a fixture that is not JSON on purpose: as it is
            bodies[f"{folder}-{path.stem}"] = path.read_bytes()
            continue
        bodies[f"{folder}-{path.stem}"] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()

def write(target, name, data):
    (seeds / target).mkdir(parents=True, exist_ok=True)
    (seeds / target / name).write_bytes(data)

for target in ("notification", "plan", "signature", "http_event"):
    shutil.rmtree(seeds / target, ignore_errors=True)
for name, body in bodies.items():
    write("notification", name, body)
    write("plan", name, body)

# signature: [secret length][secret][mutation byte][body]
def framed(secret, mutation, body):
    return bytes([len(secret)]) + secret + bytes([mutation]) + body
write("signature", "text", framed(b"s3cret", 7, bodies["webhooks-text"]))
write("signature", "non-ascii", framed(b"s3cret", 3, "{\"text\":\"Olá 😀 ünïcode\"}".encode()))
write("signature", "realistic-image", framed(b"app-secret-0123456789", 200, bodies["realistic-image"]))
write("signature", "empty-secret", framed(b"", 0, b"{}"))
write("signature", "header-text", b"\x06s3cret\x01sha256=" + b"0" * 64)

SECRET = b"s3cret"
def event(method, body=None, b64=False, headers=None, query=None, function_url=False):
    context = {"http": {"method": method, "path": "/webhook", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1",
                        "userAgent": "facebookexternalua"},
               "accountId": "123456789012", "apiId": "abc", "requestId": "r1", "time": "22/Nov/2026:04:00:00 +0000",
               "timeEpoch": 1}
    doc = {"version": "2.0", "rawPath": "/webhook", "rawQueryString": "", "headers": headers or {},
           "requestContext": context, "isBase64Encoded": b64}
    if not function_url:
        doc.update({"routeKey": "POST /webhook"})
        context.update({"domainName": "abc.execute-api.us-east-1.amazonaws.com", "routeKey": "POST /webhook",
                        "stage": "$default"})
    else:
        context.update({"domainName": "abc.lambda-url.us-east-1.on.aws", "routeKey": "$default", "stage": "$default"})
    if query is not None:
        doc["queryStringParameters"] = query
    if body is not None:
        doc["body"] = body
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()

def signed(body):
    return {"content-type": "application/json",
            "x-hub-signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()}
for name in ("webhooks-text", "webhooks-image", "drifted-drifted_batch", "realistic-user_changed_number"):
    body = bodies[name]
    write("http_event", f"post-{name}", event("POST", body.decode(), headers=signed(body)))
body = bodies["webhooks-batch"]
write("http_event", "post-base64-batch", event("POST", base64.b64encode(body).decode(), True, signed(body)))
body = bodies["realistic-status_read"]
write("http_event", "function-url-status", event("POST", body.decode(), headers=signed(body), function_url=True))
write("http_event", "post-bad-base64", event("POST", "%%%not base64", True))
write("http_event", "post-unsigned", event("POST", "{}", headers={"x-hub-signature-256": "sha256=00"}))
write("http_event", "get-handshake", event("GET", query={"hub.mode": "subscribe", "hub.verify_token": "vt",
                                                         "hub.challenge": "CHALLENGE_ACCEPTED_123"}))
write("http_event", "get-wrong-token", event("GET", query={"hub.mode": "subscribe", "hub.verify_token": "x",
                                                           "hub.challenge": "1"}))
write("http_event", "put", event("PUT", "{}"))
