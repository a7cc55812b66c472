//! Ids in the formats Meta really sends, for fixtures that can show a leak.
//!
//! A wamid is not opaque: `wamid.` + base64 of a small structure that embeds the contact's phone number
//! (../shared/reference/meta-cloud-api.md §9: `HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUZCM0Y0...` decodes to
//! `1c 18 0b "15551234567" 15 02 00 12 18 14 "3AFB3F4..."`). A fixture with `wamid.PII1` cannot show that a wamid
//! reached a key or a log line; one built here carries the digits a privacy check looks for. Business-scoped user
//! ids (BSUID) are a country code, a dot and digits; a parent BSUID has `ENT.` between.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Who sent the message a wamid names: Meta's structure differs in one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The contact wrote to the business.
    Inbound,
    /// The business wrote to the contact (statuses, echoes).
    Outbound,
}

/// A wamid for message `seed` exchanged with `phone` (digits only, with country code), in Meta's layout.
pub fn wamid(phone: &str, direction: Direction, seed: &str) -> String {
    let digest = Sha256::digest(format!("{phone}/{seed}").as_bytes());
    let message_id = hex::encode_upper(&digest[..10]);
    let mut raw = vec![0x1c, 0x18, phone.len() as u8];
    raw.extend_from_slice(phone.as_bytes());
    raw.extend_from_slice(&[
        0x15,
        0x02,
        0x00,
        match direction {
            Direction::Inbound => 0x12,
            Direction::Outbound => 0x11,
        },
        0x18,
        message_id.len() as u8,
    ]);
    raw.extend_from_slice(message_id.as_bytes());
    raw.push(0x00);
    format!(
        "wamid.{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The phone number a wamid embeds, if it has Meta's layout (what anyone holding the id can read).
pub fn phone_in_wamid(wamid: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(wamid.strip_prefix("wamid.")?)
        .ok()?;
    let length = usize::from(*raw.get(2)?);
    if raw.first() != Some(&0x1c) || raw.get(1) != Some(&0x18) {
        return None;
    }
    let digits = raw.get(3..3 + length)?;
    digits
        .iter()
        .all(u8::is_ascii_digit)
        .then(|| String::from_utf8_lossy(digits).into_owned())
}

/// A business-scoped user id (`US.13491208655302741918`): stable per person and business portfolio, new when the
/// person changes phone number.
pub fn bsuid(country: &str, seed: &str) -> String {
    format!("{country}.{}", digits_from(seed, 20))
}

/// A parent BSUID (`US.ENT.11815799212886844830`), spanning linked portfolios.
pub fn parent_bsuid(country: &str, seed: &str) -> String {
    format!("{country}.ENT.{}", digits_from(seed, 20))
}

fn digits_from(seed: &str, count: usize) -> String {
    let mut out = String::with_capacity(count);
    let mut round = 0u32;
    while out.len() < count {
        let digest = Sha256::digest(format!("{seed}#{round}").as_bytes());
        out.extend(digest.iter().map(|b| char::from(b'0' + b % 10)));
        round += 1;
    }
    out.truncate(count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_wamid_decodes_to_its_phone_number() {
        assert_eq!(
            phone_in_wamid("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUZCM0Y0").as_deref(),
            Some("15551234567")
        );
        let id = wamid("15551234567", Direction::Inbound, "m1");
        assert!(id.starts_with("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQ"), "{id}");
        assert_eq!(phone_in_wamid(&id).as_deref(), Some("15551234567"));
    }

    #[test]
    fn ids_are_stable_per_seed_and_differ_by_direction() {
        let inbound = wamid("4915112345678", Direction::Inbound, "a");
        assert_eq!(inbound, wamid("4915112345678", Direction::Inbound, "a"));
        assert_ne!(inbound, wamid("4915112345678", Direction::Outbound, "a"));
        assert_ne!(inbound, wamid("4915112345678", Direction::Inbound, "b"));
        let user = bsuid("US", "ana");
        assert!(user.starts_with("US.") && user.len() == 23, "{user}");
        assert!(parent_bsuid("US", "ana").starts_with("US.ENT."));
    }
}
