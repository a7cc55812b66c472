//! wavault's Graph API client: Meta's media endpoints ([`http`]: media info and downloads, for the media fetcher)
//! and token endpoints ([`tokens`]: exchange, mint, debug, for the token rotator), over reqwest with rustls. One
//! transport: the token client reuses the media client's base-URL validation and bounded body reads.

pub mod http;
pub mod tokens;

pub use http::{GraphClientBuildError, HttpGraphClient};
pub use tokens::HttpTokenGraph;
