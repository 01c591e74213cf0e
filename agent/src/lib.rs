//! peeper-agent: collects Linux (and, with later modules, service) metrics and pushes them
//! to a Peeper server or any Prometheus remote-write receiver. The product host opens no
//! port.
// Unsafe code only where allowed locally: the adjtimex call in collector/linux/timex.rs.
#![deny(unsafe_code)]
#![deny(missing_debug_implementations)]

pub mod check;
pub mod cli;
pub mod collector;
pub mod config;
pub mod push;
pub mod runtime;
pub mod settings;
pub mod stats;
pub mod status;
pub mod tls;
