//! The agent's integration-test harness: the shared base (free ports, VictoriaMetrics,
//! waiting, HTTP) plus one module per real service the collectors are tested against.
#![allow(dead_code, unused_imports)]

#[path = "../../../server/tests/support/mod.rs"]
mod base;
pub use base::*;

pub mod apache;
pub mod docker;
pub mod mariadb;
pub mod postgres;
pub mod stack;
