//! Retention: every record expires on its clock ([`policy`]), and what expires takes its media and journal
//! objects with it ([`expirer`], over [`ports`]).

pub mod expirer;
pub mod policy;
pub mod ports;

pub use expirer::*;
pub use policy::*;
pub use ports::*;
