//! Rotation of the Meta access token held in the Meta secret: Secrets Manager's four steps as a
//! use case over two ports ([`SecretVersions`], [`TokenGraph`]), with no AWS or HTTP type.
//!
//! One code path serves both triggers:
//! - Secrets Manager's rotation (`{Step, SecretId, ClientRequestToken}`): [`Rotator::step`], one
//!   step per invocation;
//! - a schedule (EventBridge, or an operator): [`Rotator::rotate`] runs the same four steps itself,
//!   resuming a pending version left by an interrupted run or starting one with a fresh version id.
//!
//! The steps:
//! - **createSecret**: unless the version already holds a pending value, obtain a new token from
//!   Meta ([`RotationStrategy`]) and put it as a new version staged `AWSPENDING`, every other field
//!   of the secret's JSON copied unchanged.
//! - **setSecret**: nothing to do. Meta issues a token already live; there is no credential store
//!   on Meta's side to update (unlike a database password). The old token stays valid until it
//!   expires or is revoked, so readers holding it keep working during the switch.
//! - **testSecret**: `debug_token` must say the pending token is valid, of our app, with both
//!   WhatsApp scopes and an expiry in the future (or none); with a phone number id configured, a
//!   read of that number with the token must succeed. The app (id and secret) is the one
//!   `AWSCURRENT` holds now. Otherwise the rotation fails and `AWSCURRENT` is untouched; the
//!   scheduled path also takes `AWSPENDING` off the rejected version so the next rotation can
//!   start.
//! - **finishSecret**: the token fields ([`ROTATED_FIELDS`]) come from the pending version, every
//!   other field from `AWSCURRENT` as it is at finish. While `AWSCURRENT` still holds what
//!   createSecret copied, move `AWSCURRENT` to the new version (Secrets Manager puts
//!   `AWSPREVIOUS` on the old one) and take `AWSPENDING` off it; if an operator put another
//!   version meanwhile (or a stale pending version is resumed), write `AWSCURRENT`'s JSON with
//!   the new token as a new version and make that current instead, so the edit survives
//!   (`Rotator::finish` in `steps.rs` has the why and the crash analysis). A token issued for
//!   another `app_id` than `AWSCURRENT`'s never becomes current.
//!
//! Every step is idempotent and checks the stages first, so a crash after any step followed by a
//! rerun (of the step, of the whole rotation, or of the schedule) ends with a valid `AWSCURRENT`.
//! Each run also inspects the current token and reports [`METRIC_DAYS_TO_EXPIRY`]; failures count
//! [`METRIC_ROTATION_FAILED`]. No token, secret or secret JSON ever reaches a log line, an error or a
//! metric: tokens travel as [`AccessToken`], whose `Debug` is redacted and which has no `Display`.

pub mod ports;
pub mod steps;
pub mod token;

pub use ports::*;
pub use steps::*;
pub use token::*;
