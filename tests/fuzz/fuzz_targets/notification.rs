//! Notification parsing (`wavault_core::webhook::parse`, read leniently by `wavault_core::lenient`) on arbitrary
//! bodies.
//!
//! Checks that a body parses exactly when it is a JSON object whose `object` is `whatsapp_business_account` with
//! a list `entry` (or none): whatever drifted inside it costs at most the element that holds it, never the body;
//! that every entry and change is found again as sent (`raw_entry`, `raw_change`) and an unreadable one is one
//! that cannot be read; and that the lean planning views and the full model agree on what identifies an element.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use wavault_core::webhook::parse::{
    parse_message, parse_message_view, parse_messages_value, parse_notification, parse_status,
    parse_status_view, raw_change, raw_entry, raw_field, WHATSAPP_OBJECT,
};
use wavault_core::webhook::ParseError;

/// True when an object has a key given twice among `keys` (serde's derived structs refuse a field given twice;
/// `Value` keeps the last).
fn repeats_a_key(raw: &str, keys: &[&str]) -> bool {
    struct Keys<'k>(&'k [&'k str]);
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = Vec::new();
            let mut repeated = false;
            while let Some((key, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                if self.0.contains(&key.as_str()) {
                    repeated |= seen.contains(&key);
                    seen.push(key);
                }
            }
            Ok(repeated)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    de.deserialize_map(Keys(keys)).unwrap_or(false)
}

/// True when any object, at any depth, gives a key twice.
fn repeats_anywhere(raw: &str) -> bool {
    struct Any;
    impl<'de> serde::de::DeserializeSeed<'de> for Any {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Any {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let (mut seen, mut repeated) = (std::collections::HashSet::new(), false);
            while let Some(key) = map.next_key::<String>()? {
                repeated |= !seen.insert(key);
                repeated |= map.next_value_seed(Any)?;
            }
            Ok(repeated)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut repeated = false;
            while let Some(inner) = seq.next_element_seed(Any)? {
                repeated |= inner;
            }
            Ok(repeated)
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    serde::de::DeserializeSeed::deserialize(Any, &mut de).unwrap_or(false)
}

fuzz_target!(|body: &[u8]| {
    let notification = parse_notification(body);
    // The parser does not check the bytes it skips (fields it does not know) for UTF-8 as a `Value` does: such a
    // body may be a notification to the one and not JSON to the other. Only UTF-8 bodies are compared.
    if std::str::from_utf8(body).is_err() {
        return;
    }
    let document = serde_json::from_slice::<Value>(body).ok();
    let is_notification = document.as_ref().is_some_and(|d| {
        d.get("object").and_then(Value::as_str) == Some(WHATSAPP_OBJECT)
            && d.get("entry").is_none_or(|e| e.is_array() || e.is_null())
    }) && !repeats_a_key(
        std::str::from_utf8(body).unwrap_or(""),
        &["object", "entry"],
    );

    let notification = match notification {
        Ok(notification) => notification,
        Err(ParseError::NotJson { .. }) => {
            assert!(
                !is_notification,
                "a notification failed to parse: a drifted element cost the whole body"
            );
            return;
        }
        Err(ParseError::UnexpectedObject) => {
            // (A body `Value` cannot read may still have an `object` the parser read.)
            assert!(!is_notification);
            return;
        }
    };
    // It parsed: it is one. The parser does not check what it skips as a `Value` does (a number out of `f64`'s
    // range in a field it does not know, say): such a body is a notification with nothing more to compare.
    let Some(document) = document else {
        return;
    };
    assert_eq!(document["object"], WHATSAPP_OBJECT);
    let entries = document["entry"].as_array().map_or(&[][..], Vec::as_slice);
    assert_eq!(notification.entry.len(), entries.len());

    for (e, (entry, entry_doc)) in notification.entry.iter().zip(entries).enumerate() {
        let raw = raw_entry(body, e).expect("every entry is found again");
        assert_eq!(
            serde_json::from_str::<Value>(raw.get()).ok().as_ref(),
            Some(entry_doc)
        );
        let changes_doc = entry_doc.get("changes");
        let readable = entry_doc.is_object()
            && changes_doc.is_none_or(|c| c.is_array() || c.is_null())
            && !repeats_a_key(raw.get(), &["id", "changes"]);
        assert_eq!(entry.unreadable, !readable, "entry {e}: {entry_doc}");
        if entry.unreadable {
            assert!(entry.changes.is_empty());
            continue;
        }
        let changes = changes_doc
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        assert_eq!(entry.changes.len(), changes.len());
        for (c, (change, change_doc)) in entry.changes.iter().zip(changes).enumerate() {
            let raw = raw_change(body, e, c).expect("every change is found again");
            assert_eq!(
                serde_json::from_str::<Value>(raw.get()).ok().as_ref(),
                Some(change_doc)
            );
            let readable = change_doc.is_object()
                && change_doc.get("field").is_none_or(Value::is_string)
                && !repeats_a_key(raw.get(), &["field", "value"]);
            assert_eq!(change.unreadable, !readable, "change {e}.{c}: {change_doc}");
            if change.unreadable {
                continue;
            }
            assert_eq!(
                change.field.as_deref(),
                change_doc.get("field").and_then(Value::as_str)
            );
            let Some(value) = change.value else {
                continue;
            };
            let value_doc =
                serde_json::from_str::<Value>(value.get()).expect("a raw value is JSON");
            let Some(messages_value) = parse_messages_value(value.get()) else {
                // Documented: a value giving a field twice (at any depth of what it reads) is one
                // unreadable item.
                assert!(
                    !value_doc.is_object() || repeats_anywhere(value.get()),
                    "a messages value that is an object was not read: {value_doc}"
                );
                continue;
            };
            for (array, elements) in [
                ("messages", &messages_value.messages),
                ("statuses", &messages_value.statuses),
                ("errors", &messages_value.errors),
            ] {
                let field = value_doc.get(array);
                let listed = field.is_none_or(|f| f.is_array() || f.is_null());
                assert_eq!(elements.not_a_list, !listed, "{array}: {field:?}");
                if elements.not_a_list {
                    let raw =
                        raw_field(value.get(), array).expect("a field not a list is found again");
                    assert_eq!(
                        serde_json::from_str::<Value>(raw.get()).ok().as_ref(),
                        field
                    );
                }
                let docs = field
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                assert_eq!(elements.len(), docs.len());
                for (raw, doc) in elements.iter().zip(docs) {
                    assert_eq!(
                        serde_json::from_str::<Value>(raw.get()).ok().as_ref(),
                        Some(doc)
                    );
                }
            }
            for raw in messages_value.messages.iter() {
                let view = parse_message_view(raw.get());
                let model = parse_message(raw.get());
                let doc = serde_json::from_str::<Value>(raw.get()).expect("an element is JSON");
                assert!(view.is_none() || doc.is_object());
                if doc.is_object() && !repeats_anywhere(raw.get()) {
                    assert!(view.is_some(), "a message object was not read: {doc}");
                }
                if let (Some(view), Some(model)) = (&view, &model) {
                    assert_eq!(view.id.as_deref(), Some(model.id.as_str()));
                    assert_eq!(view.kind.as_deref(), model.kind.as_deref());
                    assert_eq!(view.from.as_deref(), model.from.as_deref());
                }
                if let Some(view) = &view {
                    // The id the record is keyed by is the element's string id.
                    assert_eq!(
                        view.message_id(),
                        doc.get("id")
                            .and_then(Value::as_str)
                            .filter(|id| !id.is_empty())
                    );
                }
            }
            for raw in messages_value.statuses.iter() {
                let view = parse_status_view(raw.get());
                let model = parse_status(raw.get());
                let doc = serde_json::from_str::<Value>(raw.get()).expect("an element is JSON");
                if let (Some(view), Some(model)) = (&view, &model) {
                    assert_eq!(view.id.as_deref(), Some(model.id.as_str()));
                }
                if let Some(view) = &view {
                    let text =
                        |f: &str| doc.get(f).and_then(Value::as_str).filter(|v| !v.is_empty());
                    assert_eq!(view.key(), text("id").zip(text("status")));
                }
            }
        }
    }
});
