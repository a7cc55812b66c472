//! Media: every file a message refers to, archived before Meta's media id dies.
//!
//! [`key`] (where a file goes, its digest, its deadline), [`job`] (the queue message), [`archiver`] (one job:
//! download, verify, store, record), [`sweep`] (nothing pending is forgotten), and the ports they call:
//! [`graph`] (Meta) and [`ports`] (the archive bucket, the media side of records, the pending index, the queue, the
//! DLQ); [`retry`] holds the retry schedule the queue's definition must agree with.

pub mod archiver;
pub mod graph;
pub mod job;
pub mod key;
pub mod ports;
pub mod retry;
pub mod sweep;

pub use archiver::*;
pub use graph::*;
pub use job::*;
pub use key::*;
pub use ports::*;
pub use retry::*;
pub use sweep::*;
