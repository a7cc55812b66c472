//! Test doubles: the ports in memory, sample payloads, a fixed clock. Compiled only for tests (feature `testkit`,
//! enabled by the other crates' dev-dependencies), never into a function binary.

pub mod media;
pub mod memory;
pub mod samples;

pub use crate::clock::FixedClock;
