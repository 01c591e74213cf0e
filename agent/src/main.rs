//! The `peeper-agent` binary: parse, validate, run. Everything else lives in the library.
#![forbid(unsafe_code)]

use clap::Parser;
use peeper_agent::cli::{Cli, Command};
use peeper_agent::config::AgentConfig;
use peeper_agent::runtime;
use std::process::ExitCode;

fn main() -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    let needs_push = match cli.command {
        Some(Command::ShowConfig) => false,
        Some(Command::Status { .. }) => true,
        None => !(cli.once && cli.print),
    };
    let env = |name: &str| std::env::var(name).ok();
    let config = match AgentConfig::try_new(&cli, &env, needs_push) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("peeper-agent: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("peeper-agent: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match &cli.command {
            Some(Command::ShowConfig) => {
                println!("{config:#?}");
                return ExitCode::SUCCESS;
            }
            Some(Command::Status {
                name,
                state,
                message,
                expect_every,
            }) => {
                let result = peeper_agent::status::push_status(
                    &config,
                    name,
                    state,
                    message.as_deref(),
                    expect_every.as_deref(),
                )
                .await;
                return match result {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(err) => {
                        eprintln!("peeper-agent: {err}");
                        ExitCode::FAILURE
                    }
                };
            }
            None => {}
        }
        if cli.once && cli.print {
            print!("{}", runtime::print_once(&config).await);
            return ExitCode::SUCCESS;
        }
        let result = if cli.once {
            runtime::push_once(&config).await.map(|samples| {
                tracing::info!(samples, "pushed");
            })
        } else {
            runtime::run(config, shutdown_signal()).await
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("peeper-agent: {err}");
                ExitCode::FAILURE
            }
        }
    })
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PEEPER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
