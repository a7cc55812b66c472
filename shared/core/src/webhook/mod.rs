//! The webhook domain: the payload model and the parser that turns a verified body into the
//! typed view the planner walks, reading every level leniently ([`lenient`]).

pub mod model;
pub mod parse;
pub mod signature;
pub mod view;

pub use model::*;
pub use parse::{parse_notification, ParseError};
