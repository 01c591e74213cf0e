//! The mysql collector.

pub mod config;
pub use config::MysqlConfig;
