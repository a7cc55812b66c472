//! The one error a port returns: what failed, already classified by the adapter, with the cause below it kept as a
//! redacted chain.
//!
//! An adapter's error (an SDK error, an I/O error) can carry what a request held: a service's validation message may
//! echo an attribute value, an object key, a wamid (which embeds a phone number). [`PortError`] keeps that cause,
//! so `Error::source` still walks to the bottom (what the Lambda runtime and a `{:#}` report print), but every level
//! is captured through [`Redacted`]: long digit runs and long token-like words are replaced before they are stored,
//! and the original error is not kept.

use std::error::Error as StdError;
use std::fmt;

/// A failure of a backing store or service, already classified by the adapter.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// Throttled or briefly unavailable even after the adapter's own retries.
    #[error("{service} is throttling or unavailable: {detail}")]
    Unavailable {
        service: &'static str,
        detail: String,
        #[source]
        cause: Option<Redacted>,
    },
    /// Any other failure (permissions, missing resource, bad request).
    #[error("{service} call failed: {detail}")]
    Failed {
        service: &'static str,
        detail: String,
        #[source]
        cause: Option<Redacted>,
    },
}

impl PortError {
    /// A transient failure. `detail` is ours (an operation, a count, a resource name); what a service or a library
    /// said goes in through [`PortError::caused_by`] or [`redact`].
    pub fn unavailable(service: &'static str, detail: impl Into<String>) -> Self {
        PortError::Unavailable {
            service,
            detail: detail.into(),
            cause: None,
        }
    }

    /// A lasting failure; `detail` as for [`PortError::unavailable`].
    pub fn failed(service: &'static str, detail: impl Into<String>) -> Self {
        PortError::Failed {
            service,
            detail: detail.into(),
            cause: None,
        }
    }

    /// Keeps `cause` (and everything below it) as the redacted source of this error.
    pub fn caused_by(mut self, cause: &(dyn StdError + 'static)) -> Self {
        let captured = Some(Redacted::capture(cause));
        match &mut self {
            PortError::Unavailable { cause, .. } | PortError::Failed { cause, .. } => {
                *cause = captured
            }
        }
        self
    }
}

/// One level of a cause chain, captured as redacted text ([`redact`]) with the level below it. `Display` and `Debug`
/// show only the redacted message.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted {
    message: String,
    below: Option<Box<Redacted>>,
}

impl Redacted {
    /// Captures `error` and its whole `source()` chain, each level redacted.
    pub fn capture(error: &(dyn StdError + 'static)) -> Self {
        Redacted {
            message: redact(&error.to_string()),
            below: error
                .source()
                .map(|below| Box::new(Redacted::capture(below))),
        }
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redacted({:?})", self.message)
    }
}

impl StdError for Redacted {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.below
            .as_deref()
            .map(|below| below as &(dyn StdError + 'static))
    }
}

/// Runs of this many digits or more are phone-number-like (E.164 has up to 15, national numbers 6 and up).
const DIGIT_RUN: usize = 6;
/// Words this long that contain a digit are id- or token-like (wamids, media ids, access tokens, object keys).
const TOKEN_WORD: usize = 20;

/// `text` with what could identify someone replaced: every word (letters, digits and `_-+/=.:`) of
/// 20 or more characters that contains a digit becomes `<redacted>`, and inside shorter words every run of 6 or more
/// digits becomes `<digits>`. Error codes, service names and short words stay readable.
pub fn redact(text: &str) -> String {
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || "_-+/=.:".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let word_len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        if word_len == 0 {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
            continue;
        }
        let (word, after) = rest.split_at(word_len);
        if word.len() >= TOKEN_WORD && word.contains(|c: char| c.is_ascii_digit()) {
            out.push_str("<redacted>");
        } else {
            push_masking_digit_runs(&mut out, word);
        }
        rest = after;
    }
    out
}

fn push_masking_digit_runs(out: &mut String, word: &str) {
    let mut rest = word;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits > 0 {
            let (run, after) = rest.split_at(digits);
            if digits >= DIGIT_RUN {
                out.push_str("<digits>");
            } else {
                out.push_str(run);
            }
            rest = after;
        } else {
            let other = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (text, after) = rest.split_at(other);
            out.push_str(text);
            rest = after;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connection to +16505551234 reset")
        }
    }
    impl StdError for Inner {}

    #[derive(Debug)]
    struct Outer(Inner);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("ValidationException: key wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBRjU5RDdGNzdBQzk3MDVBQQA= invalid")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_cause_chain_survives_redacted_at_every_level() {
        let error = PortError::failed("dynamodb", "PutItem").caused_by(&Outer(Inner));
        let mut messages = Vec::new();
        let mut level: Option<&(dyn StdError + 'static)> = Some(&error);
        while let Some(current) = level {
            messages.push(current.to_string());
            level = current.source();
        }
        assert_eq!(
            messages,
            [
                "dynamodb call failed: PutItem",
                "ValidationException: key <redacted> invalid",
                "connection to +<digits> reset",
            ]
        );
        let debug = format!("{error:?}");
        assert!(
            !debug.contains("16505551234") && !debug.contains("HBgL"),
            "{debug}"
        );
    }

    #[test]
    fn redaction_keeps_codes_and_names_readable() {
        assert_eq!(
            redact("ProvisionedThroughputExceededException: rate of requests exceeds the allowed throughput"),
            "ProvisionedThroughputExceededException: rate of requests exceeds the allowed throughput"
        );
        assert_eq!(
            redact("HTTP 503 from table wavault-dev-records"),
            "HTTP 503 from table wavault-dev-records"
        );
        assert_eq!(
            redact("token EAAGm0PX4ZCpsBAKZB1o2x3ZA is bad"),
            "token <redacted> is bad"
        );
        assert_eq!(
            redact("wa_id 16505551234 ünïcode"),
            "wa_id <digits> ünïcode"
        );
        assert_eq!(redact(""), "");
    }

    #[test]
    fn constructors_classify() {
        let error = PortError::unavailable("sqs", "3 entries still failing after retries");
        assert!(matches!(error, PortError::Unavailable { .. }));
        assert_eq!(
            error.to_string(),
            "sqs is throttling or unavailable: 3 entries still failing after retries"
        );
        assert!(matches!(
            PortError::failed("s3", "x"),
            PortError::Failed { .. }
        ));
    }
}
