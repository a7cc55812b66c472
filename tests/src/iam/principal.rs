//! Who is calling: each function binary and the operator tool get credentials that name their principal and stack,
//! so the IAM gateway knows which template policy to evaluate for every request.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::iam::policies::ACCOUNT;

/// A principal whose permissions the template defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    /// `functions/webhook`, role from `WebhookFunction.Role`.
    Webhook,
    /// `functions/media-fetcher` (its handler, its sweep, and Lambda's SQS event source mapping).
    MediaFetcher,
    /// `functions/token-rotator`.
    TokenRotator,
    /// `functions/ttl-expirer` (its handler, its sweep, and Lambda's stream event source mapping).
    TtlExpirer,
    /// The `wavault` operator tool, with `ContactDataOperatorPolicy` attached.
    Operator,
}

impl Principal {
    /// Every principal, in report order.
    pub const ALL: [Principal; 5] = [
        Principal::Webhook,
        Principal::MediaFetcher,
        Principal::TokenRotator,
        Principal::TtlExpirer,
        Principal::Operator,
    ];

    /// The principal of a workspace binary (`webhook`, `media-fetcher`, ..., `wavault`).
    pub fn of_binary(binary: &str) -> Option<Principal> {
        Principal::ALL.into_iter().find(|p| p.binary() == binary)
    }

    /// The workspace binary this principal runs as.
    pub fn binary(self) -> &'static str {
        match self {
            Principal::Webhook => "webhook",
            Principal::MediaFetcher => "media-fetcher",
            Principal::TokenRotator => "token-rotator",
            Principal::TtlExpirer => "ttl-expirer",
            Principal::Operator => "wavault",
        }
    }

    /// The binary whose template function (`Metadata.BuildProperties.Binary`) defines this principal's role.
    pub fn function_binary(self) -> Option<&'static str> {
        match self {
            Principal::Operator => None,
            other => Some(other.binary()),
        }
    }

    /// The managed policy an operator attaches (only for [`Principal::Operator`]).
    pub fn managed_policy_logical_id(self) -> &'static str {
        "ContactDataOperatorPolicy"
    }

    /// The ARN AWS would see (an assumed-role session).
    pub fn arn(self) -> String {
        format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/wavault-{}/{}",
            self.binary(),
            self.binary()
        )
    }

    /// The access key id handed to the process: names the principal and the stack (`wv.webhook.t1-abc`).
    pub fn access_key_id(self, stack: &str) -> String {
        format!("wv.{}.{stack}", self.binary())
    }

    /// Reads an access key id made by [`Principal::access_key_id`].
    pub fn from_access_key_id(key: &str) -> Option<(Principal, String)> {
        let rest = key.strip_prefix("wv.")?;
        let (binary, stack) = rest.split_once('.')?;
        Some((Principal::of_binary(binary)?, stack.to_owned()))
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary())
    }
}
