//! The docker collector.

pub mod config;
pub use config::DockerConfig;
