//! Peeper's wire protocol and the metric model shared by agent and server.
//!
//! - [`prometheus`]: remote-write 1.0 messages, generated from `proto/prometheus/remote.proto`.
//! - [`v1`]: the `peeper.v1` gRPC ingest service.
//! - [`model`]: metric families as collectors produce them, kept apart from their encoders.
//! - [`exposition`] and [`remote_write`]: the two encoders of the model; `exposition` also
//!   reads the text format (`*.prom` files, exporters' pages).
//! - [`codec`]: snappy (block format) and zstd body compression with size limits.
//! - [`names`]: series names agent and server both depend on (liveness and checks).
//! - [`duration`]: durations as people write them (`15s`, `1m30s`, `30d`).
//! - [`status`]: the status contract, the server's answers and the sender's action on each.
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

pub mod codec;
pub mod duration;
pub mod exposition;
pub mod failures;
pub mod model;
pub mod names;
pub mod remote_write;
pub mod status;

/// Prometheus remote-write 1.0 messages.
pub mod prometheus {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}

/// The `peeper` protobuf package; generated code refers to `prometheus` through it.
pub mod peeper {
    /// The `peeper.v1` gRPC service and its messages.
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        include!(concat!(env!("OUT_DIR"), "/peeper.v1.rs"));
    }
}

pub use peeper::v1;

pub use model::{MetricFamily, MetricKind, Series};
