//! `peeper-server`: see the crate documentation and `peeper-server --help`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // One crypto provider (aws-lc-rs) for rustls, before anything touches TLS.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = peeper_server::cli::Cli::parse();
    peeper_server::cli::run(cli)
}
