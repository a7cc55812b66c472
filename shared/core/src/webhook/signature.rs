//! Verification of Meta's `X-Hub-Signature-256` header.
//!
//! Meta signs the exact bytes it sends with HMAC-SHA256 keyed by the app secret. We verify those
//! raw bytes before any parsing, in constant time, against the current app secret and, during a
//! secret change-over, the previous one. Some senders have been seen to sign a form of the body in
//! which non-ASCII characters are `\uXXXX`-escaped; for bodies that contain non-ASCII bytes (and
//! only for those) we check that form too.

use hmac::{Hmac, KeyInit, Mac};
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
#[path = "tests/signature.rs"]
mod tests;
