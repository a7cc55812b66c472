//! Synthetic webhook bodies in Meta's shape, for tests, benchmarks and the demo. The numbers are
//! in the 555 fictional range; nothing here is real user data.

use serde_json::{json, Value};

/// The business phone number id every sample uses.
pub const PHONE_NUMBER_ID: &str = "1234567890";

/// A base64 sha256 in the form webhooks carry.
pub const SAMPLE_SHA256_B64: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

fn envelope(values: Vec<Value>) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": values.into_iter().map(|value| json!({"field": "messages", "value": value})).collect::<Vec<_>>()
        }]
    })
}

fn value(contacts: Vec<Value>, messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15559990000", "phone_number_id": PHONE_NUMBER_ID},
    });
    if let Some(object) = value.as_object_mut() {
        if !contacts.is_empty() {
            object.insert("contacts".into(), Value::Array(contacts));
        }
        if !messages.is_empty() {
            object.insert("messages".into(), Value::Array(messages));
        }
        if !statuses.is_empty() {
            object.insert("statuses".into(), Value::Array(statuses));
        }
    }
    value
}

fn contact(wa_id: &str) -> Value {
    json!({"profile": {"name": "Sample Contact"}, "wa_id": wa_id})
}

/// A text message from `wa_id`.
pub fn text_message(wamid: &str, wa_id: &str, text: &str) -> Value {
    json!({"from": wa_id, "id": wamid, "timestamp": "1763800000", "type": "text", "text": {"body": text}})
}

/// A media message (`kind` = image | audio | video | document | sticker).
pub fn media_message(wamid: &str, wa_id: &str, kind: &str, media_id: &str, mime: &str) -> Value {
    let mut media = json!({"id": media_id, "mime_type": mime, "sha256": SAMPLE_SHA256_B64});
    if kind == "document" {
        media["filename"] = json!("Sample Contact's passport.pdf");
    }
    json!({"from": wa_id, "id": wamid, "timestamp": "1763800000", "type": kind, kind: media})
}

/// A status update for an outbound message.
pub fn status(wamid: &str, wa_id: &str, status: &str) -> Value {
    json!({"id": wamid, "status": status, "timestamp": "1763800001", "recipient_id": wa_id})
}

/// One webhook carrying `messages` from one contact.
pub fn messages_body(wa_id: &str, messages: Vec<Value>) -> Vec<u8> {
    envelope(vec![value(vec![contact(wa_id)], messages, vec![])])
        .to_string()
        .into_bytes()
}

/// One webhook carrying statuses.
pub fn statuses_body(statuses: Vec<Value>) -> Vec<u8> {
    envelope(vec![value(vec![], vec![], statuses)])
        .to_string()
        .into_bytes()
}

/// A one-message text webhook.
pub fn text_body(wamid: &str, wa_id: &str, text: &str) -> Vec<u8> {
    messages_body(wa_id, vec![text_message(wamid, wa_id, text)])
}

/// A batch of `updates` elements as Meta may send in one POST: changes of up to 50 elements,
/// alternating text messages, image messages and statuses, from many contacts.
pub fn batch_body(updates: usize) -> Vec<u8> {
    let mut values = Vec::new();
    let mut produced = 0;
    while produced < updates {
        let n = (updates - produced).min(50);
        let (mut contacts, mut messages, mut statuses) = (vec![], vec![], vec![]);
        for i in produced..produced + n {
            let wa_id = format!("1555{:07}", i % 997);
            match i % 3 {
                0 => {
                    contacts.push(contact(&wa_id));
                    messages.push(text_message(
                        &format!("wamid.batch.{i}"),
                        &wa_id,
                        "Olá, café ☕",
                    ));
                }
                1 => {
                    contacts.push(contact(&wa_id));
                    messages.push(media_message(
                        &format!("wamid.batch.{i}"),
                        &wa_id,
                        "image",
                        &format!("{}", 9_000_000 + i),
                        "image/jpeg",
                    ));
                }
                _ => statuses.push(status(&format!("wamid.out.{i}"), &wa_id, "delivered")),
            }
        }
        values.push(value(contacts, messages, statuses));
        produced += n;
    }
    envelope(values).to_string().into_bytes()
}
