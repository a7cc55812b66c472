//! Verification of Meta's `X-Hub-Signature-256` header.
//!
//! Meta signs the exact bytes it sends with HMAC-SHA256 keyed by the app secret. We verify those
//! raw bytes before any parsing, in constant time, against the current app secret and, during a
//! secret change-over, the previous one. Some senders have been seen to sign a form of the body in
//! which non-ASCII characters are `\uXXXX`-escaped; for bodies that contain non-ASCII bytes (and
//! only for those) we check that form too.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The name of the header Meta puts the signature in (HTTP header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Why a signature was not accepted. Carries no part of the body or the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header missing")]
    Missing,
    #[error("signature header malformed")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// Which secret, and which form of the body, a valid signature was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureMatch {
    /// True when the previous app secret (change-over) verified it.
    pub previous_secret: bool,
    /// True when only the `\uXXXX`-escaped form of the body verified it.
    pub escaped_body: bool,
}

/// Parses `sha256=<64 hex digits>` (hex in either case) into the 32-byte digest.
fn parse_header(header: &str) -> Result<[u8; 32], SignatureError> {
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| SignatureError::Malformed)?;
    Ok(digest)
}

/// HMAC-SHA256 of `body` under `secret`.
///
/// HMAC is defined for keys of every length, so hmac's constructor never fails for it; the
/// `Option` only exists so that an impossible error fails closed instead of panicking.
pub fn sign(secret: &[u8], body: &[u8]) -> Option<[u8; 32]> {
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(body);
    Some(mac.finalize().into_bytes().into())
}

/// The header value Meta would send for `body` signed with `secret` (used by tests and the demo).
pub fn signature_header(secret: &[u8], body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(sign(secret, body).unwrap_or_default())
    )
}

fn matches(secret: &[u8], body: &[u8], expected: &[u8; 32]) -> bool {
    sign(secret, body).is_some_and(|digest| digest.ct_eq(expected).into())
}

/// Verifies `header` over `body` with the current secret, then the previous one if given.
///
/// Empty secrets are never used: an unconfigured secret must not make every body "valid".
pub fn verify(
    body: &[u8],
    header: Option<&str>,
    current_secret: &[u8],
    previous_secret: Option<&[u8]>,
) -> Result<SignatureMatch, SignatureError> {
    let expected = parse_header(header.ok_or(SignatureError::Missing)?)?;
    let secrets = [(current_secret, false)]
        .into_iter()
        .chain(previous_secret.map(|s| (s, true)))
        .filter(|(secret, _)| !secret.is_empty());

    // The escaped form is built only when a raw check has failed, and only for non-ASCII bodies.
    let mut escaped: Option<Option<Vec<u8>>> = None;
    for (secret, previous) in secrets {
        if matches(secret, body, &expected) {
            return Ok(SignatureMatch {
                previous_secret: previous,
                escaped_body: false,
            });
        }
        if body.is_ascii() {
            continue;
        }
        let escaped = escaped.get_or_insert_with(|| escape_non_ascii(body));
        if let Some(escaped) = escaped {
            if matches(secret, escaped, &expected) {
                return Ok(SignatureMatch {
                    previous_secret: previous,
                    escaped_body: true,
                });
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// Escapes every non-ASCII character as `\uXXXX` (lowercase hex, UTF-16 code units), as Meta does
/// in what it signs. Returns `None` when the body is not UTF-8 (then no escaped form exists).
pub fn escape_non_ascii(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = Vec::with_capacity(body.len() + body.len() / 2);
    let mut units = [0u16; 2];
    for ch in text.chars() {
        if ch.is_ascii() {
            out.push(ch as u8);
        } else {
            for unit in ch.encode_utf16(&mut units).iter() {
                out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"app-secret-current";
    const PREVIOUS: &[u8] = b"app-secret-previous";

    fn header(secret: &[u8], body: &[u8]) -> String {
        signature_header(secret, body)
    }

    #[test]
    fn rfc4231_test_case_2() {
        let digest = sign(b"Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            hex::encode(digest),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ascii_body_verifies_with_current_secret() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let m = verify(body, Some(&header(SECRET, body)), SECRET, None).unwrap();
        assert_eq!(
            m,
            SignatureMatch {
                previous_secret: false,
                escaped_body: false
            }
        );
    }

    #[test]
    fn uppercase_hex_and_whitespace_are_accepted() {
        let body = b"{}";
        let h = format!(
            " sha256={} ",
            hex::encode_upper(sign(SECRET, body).unwrap())
        );
        assert!(verify(body, Some(&h), SECRET, None).is_ok());
    }

    #[test]
    fn slash_and_at_sign_as_meta_escapes_them_in_raw_bytes() {
        // Meta escapes `/` as `\/` in what it sends; we verify the bytes as received.
        let body = br#"{"url":"https:\/\/lookaside.fbsbx.com\/x","email":"a\u0040b.c"}"#;
        assert!(verify(body, Some(&header(SECRET, body)), SECRET, None).is_ok());
        // Re-serialising would unescape them and break the HMAC: prove the bytes matter.
        let reserialised = br#"{"url":"https://lookaside.fbsbx.com/x","email":"a@b.c"}"#;
        assert_eq!(
            verify(reserialised, Some(&header(SECRET, body)), SECRET, None),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn accents_and_emoji_in_raw_utf8() {
        let body = "{\"text\":{\"body\":\"Olá, café ☕ 😀\"}}".as_bytes();
        let m = verify(body, Some(&header(SECRET, body)), SECRET, None).unwrap();
        assert!(!m.escaped_body);
    }

    #[test]
    fn escaped_fallback_for_non_ascii_bodies_signed_in_escaped_form() {
        let raw = "{\"text\":{\"body\":\"café 😀\"}}";
        let escaped = r#"{"text":{"body":"caf\u00e9 \ud83d\ude00"}}"#;
        assert_eq!(
            escape_non_ascii(raw.as_bytes()).unwrap(),
            escaped.as_bytes()
        );
        let h = header(SECRET, escaped.as_bytes());
        let m = verify(raw.as_bytes(), Some(&h), SECRET, None).unwrap();
        assert!(m.escaped_body);
    }

    #[test]
    fn escaped_fallback_is_not_tried_for_ascii_bodies() {
        // An ASCII body has no escaped form other than itself; a wrong signature stays wrong.
        let body = br#"{"a":"b"}"#;
        let h = header(SECRET, br#"{"a":"c"}"#);
        assert_eq!(
            verify(body, Some(&h), SECRET, None),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let body = b"{}";
        assert_eq!(
            verify(body, Some(&header(b"other", body)), SECRET, None),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn previous_secret_accepted_during_change_over() {
        let body = b"{\"x\":1}";
        let m = verify(body, Some(&header(PREVIOUS, body)), SECRET, Some(PREVIOUS)).unwrap();
        assert!(m.previous_secret);
        assert_eq!(
            verify(body, Some(&header(PREVIOUS, body)), SECRET, None),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn empty_secrets_never_verify() {
        let body = b"{}";
        assert_eq!(
            verify(body, Some(&header(b"", body)), b"", Some(b"")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_garbled_headers() {
        let body = b"{}";
        assert_eq!(
            verify(body, None, SECRET, None),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "sha256=",
            "sha1=abcd",
            "sha256=zz",
            "sha256=abcd",
            &format!("sha256={}00", hex::encode(sign(SECRET, body).unwrap())),
            &hex::encode(sign(SECRET, body).unwrap()),
        ] {
            assert_eq!(
                verify(body, Some(bad), SECRET, None),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_body_verifies_raw_and_has_no_escaped_form() {
        let body = [0xffu8, 0xfe, b'{', b'}'];
        assert!(verify(&body, Some(&header(SECRET, &body)), SECRET, None).is_ok());
        assert!(escape_non_ascii(&body).is_none());
    }
}
