//! wavault's core: the WhatsApp webhook domain, the use cases and the ports they call. Nothing here knows AWS or
//! HTTP: the adapters live in `wavault-aws` (one module per service) and `wavault-graph` (Meta's Graph API), and
//! each function wires the ones it uses.
//!
//! Domain modules ([`webhook`], [`signature`], [`records`], [`retention`], [`contact`], [`media_job`],
//! [`secrets`]); use cases ([`ingest`], [`archive`], [`sweep`], [`expiry`], [`rotation`], [`erasure`],
//! [`export`]) and the [`ports`] they depend on. `testkit` (feature `testkit`, tests only) implements the ports in
//! memory.

pub mod archive;
pub mod clock;
pub mod config;
pub mod contact;
pub mod erasure;
pub mod expiry;
pub mod export;
pub mod graph;
pub mod ingest;
pub mod media;
pub mod media_job;
pub mod metrics;
pub mod ports;
pub mod records;
pub mod retention;
pub mod rotation;
pub mod secrets;
pub mod signature;
pub mod sweep;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod webhook;
