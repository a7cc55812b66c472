//! wavault's core: the WhatsApp webhook domain, the use cases and the ports they call. Nothing here knows AWS or
//! HTTP: the adapters live in `wavault-aws` (one module per service) and `wavault-graph` (Meta's Graph API), and
//! each function wires the ones it uses.
//!
//! One folder per use case, each with its own ports:
//! - [`webhook`]: the payload model, its parser and Meta's signature;
//! - [`ingest`]: verify, journal, record, enqueue (the webhook function);
//! - [`media`]: archive every media file before its id dies, and the sweep that forgets none (the media fetcher);
//! - [`retention`]: the retention clock and what expiring removes (the TTL expirer);
//! - [`rotation`]: the Meta token's rotation (the token rotator);
//! - [`contact`]: one contact's hashes, erasure and export (the `wavault` tool).
//!
//! Shared vocabulary: [`records`] (keys, kinds, states of the records table), [`secrets`], [`clock`], [`metrics`],
//! [`graph`] (Graph's error codes), [`archive`] (removing archive objects), [`error`] (the ports' error), [`config`].
//! `testkit` (feature `testkit`, tests only) implements the ports in memory.

pub mod archive;
pub mod clock;
pub mod config;
pub mod contact;
pub mod error;
pub mod graph;
pub mod ingest;
pub mod lenient;
pub mod media;
pub mod metrics;
pub mod records;
pub mod retention;
pub mod rotation;
pub mod secrets;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod webhook;

pub use error::PortError;
