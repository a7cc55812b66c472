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

/// The erasure scan's part of the cast (tests/tests/erasure_scan.rs): bodies that put a person under other fields
/// and shapes than the privacy test's, and Ottoline on both sides of her number change.
///
/// | fixture | what it shows |
/// |---|---|
/// | `shared_zephyrine_bartholomew.json` | one body, two `changes[]`: `contacts[]` and a text of each, then `contacts[]` and a status of each (Bartholomew's names only his BSUID) |
/// | `echo_to_zephyrine.json` | `smb_message_echoes`: the business's app sends Zephyrine a text, `message_echoes[]` with `from` (the business number) and `to` (her `wa_id`), no `contacts[]` |
/// | `malformed_beside_bartholomew.json` | `contacts[]` of both; two elements of Zephyrine's no record can be made of (a text without `id`, a photo whose media `id` is a number), then a good text of Bartholomew's |
/// | `truncated_zephyrine.json` | a messages body cut off in the middle of `"field"` (not JSON): her `wa_id`, profile name, wamid and text, no BSUID |
/// | `ottoline_before_change.json` | Ottoline writes from her old number: `contacts[]` with the old `wa_id`, the previous BSUID and parent BSUID |
/// | `ottoline_after_change.json` | after `user_changed_number.json`: she writes from her new number, `contacts[]` with the new `wa_id`, the new BSUID and a new parent BSUID |
pub mod erasure_cast {
    /// Zephyrine's further data.
    pub mod zephyrine {
        /// Her text in the body shared with Bartholomew.
        pub const SHARED_TEXT: &str =
            "Please bundle the marigold parcel with the brass lantern order";
        /// What the business wrote her from the WhatsApp Business app (the echo).
        pub const ECHO_TEXT: &str = "Your marigold parcel left the Quayside depot at noon";
        /// Her text without a message id.
        pub const MALFORMED_TEXT: &str = "Resending: the marigold tracking page shows an hourglass";
        /// The caption of her photo whose media id is a number.
        pub const MALFORMED_CAPTION: &str = "Second receipt photo, the marigold label is smudged";
        /// Her text in the truncated body.
        pub const TRUNCATED_TEXT: &str =
            "Zephyrine once more: ring the bell twice at Quayside Lane";
    }

    /// Bartholomew's further data.
    pub mod bartholomew {
        /// His text in the body shared with Zephyrine.
        pub const SHARED_TEXT: &str = "Bartholomew here: does order QX-58213 ship on Friday?";
        /// His good text beside Zephyrine's malformed elements.
        pub const BESIDE_MALFORMED_TEXT: &str =
            "Order QX-58213: the invoice address is correct now";
    }

    /// Ottoline before and after her number change.
    pub mod ottoline {
        /// Her text from the old number, before the change.
        pub const BEFORE_TEXT: &str =
            "Ottoline here: the quince jam crate should go to Fernhill Road";
        /// Her text from the new number, after the change.
        pub const AFTER_TEXT: &str =
            "New number, same Ottoline: please confirm the quince jam crate";
        pub(crate) const PARENT_SEED_AFTER: &str = "ottoline-after-parent";
    }
}

/// The bodies the erasure scan adds to [`FIXTURES`], in posting order.
pub const ERASURE_FIXTURES: &[&str] = &[
    "shared_zephyrine_bartholomew",
    "echo_to_zephyrine",
    "malformed_beside_bartholomew",
    "truncated_zephyrine",
];

/// Ottoline across her number change, in the order Meta sends them (`user_changed_number` is one of [`FIXTURES`]).
pub const NUMBER_CHANGE_FIXTURES: &[&str] = &[
    "ottoline_before_change",
    "user_changed_number",
    "ottoline_after_change",
];

/// Every fixture of the folder once, in posting order: [`FIXTURES`], [`ERASURE_FIXTURES`], then Ottoline's before
/// and after her change around the `user_changed_number` already posted.
pub fn all_fixture_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = FIXTURES.to_vec();
    names.extend_from_slice(ERASURE_FIXTURES);
    names.extend(
        NUMBER_CHANGE_FIXTURES
            .iter()
            .filter(|name| !names.contains(name))
            .copied()
            .collect::<Vec<_>>(),
    );
    names
}

/// Ottoline's `parent_user_id` after the change (in `contacts[]` of her first message from the new number).
pub fn ottoline_parent_user_id() -> String {
    parent_bsuid("GB", erasure_cast::ottoline::PARENT_SEED_AFTER)
}

/// The wamids of the erasure scan's fixtures.
#[derive(Debug, Clone)]
pub struct ErasureWamids {
    /// Zephyrine's text in the shared body.
    pub zephyrine_shared: String,
    /// The business's message to Zephyrine whose `read` status is in the shared body.
    pub zephyrine_shared_reply: String,
    /// The business's app message to Zephyrine (the echo).
    pub zephyrine_echo: String,
    /// Zephyrine's photo whose media id is a number.
    pub zephyrine_malformed_image: String,
    /// Zephyrine's text in the truncated body.
    pub zephyrine_truncated: String,
    /// Bartholomew's text in the shared body.
    pub bartholomew_shared: String,
    /// The business's message to Bartholomew whose `delivered` status is in the shared body.
    pub bartholomew_shared_reply: String,
    /// Bartholomew's text beside Zephyrine's malformed elements.
    pub bartholomew_beside_malformed: String,
    /// Ottoline's text from her old number.
    pub ottoline_before: String,
    /// Ottoline's text from her new number.
    pub ottoline_after: String,
}

/// The erasure scan's wamids, made by [`wamid`] from each person's number.
pub fn erasure_wamids() -> ErasureWamids {
    ErasureWamids {
        zephyrine_shared: wamid(zephyrine::PHONE, Direction::Inbound, "shared-question"),
        zephyrine_shared_reply: wamid(zephyrine::PHONE, Direction::Outbound, "shared-answer"),
        zephyrine_echo: wamid(zephyrine::PHONE, Direction::Outbound, "app-echo"),
        zephyrine_malformed_image: wamid(zephyrine::PHONE, Direction::Inbound, "malformed-image"),
        zephyrine_truncated: wamid(zephyrine::PHONE, Direction::Inbound, "truncated-text"),
        bartholomew_shared: wamid(
            bartholomew::HIDDEN_PHONE,
            Direction::Inbound,
            "shared-question",
        ),
        bartholomew_shared_reply: wamid(
            bartholomew::HIDDEN_PHONE,
            Direction::Outbound,
            "shared-answer",
        ),
        bartholomew_beside_malformed: wamid(
            bartholomew::HIDDEN_PHONE,
            Direction::Inbound,
            "beside-malformed",
        ),
        ottoline_before: wamid(ottoline::OLD_PHONE, Direction::Inbound, "before-change"),
        ottoline_after: wamid(ottoline::NEW_PHONE, Direction::Inbound, "after-change"),
    }
}

/// Zephyrine as every fixture shows her: all her ids, every wamid of hers or sent to her, her names and every text
/// of her conversations (the business's echo to her included).
pub fn zephyrine_everywhere() -> Person {
    let (ids, more) = (wamids(), erasure_wamids());
    use erasure_cast::zephyrine as z;
    Person {
        phone: Some(zephyrine::PHONE.to_owned()),
        user_ids: vec![zephyrine_user_id(), zephyrine_parent_user_id()],
        wamids: vec![
            ids.text,
            ids.image,
            ids.outbound,
            ids.outbound_failed,
            more.zephyrine_shared,
            more.zephyrine_shared_reply,
            more.zephyrine_echo,
            more.zephyrine_malformed_image,
            more.zephyrine_truncated,
        ],
        names: vec![zephyrine::NAME.to_owned(), zephyrine::USERNAME.to_owned()],
        texts: [
            zephyrine::TEXT,
            zephyrine::CAPTION,
            z::SHARED_TEXT,
            z::ECHO_TEXT,
            z::MALFORMED_TEXT,
            z::MALFORMED_CAPTION,
            z::TRUNCATED_TEXT,
        ]
        .map(str::to_owned)
        .to_vec(),
    }
}

/// Bartholomew as every fixture shows him.
pub fn bartholomew_everywhere() -> Person {
    let (ids, more) = (wamids(), erasure_wamids());
    use erasure_cast::bartholomew as b;
    Person {
        phone: None,
        user_ids: vec![bartholomew_user_id()],
        wamids: vec![
            ids.username_user_text,
            more.bartholomew_shared,
            more.bartholomew_shared_reply,
            more.bartholomew_beside_malformed,
        ],
        names: vec![
            bartholomew::NAME.to_owned(),
            bartholomew::USERNAME.to_owned(),
        ],
        texts: [bartholomew::TEXT, b::SHARED_TEXT, b::BESIDE_MALFORMED_TEXT]
            .map(str::to_owned)
            .to_vec(),
    }
}

/// Ottoline as every fixture shows her, under her old number and under her new one (a [`Person`] holds one phone
/// number), with a label naming no one's data.
pub fn ottoline_everywhere() -> Vec<(&'static str, Person)> {
    let (ids, more) = (wamids(), erasure_wamids());
    use erasure_cast::ottoline as o;
    vec![
        (
            "Ottoline's old number and ids",
            Person {
                phone: Some(ottoline::OLD_PHONE.to_owned()),
                user_ids: vec![
                    ottoline_previous_user_id(),
                    ottoline_previous_parent_user_id(),
                ],
                wamids: vec![ids.number_change, more.ottoline_before],
                names: vec![ottoline::NAME.to_owned()],
                texts: vec![ottoline::SYSTEM_BODY.to_owned(), o::BEFORE_TEXT.to_owned()],
            },
        ),
        (
            "Ottoline's new number and ids",
            Person {
                phone: Some(ottoline::NEW_PHONE.to_owned()),
                user_ids: vec![ottoline_user_id(), ottoline_parent_user_id()],
                wamids: vec![more.ottoline_after],
                names: vec![ottoline::NAME.to_owned()],
                texts: vec![o::AFTER_TEXT.to_owned()],
            },
        ),
    ]
}

/// Fixtures `names` in that order, as (name, body).
pub fn fixtures_named(names: &[&'static str]) -> Result<Vec<(&'static str, Vec<u8>)>> {
    names
        .iter()
        .map(|name| Ok((*name, fixture(name)?)))
        .collect()
}

/// Bodies as Meta would deliver them at `now`: Meta stamps an element when it happened, so no body it delivers
/// carries a `timestamp` later than its delivery. The fixtures' timestamps are fixed (2026-12-02, 09:14 to 09:40
/// UTC); posted before that, they would claim to be sent after an erasure the test runs next. Then every
/// `"timestamp": "<epoch seconds>"` of every body moves back by the same amount, the latest to `margin` seconds
/// before `now` (the order and the spacing of the elements stay); otherwise the bytes are the files' own.
pub fn as_delivered_at(
    bodies: Vec<(&'static str, Vec<u8>)>,
    now: i64,
    margin: i64,
) -> Vec<(&'static str, Vec<u8>)> {
    let latest = bodies
        .iter()
        .flat_map(|(_, body)| timestamps(body))
        .map(|(_, value)| value)
        .max();
    let shift = match latest {
        Some(latest) if latest > now - margin => latest - (now - margin),
        _ => return bodies,
    };
    bodies
        .into_iter()
        .map(|(name, body)| {
            let mut out = Vec::with_capacity(body.len());
            let mut from = 0;
            for (digits, value) in timestamps(&body) {
                out.extend_from_slice(&body[from..digits.start]);
                out.extend_from_slice((value - shift).to_string().as_bytes());
                from = digits.end;
            }
            out.extend_from_slice(&body[from..]);
            (name, out)
        })
        .collect()
}

/// Where each `"timestamp": "<digits>"` value is (the digits' range) and what it says, in order.
fn timestamps(body: &[u8]) -> Vec<(std::ops::Range<usize>, i64)> {
    const FIELD: &[u8] = b"\"timestamp\"";
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = body[at..].windows(FIELD.len()).position(|w| w == FIELD) {
        at += offset + FIELD.len();
        let mut i = at;
        let skip_spaces = |i: &mut usize| {
            while body.get(*i).is_some_and(u8::is_ascii_whitespace) {
                *i += 1;
            }
        };
        skip_spaces(&mut i);
        if body.get(i) != Some(&b':') {
            continue;
        }
        i += 1;
        skip_spaces(&mut i);
        if body.get(i) != Some(&b'"') {
            continue;
        }
        let start = i + 1;
        let end = start
            + body[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        if body.get(end) != Some(&b'"') || end == start {
            continue;
        }
        if let Some(value) = std::str::from_utf8(&body[start..end])
            .ok()
            .and_then(|digits| digits.parse().ok())
        {
            found.push((start..end, value));
        }
    }
    found
}

#[cfg(test)]
mod erasure_cast_tests {
    use super::*;
    use crate::meta_ids::phone_in_wamid;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn json(name: &str) -> Value {
        serde_json::from_slice(&fixture(name).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[track_caller]
    fn at(value: &Value, pointer: &str) -> String {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string at {pointer}"))
            .to_owned()
    }

    #[test]
    fn every_file_of_the_folder_is_posted_once() {
        let mut files: Vec<String> = std::fs::read_dir(fixture_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json"))
            .map(|name| name.trim_end_matches(".json").to_owned())
            .collect();
        files.sort();
        let mut names: Vec<String> = all_fixture_names()
            .iter()
            .map(|n| (*n).to_owned())
            .collect();
        let posted = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), posted, "a fixture posted twice");
        assert_eq!(names, files);
    }

    #[test]
    fn the_erasure_fixtures_carry_the_ids_and_shapes_they_are_named_for() {
        let ids = erasure_wamids();
        let z = &json("shared_zephyrine_bartholomew")["entry"][0]["changes"];
        let (texts, statuses) = (&z[0]["value"], &z[1]["value"]);
        assert_eq!(at(texts, "/contacts/0/wa_id"), zephyrine::PHONE);
        assert_eq!(
            at(texts, "/contacts/0/parent_user_id"),
            zephyrine_parent_user_id()
        );
        assert_eq!(at(texts, "/contacts/1/user_id"), bartholomew_user_id());
        assert!(texts["contacts"][1].get("wa_id").is_none());
        assert_eq!(at(texts, "/messages/0/id"), ids.zephyrine_shared);
        assert_eq!(
            at(texts, "/messages/0/text/body"),
            erasure_cast::zephyrine::SHARED_TEXT
        );
        assert_eq!(at(texts, "/messages/1/id"), ids.bartholomew_shared);
        assert_eq!(at(texts, "/messages/1/from_user_id"), bartholomew_user_id());
        assert_eq!(at(statuses, "/statuses/0/id"), ids.zephyrine_shared_reply);
        assert_eq!(
            at(statuses, "/statuses/0/recipient_user_id"),
            zephyrine_user_id()
        );
        assert_eq!(at(statuses, "/statuses/1/id"), ids.bartholomew_shared_reply);
        assert_eq!(
            at(statuses, "/statuses/1/recipient_user_id"),
            bartholomew_user_id()
        );
        assert!(statuses["statuses"][1].get("recipient_id").is_none());

        let echo = &json("echo_to_zephyrine")["entry"][0]["changes"][0];
        assert_eq!(echo["field"], "smb_message_echoes");
        let element = &echo["value"]["message_echoes"][0];
        assert_eq!(at(element, "/from"), DISPLAY_PHONE_NUMBER);
        assert_eq!(at(element, "/to"), zephyrine::PHONE);
        assert_eq!(at(element, "/id"), ids.zephyrine_echo);
        assert_eq!(
            at(element, "/text/body"),
            erasure_cast::zephyrine::ECHO_TEXT
        );
        assert!(echo["value"].get("contacts").is_none());

        let malformed = &json("malformed_beside_bartholomew")["entry"][0]["changes"][0]["value"];
        let messages = malformed["messages"].as_array().unwrap();
        assert!(messages[0].get("id").is_none(), "a text without id");
        assert_eq!(at(&messages[0], "/from_user_id"), zephyrine_user_id());
        assert_eq!(at(&messages[1], "/id"), ids.zephyrine_malformed_image);
        assert!(
            messages[1]["image"]["id"].is_u64(),
            "a media id of the wrong type"
        );
        assert_eq!(at(&messages[2], "/id"), ids.bartholomew_beside_malformed);
        assert_eq!(at(&messages[2], "/from_user_id"), bartholomew_user_id());

        let truncated = fixture("truncated_zephyrine").unwrap();
        assert!(
            serde_json::from_slice::<Value>(&truncated).is_err(),
            "not JSON"
        );
        let text = String::from_utf8(truncated).unwrap();
        for (what, needle) in [
            ("wa_id", format!("\"wa_id\": \"{}\"", zephyrine::PHONE)),
            ("name", format!("\"name\": \"{}\"", zephyrine::NAME)),
            ("wamid", ids.zephyrine_truncated.clone()),
            ("text", erasure_cast::zephyrine::TRUNCATED_TEXT.to_owned()),
        ] {
            assert!(text.contains(&needle), "truncated body lacks its {what}");
        }
        assert!(
            !text.contains(&zephyrine_user_id()),
            "no BSUID in the truncated body"
        );

        let before = &json("ottoline_before_change")["entry"][0]["changes"][0]["value"];
        assert_eq!(at(before, "/contacts/0/wa_id"), ottoline::OLD_PHONE);
        assert_eq!(
            at(before, "/contacts/0/user_id"),
            ottoline_previous_user_id()
        );
        assert_eq!(
            at(before, "/contacts/0/parent_user_id"),
            ottoline_previous_parent_user_id()
        );
        assert_eq!(at(before, "/messages/0/id"), ids.ottoline_before);
        let after = &json("ottoline_after_change")["entry"][0]["changes"][0]["value"];
        assert_eq!(at(after, "/contacts/0/wa_id"), ottoline::NEW_PHONE);
        assert_eq!(at(after, "/contacts/0/user_id"), ottoline_user_id());
        assert_eq!(
            at(after, "/contacts/0/parent_user_id"),
            ottoline_parent_user_id()
        );
        assert_eq!(at(after, "/messages/0/id"), ids.ottoline_after);
        let change = &json("user_changed_number")["entry"][0]["changes"][0]["value"];
        let sent_at = |v: &Value| at(v, "/messages/0/timestamp").parse::<i64>().unwrap();
        assert!(sent_at(before) < sent_at(change) && sent_at(change) < sent_at(after));

        for (id, phone) in [
            (&ids.zephyrine_shared, zephyrine::PHONE),
            (&ids.zephyrine_shared_reply, zephyrine::PHONE),
            (&ids.zephyrine_echo, zephyrine::PHONE),
            (&ids.zephyrine_malformed_image, zephyrine::PHONE),
            (&ids.zephyrine_truncated, zephyrine::PHONE),
            (&ids.bartholomew_shared, bartholomew::HIDDEN_PHONE),
            (&ids.bartholomew_shared_reply, bartholomew::HIDDEN_PHONE),
            (&ids.bartholomew_beside_malformed, bartholomew::HIDDEN_PHONE),
            (&ids.ottoline_before, ottoline::OLD_PHONE),
            (&ids.ottoline_after, ottoline::NEW_PHONE),
        ] {
            assert_eq!(phone_in_wamid(id).as_deref(), Some(phone), "{id}");
        }
    }

    #[test]
    fn each_person_everywhere_is_in_the_fixtures_and_nobody_else_is_matched() {
        let bodies: Vec<(String, String)> = fixtures_named(&all_fixture_names())
            .unwrap()
            .into_iter()
            .map(|(name, body)| (name.to_owned(), String::from_utf8(body).unwrap()))
            .collect();
        let in_bodies = |person: &Person| -> BTreeSet<String> {
            person
                .exposures(&bodies)
                .into_iter()
                .map(|e| e.place)
                .collect()
        };
        let zephyrine = in_bodies(&zephyrine_everywhere());
        let bartholomew = in_bodies(&bartholomew_everywhere());
        let ottoline: BTreeSet<String> = ottoline_everywhere()
            .iter()
            .flat_map(|(_, person)| in_bodies(person))
            .collect();
        let set = |names: &[&str]| {
            names
                .iter()
                .map(|n| (*n).to_owned())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(
            zephyrine,
            set(&[
                "text",
                "image",
                "status_sent",
                "status_delivered",
                "status_read",
                "status_failed",
                "shared_zephyrine_bartholomew",
                "echo_to_zephyrine",
                "malformed_beside_bartholomew",
                "truncated_zephyrine",
            ])
        );
        assert_eq!(
            bartholomew,
            set(&[
                "username_user_text",
                "shared_zephyrine_bartholomew",
                "malformed_beside_bartholomew",
            ])
        );
        assert_eq!(ottoline, set(NUMBER_CHANGE_FIXTURES));
        // Every needle of each is in some body: a person's list holds nothing the fixtures do not show.
        for (label, person) in [
            ("Zephyrine", zephyrine_everywhere()),
            ("Bartholomew", bartholomew_everywhere()),
        ]
        .into_iter()
        .chain(ottoline_everywhere())
        {
            for needle in person
                .texts
                .iter()
                .chain(&person.names)
                .chain(&person.wamids)
            {
                assert!(
                    bodies
                        .iter()
                        .any(|(_, body)| body.contains(needle.as_str())),
                    "{label}: a needle in no fixture"
                );
            }
        }
    }

    #[test]
    fn delivery_moves_every_timestamp_back_by_one_amount_only_when_one_is_too_late() {
        let bodies = fixtures_named(&["text", "truncated_zephyrine"]).unwrap();
        let latest = 1_796_203_250;
        // Later than every timestamp: the files' bytes.
        assert_eq!(as_delivered_at(bodies.clone(), latest + 600, 600), bodies);
        // Earlier: all move back by the same amount; nothing else changes.
        let moved = as_delivered_at(bodies.clone(), latest, 600);
        for ((_, before), (_, after)) in bodies.iter().zip(&moved) {
            assert_eq!(before.len(), after.len());
            let (old, new) = (timestamps(before), timestamps(after));
            assert_eq!(old.len(), 1);
            assert_eq!(new[0].1, old[0].1 - 600);
            let mut restored = after.clone();
            restored[new[0].0.clone()].copy_from_slice(old[0].1.to_string().as_bytes());
            assert_eq!(&restored, before);
        }
        // `expiration_timestamp` is no element's send time.
        assert_eq!(timestamps(&fixture("status_sent").unwrap()).len(), 1);
    }
}
