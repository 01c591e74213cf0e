//! The postgres collector.

pub mod config;
pub use config::PostgresConfig;
