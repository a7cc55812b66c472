//! wavault webhook: the HTTP edge ([`http`]), a library so that the fuzz targets (`tests/fuzz`) can drive it with
//! in-memory ports. The binary (`main.rs`, feature `function`) runs it under the Lambda runtime with the AWS clients
//! of `wiring.rs`.

pub mod http;
