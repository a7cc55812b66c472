//! Configuration: one typed settings struct per function, composed of small sections.
//!
//! - [`sections`]: one type per concern (the records table, the archive bucket, the media queue, Graph, each
//!   secret, retention, ...). Each parses its own variables once, with errors naming the variable, and declares
//!   them in its `VARIABLES`.
//! - One settings struct per function, in a file of its own: [`WebhookSettings`], [`MediaFetcherSettings`],
//!   [`TokenRotatorSettings`], [`TtlExpirerSettings`], and the `wavault` tool's [`OperatorSettings`]. Each holds
//!   only the sections its function uses, so no field is ever a placeholder, and its `VARIABLES` is the union of
//!   those sections' lists by construction (the `settings!` macro below).
//!
//! `tests/tests/template_env.rs` compares each function's `VARIABLES` with what `infra/template.yaml` sets on it,
//! and checks, as the unit tests do, that `from_lookup` asks for exactly those names. The names are a contract
//! (docs/internals.md "Configuration contract"): the SAM template, the local stack and the operator tool set them.

/// Defines a settings struct made of sections: its fields, `VARIABLES` (the sections' lists concatenated at
/// compile time) and `from_lookup` / `from_env`, which parse every section once, in field order.
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident: $section:ty, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $section, )+
        }

        impl $name {
            /// Every variable [`Self::from_lookup`] reads: its sections' lists, in field order.
            pub const VARIABLES: &'static [&'static str] = {
                const PARTS: &[&[&str]] = &[$(<$section as $crate::config::Section>::VARIABLES),+];
                const ALL: [&str; $crate::config::total(PARTS)] = $crate::config::concat(PARTS);
                &ALL
            };

            /// Reads the process environment (only [`Self::VARIABLES`]).
            pub fn from_env() -> Result<Self, $crate::config::ConfigError> {
                Self::from_lookup(|name| std::env::var(name).ok())
            }

            /// Reads every section through `lookup` (tests pass a map); no other name is asked for.
            pub fn from_lookup(
                lookup: impl Fn(&str) -> Option<String>,
            ) -> Result<Self, $crate::config::ConfigError> {
                let lookup: $crate::config::Lookup<'_> = &lookup;
                Ok(Self {
                    $( $field: <$section as $crate::config::Section>::parse(lookup)?, )+
                })
            }
        }
    };
}

mod media_fetcher;
mod operator;
pub mod sections;
mod token_rotator;
mod ttl_expirer;
mod webhook;

pub use media_fetcher::MediaFetcherSettings;
pub use operator::{OperatorSettings, ReplaySettings};
pub use sections::*;
pub use token_rotator::TokenRotatorSettings;
pub use ttl_expirer::TtlExpirerSettings;
pub use webhook::WebhookSettings;

/// Variables the code reads that the SAM template never sets: `AWS_ENDPOINT_URL` (an emulator
/// endpoint never exists in a deployed stack) and `MEDIA_DOWNLOAD_HOSTS` (the default, Meta's
/// media hosts, is what a deployment wants; only the local stack's fake Graph API on 127.0.0.1
/// needs another list). `tests/tests/template_env.rs` checks the template sets neither.
pub const LOCAL_ONLY_VARIABLES: &[&str] = &["AWS_ENDPOINT_URL", "MEDIA_DOWNLOAD_HOSTS"];

/// A setting that is missing or wrong. Names the variable, never echoes a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where settings come from: a variable's value, or `None` when it is unset.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One concern's settings: the variables it reads and the one function that reads them.
pub trait Section: Sized {
    /// Every variable [`Section::parse`] asks `lookup` for (unit tests check it against the code).
    const VARIABLES: &'static [&'static str];

    /// Reads and validates the section; a blank value counts as unset.
    fn parse(lookup: Lookup<'_>) -> Result<Self, ConfigError>;
}

/// The number of names in `parts` (sizes [`concat`]'s array).
pub(crate) const fn total(parts: &[&[&'static str]]) -> usize {
    let (mut total, mut i) = (0, 0);
    while i < parts.len() {
        total += parts[i].len();
        i += 1;
    }
    total
}

/// `parts` end to end, at compile time: a settings type's `VARIABLES` cannot drift from its sections.
pub(crate) const fn concat<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut all = [""; N];
    let (mut at, mut i) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            all[at] = parts[i][j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    all
}

#[cfg(test)]
#[path = "tests/config.rs"]
mod tests;

#[cfg(test)]
#[path = "tests/rotator_config.rs"]
mod rotator_config_tests;
