//! The webhook use case: verify, journal, record, enqueue - in that order, acknowledging only
//! when all of it is durable.
//!
//! Transport-neutral: the Lambda handler maps HTTP to [`WebhookRequest`] and [`WebhookResponse`]
//! back to HTTP. Every dependency is a port, so this runs the same against AWS and in memory.
//!
//! [`planner`] turns a parsed notification into records (pure); [`ports`] are what the use case writes through.

pub mod planner;
pub mod ports;
pub mod recorder;
pub mod replay;
pub mod use_case;

pub use planner::{journal_link_id, journal_links, plan, IngestPlan, JournalItems, PlanContext};
pub use ports::*;
pub use recorder::*;
pub use replay::*;
pub use use_case::*;
