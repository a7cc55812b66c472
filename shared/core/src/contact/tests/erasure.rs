use crate::contact::*;
use serde_json::json;
use serde_json::Value;

const A: &str = "15550001111";
const A_USER: &str = "US.1001";
const B: &str = "15550002222";

fn hasher() -> ContactHasher {
    ContactHasher::new(b"unit-test-contact-hash-key")
}

fn hashes_of(wa_id: Option<&str>, user_id: Option<&str>) -> ContactHashes {
    let ids = ContactIds {
        wa_id: wa_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
    };
    ContactHashes::of(&hasher(), &ids).unwrap()
}

fn body(value: Value) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]
    })
    .to_string()
    .into_bytes()
}

fn contact(wa_id: &str, name: &str) -> Value {
    json!({"profile": {"name": name}, "wa_id": wa_id})
}

fn text_message(id: &str, from: &str, text: &str) -> Value {
    json!({"from": from, "id": id, "type": "text", "text": {"body": text}})
}

fn status(id: &str, recipient: &str) -> Value {
    json!({"id": id, "status": "delivered", "recipient_id": recipient})
}

fn batch() -> Vec<u8> {
    body(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15559990000", "phone_number_id": "1234567890"},
        "contacts": [contact(A, "Alice"), contact(B, "Bob")],
        "messages": [text_message("wamid.A1", A, "from alice"), text_message("wamid.B1", B, "from bob")],
        "statuses": [status("wamid.OUT.A", A), status("wamid.OUT.B", B)],
    }))
}

fn redact(body: &[u8], hashes: &ContactHashes) -> Redaction {
    let hasher = hasher();
    redact_journal(
        body,
        &ContactMatcher {
            hasher: &hasher,
            hashes,
        },
    )
}

fn rewritten(redaction: Redaction) -> Value {
    match redaction {
        Redaction::Rewrite(bytes) => serde_json::from_slice(&bytes).unwrap(),
        other => panic!("expected a rewrite, got {other:?}"),
    }
}

#[test]
fn a_shared_body_keeps_only_the_other_contacts_elements() {
    let redacted = rewritten(redact(&batch(), &hashes_of(Some(A), None)));
    let value = &redacted["entry"][0]["changes"][0]["value"];
    assert_eq!(value["contacts"], json!([contact(B, "Bob")]));
    assert_eq!(
        value["messages"],
        json!([text_message("wamid.B1", B, "from bob")])
    );
    assert_eq!(value["statuses"], json!([status("wamid.OUT.B", B)]));
    assert_eq!(value["metadata"]["phone_number_id"], "1234567890");
    let text = redacted.to_string();
    assert!(!text.contains(A) && !text.contains("Alice") && !text.contains("from alice"));
}

#[test]
fn operator_formatting_of_the_number_does_not_matter() {
    let redacted = rewritten(redact(&batch(), &hashes_of(Some("+1 555-000-1111"), None)));
    assert!(!redacted.to_string().contains(A));
}

#[test]
fn a_body_of_the_contact_alone_is_deleted() {
    let only_a = body(json!({
        "contacts": [contact(A, "Alice")],
        "messages": [text_message("wamid.A1", A, "hi"), text_message("wamid.A2", A, "again")],
    }));
    assert_eq!(
        redact(&only_a, &hashes_of(Some(A), None)),
        Redaction::Delete
    );
    // Value-level errors name nobody: with no message or status left the body goes too.
    let with_error = body(json!({
        "contacts": [contact(A, "Alice")],
        "messages": [text_message("wamid.A1", A, "hi")],
        "errors": [{"code": 131000, "title": "Something went wrong"}],
    }));
    assert_eq!(
        redact(&with_error, &hashes_of(Some(A), None)),
        Redaction::Delete
    );
}

#[test]
fn a_body_without_the_contact_is_unchanged_and_junk_is_left_alone() {
    let only_b = body(json!({
        "contacts": [contact(B, "Bob")],
        "messages": [text_message("wamid.B1", B, "hi")],
    }));
    assert_eq!(
        redact(&only_b, &hashes_of(Some(A), None)),
        Redaction::Unchanged
    );
    assert_eq!(
        redact(b"not json {", &hashes_of(Some(A), None)),
        Redaction::NotJson
    );
    assert_eq!(
        redact(b"[1,2,3]", &hashes_of(Some(A), None)),
        Redaction::Unchanged
    );
}

#[test]
fn user_ids_match_directly_and_through_the_contacts_entry() {
    // A message naming only the business-scoped user id, its wa_id given in contacts[].
    let listed = body(json!({
        "contacts": [{"profile": {"name": "Alice"}, "wa_id": A, "user_id": A_USER}, contact(B, "Bob")],
        "messages": [
            {"from_user_id": A_USER, "id": "wamid.A1", "type": "text", "text": {"body": "hi"}},
            text_message("wamid.B1", B, "hello"),
        ],
    }));
    for hashes in [hashes_of(Some(A), None), hashes_of(None, Some(A_USER))] {
        let redacted = rewritten(redact(&listed, &hashes));
        let value = &redacted["entry"][0]["changes"][0]["value"];
        assert_eq!(value["messages"].as_array().map(Vec::len), Some(1));
        assert_eq!(value["messages"][0]["id"], "wamid.B1");
        assert_eq!(value["contacts"], json!([contact(B, "Bob")]));
    }
    // Statuses with only recipient_user_id.
    let statuses = body(json!({
        "statuses": [
            {"id": "wamid.OUT.A", "status": "read", "recipient_user_id": A_USER},
            status("wamid.OUT.B", B),
        ],
    }));
    let redacted = rewritten(redact(&statuses, &hashes_of(None, Some(A_USER))));
    assert_eq!(
        redacted["entry"][0]["changes"][0]["value"]["statuses"],
        json!([status("wamid.OUT.B", B)])
    );
}

#[test]
fn several_changes_and_entries_are_all_redacted() {
    let two = json!({
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [
                {"field": "messages", "value": {"contacts": [contact(A, "Alice")], "messages": [text_message("wamid.A1", A, "x")]}},
                {"field": "messages", "value": {"statuses": [status("wamid.OUT.B", B)]}},
            ]},
            {"id": "2", "changes": [
                {"field": "messages", "value": {"statuses": [status("wamid.OUT.A", A)]}},
            ]},
        ]
    })
    .to_string()
    .into_bytes();
    let hasher = hasher();
    let hashes = hashes_of(Some(A), None);
    let split = split_journal(
        &two,
        &ContactMatcher {
            hasher: &hasher,
            hashes: &hashes,
        },
    )
    .unwrap();
    assert_eq!(split.remaining, 1);
    assert_eq!(split.contact.messages.len(), 1);
    assert_eq!(split.contact.statuses.len(), 1);
    assert_eq!(split.contact.contacts, vec![contact(A, "Alice")]);
    assert!(!split.rest.to_string().contains(A));
}

#[test]
fn contact_ids_are_checked_without_echoing_them() {
    let hasher = hasher();
    let none = ContactIds::default();
    assert_eq!(
        ContactHashes::of(&hasher, &none).unwrap_err(),
        ContactError::Missing
    );
    let letters = ContactIds {
        wa_id: Some("alice".to_owned()),
        user_id: None,
    };
    let error = ContactHashes::of(&hasher, &letters).unwrap_err();
    assert!(!error.to_string().contains("alice"));
    assert!(!format!("{letters:?}").contains("alice"));
    let hashes = hashes_of(Some(A), None);
    assert_eq!(hashes.audit_id().len(), 16);
    assert!(!hashes
        .audit_id()
        .contains(hashes.wa.first().unwrap().as_str()));
}
