use super::*;
use serde_json::json;

const BUSINESS: &str = "15550783881";
const ZEPH: &str = "4915792847163";
const ZEPH_USER: &str = "DE.40218842137731880155";
const ZEPH_PARENT: &str = "DE.ENT.50618862330087147811";
const OTTO_OLD: &str = "447700900123";
const OTTO_NEW: &str = "447700900456";
const OTTO_USER: &str = "GB.89118628620296549972";
const OTTO_PREVIOUS_USER: &str = "GB.48523273582410483772";
const OTTO_PREVIOUS_PARENT: &str = "GB.ENT.75620901812388838039";

fn id(kind: ContactIdKind, id: &str) -> MentionedId {
    MentionedId {
        kind,
        id: id.to_owned(),
    }
}

fn body(field: &str, value: Value) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}]
    })
    .to_string()
    .into_bytes()
}

fn metadata() -> Value {
    json!({"display_phone_number": BUSINESS, "phone_number_id": "106540352242922"})
}

#[test]
fn a_message_and_its_contacts_entry_are_one_person_and_the_business_is_none() {
    let mentions = mentions(&body(
        "messages",
        json!({
            "metadata": metadata(),
            "contacts": [{"profile": {"name": "Z"}, "wa_id": ZEPH, "user_id": ZEPH_USER, "parent_user_id": ZEPH_PARENT}],
            // The reply context names the business's own number: not a contact.
            "messages": [{"from": ZEPH, "from_user_id": ZEPH_USER, "id": "wamid.X", "type": "text",
                          "context": {"from": BUSINESS, "id": "wamid.Y"}}],
        }),
    ));
    assert_eq!(mentions.people.len(), 1);
    assert_eq!(
        mentions.people[0].ids,
        vec![
            id(ContactIdKind::WaId, ZEPH),
            id(ContactIdKind::UserId, ZEPH_USER),
            id(ContactIdKind::ParentUserId, ZEPH_PARENT),
        ]
    );
}

#[test]
fn a_number_change_joins_the_old_and_new_ids() {
    let mentions = mentions(&body(
        "messages",
        json!({
            "metadata": metadata(),
            "messages": [{
                "from": OTTO_OLD, "from_user_id": OTTO_USER, "id": "wamid.Z", "type": "system",
                "system": {"body": "changed", "wa_id": OTTO_NEW, "type": "user_changed_number",
                           "previous_user_id": OTTO_PREVIOUS_USER, "previous_parent_user_id": OTTO_PREVIOUS_PARENT}
            }],
        }),
    ));
    assert_eq!(mentions.people.len(), 1);
    let person = &mentions.people[0];
    assert_eq!(
        person.ids_of(ContactIdKind::WaId).collect::<Vec<_>>(),
        [OTTO_OLD, OTTO_NEW]
    );
    assert_eq!(
        person.ids_of(ContactIdKind::UserId).collect::<Vec<_>>(),
        [OTTO_PREVIOUS_USER, OTTO_USER]
    );
    assert_eq!(
        person
            .ids_of(ContactIdKind::ParentUserId)
            .collect::<Vec<_>>(),
        [OTTO_PREVIOUS_PARENT]
    );
}

#[test]
fn other_system_messages_join_nothing() {
    let mentions = mentions(&body(
        "messages",
        json!({"messages": [{"from": OTTO_OLD, "type": "system",
                             "system": {"type": "customer_identity_changed", "wa_id": OTTO_NEW}}]}),
    ));
    assert_eq!(mentions.people.len(), 2);
}

#[test]
fn every_field_counts_echoes_preferences_and_shared_cards() {
    let mentions = mentions(&body(
        "smb_message_echoes",
        json!({
            "metadata": metadata(),
            "message_echoes": [{"from": BUSINESS, "to": ZEPH, "id": "wamid.E", "type": "contacts",
                                "contacts": [{"name": {"formatted_name": "O"}, "phones": [{"phone": "+44 7700 900456", "wa_id": OTTO_NEW}]}]}],
            "user_preferences": [{"wa_id": "5511974638251", "category": "marketing_messages", "value": "stop"}],
        }),
    ));
    let people: Vec<Vec<MentionedId>> = mentions.people.iter().map(|p| p.ids.clone()).collect();
    assert_eq!(
        people,
        vec![
            vec![id(ContactIdKind::WaId, OTTO_NEW)],
            vec![id(ContactIdKind::WaId, ZEPH)],
            vec![id(ContactIdKind::WaId, "5511974638251")],
        ]
    );
}

#[test]
fn text_that_is_not_json_is_scanned_id_by_id() {
    let text = format!(
        r#"{{"entry": [{{"changes": [{{"value": {{"metadata": {{"display_phone_number": "{BUSINESS}"}},
           "contacts": [{{"wa_id" : "{ZEPH}", "user_id":"{ZEPH_USER}"}}], "messages": [{{"from": "{BUSINESS}", "#
    );
    let mentions = mentions(text.as_bytes());
    // No link between two ids is trusted from a truncated body: each id is its own person.
    assert_eq!(mentions.people.len(), 2);
    assert!(mentions.person_of(&id(ContactIdKind::WaId, ZEPH)).is_some());
    assert!(mentions
        .person_of(&id(ContactIdKind::UserId, ZEPH_USER))
        .is_some());
    assert!(mentions
        .person_of(&id(ContactIdKind::WaId, BUSINESS))
        .is_none());
}

#[test]
fn wa_ids_are_compared_by_their_digits() {
    let mentions = mentions(&body(
        "messages",
        json!({"contacts": [{"wa_id": "+49 157 92847163"}], "messages": [{"from": ZEPH, "id": "wamid.A"}]}),
    ));
    assert_eq!(mentions.people.len(), 1);
    assert_eq!(mentions.people[0].ids, vec![id(ContactIdKind::WaId, ZEPH)]);
}

#[test]
fn debug_never_shows_an_id() {
    let shown = format!("{:?}", id(ContactIdKind::WaId, ZEPH));
    assert!(!shown.contains(ZEPH), "{shown}");
}
