//! The apache collector.

pub mod config;
pub use config::ApacheConfig;
