//! A realistic cast for privacy tests: the webhook bodies in `tests/fixtures/realistic/` and the people in them.
//!
//! Every id has Meta's real format ([`crate::meta_ids`]): wamids that embed the contact's phone number, BSUIDs,
//! parent BSUIDs. The bodies follow the shapes of ../shared/reference/meta-cloud-api.md §4 and §9, pretty-printed
//! for reading, with `/` escaped as `\/` where Meta escapes it (URLs). Names and texts are ASCII and distinctive,
//! so a by-value check ([`crate::privacy::Person::exposures`]) finds them wherever they went and nothing else.
//!
//! | fixture | what it shows |
//! |---|---|
//! | `text.json` | Zephyrine writes: `contacts[]` with `wa_id`, `user_id`, `parent_user_id`, profile name and `username`; the message has `from` and `from_user_id` |
//! | `image.json` | Zephyrine sends a photo: media `id`, `mime_type`, `sha256` (base64, the real digest of [`image_bytes`]), `caption`, `url` |
//! | `username_user_text.json` | Bartholomew, a username user: no `wa_id`, `from` empty, `from_user_id` set, `contacts[]` with `user_id`, name and username only |
//! | `status_sent.json`, `status_delivered.json`, `status_read.json` | one outbound message to Zephyrine: `recipient_id`, `recipient_user_id`, `recipient_parent_user_id`, `contacts[]` (the username on delivered and read only, as Meta sends it) |
//! | `status_failed.json` | a second outbound message to Zephyrine, sent to her BSUID, failed: no `contacts`, no `recipient_id`, `recipient_user_id` and `recipient_parent_user_id` |
//! | `user_changed_number.json` | Ottoline changes number: a `system` message (no `contacts[]`) from her old number with the new `wa_id`, `previous_user_id` and `previous_parent_user_id`; `from_user_id` is her new BSUID |
//!
//! Assumption: Meta does not document what a username user's wamid embeds; the cast gives Bartholomew a phone
//! number only his wamid carries (as every wamid seen so far embeds the user's number), so a wamid that reaches a
//! key leaks a number the business was never given.

use crate::meta_ids::{bsuid, parent_bsuid, wamid, Direction};
use crate::privacy::Person;
use crate::{Error, Result};
use std::path::PathBuf;

/// The fixtures in the order a test posts them (each is one webhook, as Meta sends them).
pub const FIXTURES: &[&str] = &[
    "text",
    "image",
    "username_user_text",
    "status_sent",
    "status_delivered",
    "status_read",
    "status_failed",
    "user_changed_number",
];

/// The business: Meta's documented example ids (not personal data).
pub const WABA_ID: &str = "102290129340398";
/// The business phone number id.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// The business display number.
pub const DISPLAY_PHONE_NUMBER: &str = "15550783881";

/// Zephyrine: a contact with every id Meta sends.
pub mod zephyrine {
    /// `wa_id` (Germany).
    pub const PHONE: &str = "4915792847163";
    /// `profile.name`.
    pub const NAME: &str = "Zephyrine Quillfeather";
    /// `profile.username`.
    pub const USERNAME: &str = "zephyrine_quill";
    /// Her text message.
    pub const TEXT: &str = "Could the marigold parcel reach Quayside Lane before Thursday evening?";
    /// Her photo's caption.
    pub const CAPTION: &str = "Receipt for the marigold parcel, photographed at the counter";
    /// Seeds of her ids.
    pub(crate) const SEED: &str = "zephyrine";
    pub(crate) const PARENT_SEED: &str = "zephyrine-parent";
}

/// Bartholomew: a username user (no `wa_id` anywhere).
pub mod bartholomew {
    /// The number Meta knows and only his wamid carries (Brazil).
    pub const HIDDEN_PHONE: &str = "5511974638251";
    /// `profile.name`.
    pub const NAME: &str = "Bartholomew Okonkwo-Lindqvist";
    /// `profile.username`.
    pub const USERNAME: &str = "bart.lindqvist";
    /// His text message.
    pub const TEXT: &str = "Hello from a username only account, asking about order QX-58213";
    pub(crate) const SEED: &str = "bartholomew";
}

/// Ottoline: changes her phone number (UK numbers from Ofcom's drama range).
pub mod ottoline {
    /// Her number before the change (`from` of the system message).
    pub const OLD_PHONE: &str = "447700900123";
    /// Her number after the change (`system.wa_id`).
    pub const NEW_PHONE: &str = "447700900456";
    /// Her profile name, as the system message's body names her.
    pub const NAME: &str = "Ottoline Brackenridge";
    /// The system message's body.
    pub const SYSTEM_BODY: &str =
        "User Ottoline Brackenridge changed from 447700900123 to 447700900456";
    pub(crate) const SEED_BEFORE: &str = "ottoline-before";
    pub(crate) const PARENT_SEED_BEFORE: &str = "ottoline-before-parent";
    pub(crate) const SEED_AFTER: &str = "ottoline-after";
}

/// Zephyrine's photo: its media id and MIME type.
pub const IMAGE_MEDIA_ID: &str = "1493318722875446";
/// The photo's MIME type.
pub const IMAGE_MIME_TYPE: &str = "image/jpeg";

/// Zephyrine's `user_id`.
pub fn zephyrine_user_id() -> String {
    bsuid("DE", zephyrine::SEED)
}

/// Zephyrine's `parent_user_id`.
pub fn zephyrine_parent_user_id() -> String {
    parent_bsuid("DE", zephyrine::PARENT_SEED)
}

/// Bartholomew's `user_id`.
pub fn bartholomew_user_id() -> String {
    bsuid("BR", bartholomew::SEED)
}

/// Ottoline's `user_id` before the change (`system.previous_user_id`).
pub fn ottoline_previous_user_id() -> String {
    bsuid("GB", ottoline::SEED_BEFORE)
}

/// Ottoline's `parent_user_id` before the change (`system.previous_parent_user_id`).
pub fn ottoline_previous_parent_user_id() -> String {
    parent_bsuid("GB", ottoline::PARENT_SEED_BEFORE)
}

/// Ottoline's `user_id` after the change (`from_user_id` of the system message).
pub fn ottoline_user_id() -> String {
    bsuid("GB", ottoline::SEED_AFTER)
}

/// The wamids of the fixtures.
#[derive(Debug, Clone)]
pub struct Wamids {
    /// Zephyrine's text.
    pub text: String,
    /// Zephyrine's photo.
    pub image: String,
    /// The business's message to Zephyrine (sent, delivered, read).
    pub outbound: String,
    /// The business's message to Zephyrine's BSUID that failed.
    pub outbound_failed: String,
    /// Bartholomew's text.
    pub username_user_text: String,
    /// Ottoline's `user_changed_number` system message.
    pub number_change: String,
}

/// The fixtures' wamids, made by [`wamid`] from each person's number.
pub fn wamids() -> Wamids {
    Wamids {
        text: wamid(zephyrine::PHONE, Direction::Inbound, "text"),
        image: wamid(zephyrine::PHONE, Direction::Inbound, "image"),
        outbound: wamid(zephyrine::PHONE, Direction::Outbound, "order-update"),
        outbound_failed: wamid(zephyrine::PHONE, Direction::Outbound, "follow-up"),
        username_user_text: wamid(bartholomew::HIDDEN_PHONE, Direction::Inbound, "text"),
        number_change: wamid(ottoline::OLD_PHONE, Direction::Inbound, "number-change"),
    }
}

/// Everyone in the fixtures, with a label naming no one's data: Ottoline twice (the same person under her old
/// and her new number, a [`Person`] holding one phone number).
pub fn people() -> Vec<(&'static str, Person)> {
    let ids = wamids();
    vec![
        (
            "Zephyrine (wa_id, user_id, parent_user_id)",
            Person {
                phone: Some(zephyrine::PHONE.to_owned()),
                user_ids: vec![zephyrine_user_id(), zephyrine_parent_user_id()],
                wamids: vec![ids.text, ids.image, ids.outbound, ids.outbound_failed],
                names: vec![zephyrine::NAME.to_owned(), zephyrine::USERNAME.to_owned()],
                texts: vec![zephyrine::TEXT.to_owned(), zephyrine::CAPTION.to_owned()],
            },
        ),
        (
            "Bartholomew (username user, no wa_id)",
            Person {
                // Not given to the business: the matcher reads it out of his wamid.
                phone: None,
                user_ids: vec![bartholomew_user_id()],
                wamids: vec![ids.username_user_text],
                names: vec![
                    bartholomew::NAME.to_owned(),
                    bartholomew::USERNAME.to_owned(),
                ],
                texts: vec![bartholomew::TEXT.to_owned()],
            },
        ),
        (
            "Ottoline before her number change",
            Person {
                phone: Some(ottoline::OLD_PHONE.to_owned()),
                user_ids: vec![
                    ottoline_previous_user_id(),
                    ottoline_previous_parent_user_id(),
                ],
                wamids: vec![ids.number_change],
                names: vec![ottoline::NAME.to_owned()],
                texts: vec![ottoline::SYSTEM_BODY.to_owned()],
            },
        ),
        (
            "Ottoline after her number change",
            Person {
                phone: Some(ottoline::NEW_PHONE.to_owned()),
                user_ids: vec![ottoline_user_id()],
                ..Person::default()
            },
        ),
    ]
}

/// The bytes the fake Graph API serves for [`IMAGE_MEDIA_ID`]: a JFIF header, 24,000 patterned bytes, the end
/// marker. The fixture's `sha256` is their digest (base64).
pub fn image_bytes() -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00,
    ];
    bytes.extend((0..24_000u32).map(|i| ((i * 31 + 7) % 251) as u8));
    bytes.extend([0xFF, 0xD9]);
    bytes
}

/// The folder of the realistic fixtures.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/realistic")
}

/// The exact bytes of fixture `name` (what Meta would sign and send).
pub fn fixture(name: &str) -> Result<Vec<u8>> {
    let path = fixture_dir().join(format!("{name}.json"));
    std::fs::read(&path).map_err(Error::io(format!("reading {}", path.display())))
}

/// Every fixture in posting order, as (name, body).
pub fn fixtures() -> Result<Vec<(&'static str, Vec<u8>)>> {
    FIXTURES
        .iter()
        .map(|name| Ok((*name, fixture(name)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta_ids::phone_in_wamid;
    use base64::Engine;
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    fn value(name: &str) -> Value {
        let body: Value = serde_json::from_slice(&fixture(name).unwrap()).unwrap();
        assert_eq!(body["object"], "whatsapp_business_account", "{name}");
        let entry = &body["entry"][0];
        assert_eq!(entry["id"], WABA_ID, "{name}");
        let change = &entry["changes"][0];
        assert_eq!(change["field"], "messages", "{name}");
        let value = change["value"].clone();
        assert_eq!(value["messaging_product"], "whatsapp", "{name}");
        assert_eq!(
            value["metadata"]["phone_number_id"], PHONE_NUMBER_ID,
            "{name}"
        );
        assert_eq!(
            value["metadata"]["display_phone_number"], DISPLAY_PHONE_NUMBER,
            "{name}"
        );
        value
    }

    #[track_caller]
    fn at(value: &Value, pointer: &str) -> String {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
            .to_owned()
    }

    #[test]
    fn the_fixtures_carry_the_ids_the_helpers_make() {
        let ids = wamids();
        let text = value("text");
        assert_eq!(at(&text, "/contacts/0/wa_id"), zephyrine::PHONE);
        assert_eq!(at(&text, "/contacts/0/user_id"), zephyrine_user_id());
        assert_eq!(
            at(&text, "/contacts/0/parent_user_id"),
            zephyrine_parent_user_id()
        );
        assert_eq!(at(&text, "/contacts/0/profile/name"), zephyrine::NAME);
        assert_eq!(
            at(&text, "/contacts/0/profile/username"),
            zephyrine::USERNAME
        );
        assert_eq!(at(&text, "/messages/0/from"), zephyrine::PHONE);
        assert_eq!(at(&text, "/messages/0/from_user_id"), zephyrine_user_id());
        assert_eq!(at(&text, "/messages/0/id"), ids.text);
        assert_eq!(at(&text, "/messages/0/text/body"), zephyrine::TEXT);

        let image = value("image");
        assert_eq!(image["contacts"], text["contacts"], "the same contact");
        assert_eq!(at(&image, "/messages/0/id"), ids.image);
        assert_eq!(at(&image, "/messages/0/type"), "image");
        assert_eq!(at(&image, "/messages/0/image/id"), IMAGE_MEDIA_ID);
        assert_eq!(at(&image, "/messages/0/image/mime_type"), IMAGE_MIME_TYPE);
        assert_eq!(at(&image, "/messages/0/image/caption"), zephyrine::CAPTION);
        let digest =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(image_bytes()));
        assert_eq!(at(&image, "/messages/0/image/sha256"), digest);

        let username = value("username_user_text");
        let contact = &username["contacts"][0];
        assert!(contact.get("wa_id").is_none(), "no wa_id: {contact}");
        assert_eq!(at(&username, "/contacts/0/user_id"), bartholomew_user_id());
        assert_eq!(at(&username, "/contacts/0/profile/name"), bartholomew::NAME);
        assert_eq!(
            at(&username, "/contacts/0/profile/username"),
            bartholomew::USERNAME
        );
        assert_eq!(at(&username, "/messages/0/from"), "");
        assert_eq!(
            at(&username, "/messages/0/from_user_id"),
            bartholomew_user_id()
        );
        assert_eq!(at(&username, "/messages/0/id"), ids.username_user_text);
        assert_eq!(at(&username, "/messages/0/text/body"), bartholomew::TEXT);

        for (name, status) in [
            ("status_sent", "sent"),
            ("status_delivered", "delivered"),
            ("status_read", "read"),
        ] {
            let v = value(name);
            assert_eq!(at(&v, "/statuses/0/id"), ids.outbound, "{name}");
            assert_eq!(at(&v, "/statuses/0/status"), status);
            assert_eq!(at(&v, "/statuses/0/recipient_id"), zephyrine::PHONE);
            assert_eq!(at(&v, "/statuses/0/recipient_user_id"), zephyrine_user_id());
            assert_eq!(
                at(&v, "/statuses/0/recipient_parent_user_id"),
                zephyrine_parent_user_id()
            );
            assert_eq!(at(&v, "/contacts/0/wa_id"), zephyrine::PHONE);
            assert_eq!(at(&v, "/contacts/0/user_id"), zephyrine_user_id());
            // Meta leaves the username out of `sent` statuses.
            assert_eq!(
                v.pointer("/contacts/0/profile/username").is_some(),
                status != "sent",
                "{name}"
            );
        }

        let failed = value("status_failed");
        assert!(failed.get("contacts").is_none(), "failed: no contacts");
        let status = &failed["statuses"][0];
        assert!(status.get("recipient_id").is_none(), "sent to the BSUID");
        assert_eq!(at(&failed, "/statuses/0/id"), ids.outbound_failed);
        assert_eq!(at(&failed, "/statuses/0/status"), "failed");
        assert_eq!(
            at(&failed, "/statuses/0/recipient_user_id"),
            zephyrine_user_id()
        );
        assert_eq!(
            at(&failed, "/statuses/0/recipient_parent_user_id"),
            zephyrine_parent_user_id()
        );
        assert!(status["errors"][0]["code"].is_i64());

        let change = value("user_changed_number");
        assert!(change.get("contacts").is_none(), "system: no contacts");
        assert_eq!(at(&change, "/messages/0/from"), ottoline::OLD_PHONE);
        assert_eq!(at(&change, "/messages/0/from_user_id"), ottoline_user_id());
        assert_eq!(at(&change, "/messages/0/id"), ids.number_change);
        assert_eq!(at(&change, "/messages/0/type"), "system");
        assert_eq!(
            at(&change, "/messages/0/system/type"),
            "user_changed_number"
        );
        assert_eq!(
            at(&change, "/messages/0/system/body"),
            ottoline::SYSTEM_BODY
        );
        assert_eq!(at(&change, "/messages/0/system/wa_id"), ottoline::NEW_PHONE);
        assert_eq!(
            at(&change, "/messages/0/system/previous_user_id"),
            ottoline_previous_user_id()
        );
        assert_eq!(
            at(&change, "/messages/0/system/previous_parent_user_id"),
            ottoline_previous_parent_user_id()
        );
    }

    #[test]
    fn every_wamid_embeds_its_persons_number_and_every_person_is_in_some_fixture() {
        let ids = wamids();
        for (id, phone) in [
            (&ids.text, zephyrine::PHONE),
            (&ids.image, zephyrine::PHONE),
            (&ids.outbound, zephyrine::PHONE),
            (&ids.outbound_failed, zephyrine::PHONE),
            (&ids.username_user_text, bartholomew::HIDDEN_PHONE),
            (&ids.number_change, ottoline::OLD_PHONE),
        ] {
            assert_eq!(phone_in_wamid(id).as_deref(), Some(phone), "{id}");
        }
        let bodies: Vec<(String, String)> = fixtures()
            .unwrap()
            .into_iter()
            .map(|(name, body)| (name.to_owned(), String::from_utf8(body).unwrap()))
            .collect();
        for (label, person) in people() {
            assert!(
                !person.exposures(&bodies).is_empty(),
                "{label} is in no fixture"
            );
        }
        // Bartholomew's number is nowhere in clear: only his wamid gives it away.
        assert!(bodies
            .iter()
            .all(|(_, body)| !body.contains(bartholomew::HIDDEN_PHONE)));
    }
}
