//! wavault's library: the WhatsApp webhook domain, the ports the functions depend on, the AWS
//! adapters behind them and the configuration contract.
//!
//! Layout: domain modules ([`webhook`], [`signature`], [`records`], [`retention`], [`contact`],
//! [`media_job`], [`secrets`]) know nothing of AWS; [`ports`] are the traits the use cases
//! ([`ingest`]) call; [`adapters`] implement them with the AWS SDK; [`memory`] implements them in
//! memory for unit tests.

pub mod adapters;
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
pub mod memory;
pub mod metrics;
pub mod ports;
pub mod records;
pub mod retention;
pub mod rotation;
pub mod samples;
pub mod secrets;
pub mod signature;
pub mod sweep;
pub mod webhook;
