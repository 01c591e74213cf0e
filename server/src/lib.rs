//! Peeper's ingest server: authenticates agents by bearer token, enforces tenant isolation
//! and per-request limits, and forwards Prometheus remote-write to VictoriaMetrics (or any
//! remote-write receiver), answering only after the store accepted the data.
//!
//! Modules: [`config`] (file + flags + env into a validated [`ServerConfig`]), [`tokens`]
//! (the token file), [`auth`] (tokens in the running server, allow lists), [`net`] (CIDRs,
//! trusted proxies, the client's address), [`ratelimit`] (per-token samples/s), [`scan`]
//! (the zero-allocation remote-write validator), [`store`] (single URL or VictoriaMetrics
//! cluster accounts), [`forward`] (extra-label or rewrite forwarding), [`ingest`] (the HTTP
//! and gRPC routes and the one error → status/code mapping), [`metrics`], [`server`]
//! (listener, TLS, graceful shutdown) and [`cli`].
//!
//! Embedding the server (as the agent's end-to-end tests do):
//!
//! ```no_run
//! use peeper_server::config::{ForwardMode, Limits, ServerConfig, ServerSettings, TlsPaths};
//! use peeper_server::tokens::TokenStore;
//! # async fn demo(data_dir: std::path::PathBuf) -> Result<(), Box<dyn std::error::Error>> {
//! let (_id, token) = TokenStore::open(&data_dir)?.create("acme", &[])?;
//! let config = ServerConfig::try_new(ServerSettings {
//!     listen: "127.0.0.1:0".parse()?,
//!     tls: Some(TlsPaths { cert: "cert.pem".into(), key: "key.pem".into() }), // None: plaintext
//!     remote_write_url: "http://127.0.0.1:8428/api/v1/write".into(),
//!     data_dir,
//!     forward_mode: ForwardMode::ExtraLabel,
//!     limits: Limits::default(),
//! })?;
//! let server = peeper_server::start(config).await?; // bound when this returns
//! let url = format!("https://{}/api/v1/write", server.local_addr());
//! // ... push with `Authorization: Bearer {token}` ...
//! server.shutdown().await;
//! # let _ = (url, token); Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

pub mod admin;
pub mod alerting;
pub mod auth;
pub mod batcher;
pub mod body;
pub mod checkconfig;
pub mod cli;
pub mod config;
pub mod conn;
pub mod devcert;
pub mod flush;
pub mod forward;
pub mod ingest;
pub mod listener;
pub mod liveness;
pub mod metrics;
pub mod net;
pub mod perms;
pub mod ratelimit;
pub mod reload;
pub mod sampling;
pub mod scan;
pub mod series_limit;
pub mod server;
pub mod store;
pub mod tls;
pub mod tokens;

pub use config::ServerConfig;
pub use server::{RunningServer, ServerError, start};
