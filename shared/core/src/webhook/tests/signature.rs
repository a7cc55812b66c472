//! Unit tests of `signature` (kept beside the module, with access to its private items).
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
