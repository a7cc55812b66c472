//! One contact's data: keyed hashes of its ids ([`hashing`], [`ids`]), who a body mentions
//! ([`mentions`]), its share of journal bodies ([`journal`]), and the two per-contact use cases, [`erasure`] (GDPR art. 17) and [`export`] (art. 15/20),
//! over [`ports`].

pub mod erasure;
pub mod export;
pub mod hashing;
pub mod ids;
pub mod journal;
pub mod mentions;
pub mod ports;

pub use erasure::*;
pub use export::*;
pub use hashing::*;
pub use ids::*;
pub use journal::*;
pub use mentions::*;
pub use ports::*;
