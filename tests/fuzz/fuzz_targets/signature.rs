//! Signature verification (`wavault_core::webhook::signature`) on arbitrary secrets, bodies and headers.
//!
//! Input: `[secret length][secret][mutation byte][body]`. Checks that a signature Meta would compute over the body
//! verifies (with the current secret, with the previous one during a change-over, in either hex case), that any
//! one-bit change of the body, a changed hex digit, a truncated or missing header does not, that an empty secret
//! accepts nothing, that the `\uXXXX`-escaped form is what the escaped check verifies (and is the same JSON
//! document), and that arbitrary header text never panics nor verifies what it should not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavault_core::webhook::signature::{
    escape_non_ascii, signature_header, verify, SignatureError, SignatureMatch,
};

const RAW: SignatureMatch = SignatureMatch {
    previous_secret: false,
    escaped_body: false,
};

fuzz_target!(|data: &[u8]| {
    let Some((&secret_len, rest)) = data.split_first() else {
        return;
    };
    let secret_len = usize::from(secret_len % 48).min(rest.len());
    let (secret, rest) = rest.split_at(secret_len);
    let Some((&mutation, body)) = rest.split_first() else {
        return;
    };
    let header = signature_header(secret, body);

    // Arbitrary header text (the whole input): never a panic; accepted only when it is the body's signature.
    let text = String::from_utf8_lossy(data);
    for candidate in [text.as_ref(), text.trim_start_matches(|c: char| c != 's')] {
        if let Ok(matched) = verify(body, Some(candidate), secret, None) {
            let signed = if matched.escaped_body {
                signature_header(secret, &escape_non_ascii(body).expect("escaped form"))
            } else {
                header.clone()
            };
            assert_eq!(candidate.trim().to_ascii_lowercase(), signed);
        }
    }

    // An empty secret verifies nothing, not even a signature made with it.
    assert_eq!(
        verify(body, Some(&signature_header(b"", body)), b"", Some(b"")),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(body, None, secret, None),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify(body, Some(&header[..header.len() - 1]), secret, None),
        Err(SignatureError::Malformed)
    );
    if secret.is_empty() {
        assert_eq!(
            verify(body, Some(&header), secret, None),
            Err(SignatureError::Mismatch)
        );
        return;
    }

    // The signature over the body verifies: as sent, in upper case hex, with surrounding whitespace.
    assert_eq!(verify(body, Some(&header), secret, None), Ok(RAW));
    let upper = format!("sha256={}", header["sha256=".len()..].to_ascii_uppercase());
    assert_eq!(verify(body, Some(&upper), secret, None), Ok(RAW));
    assert_eq!(
        verify(body, Some(&format!(" {header}\t")), secret, None),
        Ok(RAW)
    );

    // During a change-over the previous secret's signature verifies, and says so.
    let mut other = secret.to_vec();
    other[0] ^= 0x01;
    assert_eq!(
        verify(body, Some(&header), &other, Some(secret)),
        Ok(SignatureMatch {
            previous_secret: true,
            escaped_body: false
        })
    );
    assert_eq!(
        verify(body, Some(&header), &other, None),
        Err(SignatureError::Mismatch)
    );

    // Any one-bit change of the body, a shorter or a longer body: no match.
    if !body.is_empty() {
        let mut mutated = body.to_vec();
        let at = usize::from(mutation) * 31 % body.len();
        mutated[at] ^= 1 << (mutation % 8);
        assert_eq!(
            verify(&mutated, Some(&header), secret, Some(&other)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&body[..body.len() - 1], Some(&header), secret, None),
            Err(SignatureError::Mismatch)
        );
    }
    let mut longer = body.to_vec();
    longer.push(mutation);
    assert_eq!(
        verify(&longer, Some(&header), secret, None),
        Err(SignatureError::Mismatch)
    );

    // A changed hex digit: no match.
    let mut digits = header.clone().into_bytes();
    let at = "sha256=".len() + usize::from(mutation) % 64;
    digits[at] = if digits[at] == b'0' { b'1' } else { b'0' };
    let changed = String::from_utf8(digits).expect("hex");
    assert_eq!(
        verify(body, Some(&changed), secret, None),
        Err(SignatureError::Mismatch)
    );

    // The escaped form: the body itself when ASCII, none when not UTF-8, else ASCII, the same JSON document, and
    // what a signature over it verifies as (only for non-ASCII bodies).
    match (std::str::from_utf8(body), escape_non_ascii(body)) {
        (Err(_), escaped) => assert!(escaped.is_none()),
        (Ok(_), None) => panic!("a UTF-8 body has an escaped form"),
        (Ok(_), Some(escaped)) if body.is_ascii() => {
            assert_eq!(escaped, body);
        }
        (Ok(_), Some(escaped)) => {
            assert!(escaped.is_ascii());
            if let Ok(document) = serde_json::from_slice::<serde_json::Value>(body) {
                let again = serde_json::from_slice::<serde_json::Value>(&escaped);
                assert_eq!(
                    again.ok(),
                    Some(document),
                    "the escaped form is the same document"
                );
            }
            assert_eq!(
                verify(
                    body,
                    Some(&signature_header(secret, &escaped)),
                    secret,
                    None
                ),
                Ok(SignatureMatch {
                    previous_secret: false,
                    escaped_body: true
                })
            );
        }
    }
});
