//! The `peeper-agent` binary: read the inputs, validate, dispatch. Everything else lives in
//! the library.
#![forbid(unsafe_code)]

use peeper_agent::cli::{Cli, Command, LogFormat};
use peeper_agent::config::AgentConfig;
use peeper_agent::config::sources::Sources;
use peeper_agent::{check, runtime};
use std::process::ExitCode;

fn main() -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let sources = Sources::from_process();
    let loaded = match sources.read() {
        Ok(loaded) => loaded,
        Err(err) => return fail(err, 2),
    };
    init_logging(loaded.cli.log_format);
    let cli = &loaded.cli;
    let needs_push = match cli.command {
        Some(Command::ShowConfig) => false,
        Some(Command::CheckConfig | Command::Status { .. }) => true,
        None => !(cli.once && cli.print),
    };
    let lookup = |name: &str| loaded.env.lookup(name);
    let config = match AgentConfig::try_new(cli, &lookup, needs_push) {
        Ok(config) => config,
        Err(err) => return fail(err, 2),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(format!("cannot start the async runtime: {err}"), 1),
    };
    runtime.block_on(dispatch(cli, config, sources))
}

async fn dispatch(cli: &Cli, config: AgentConfig, sources: Sources) -> ExitCode {
    let result = match &cli.command {
        Some(Command::ShowConfig) => {
            println!("{config:#?}");
            Ok(())
        }
        Some(Command::CheckConfig) => {
            return if check::check_config(&config, &cli.env_files).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Some(Command::Status {
            name,
            state,
            message,
            expect_every,
        }) => peeper_agent::status::push_status(
            &config,
            name,
            state.as_str(),
            message.as_deref(),
            expect_every.as_deref(),
        )
        .await
        .map_err(|e| e.to_string()),
        None if cli.once && cli.print => {
            print!("{}", runtime::print_once(&config).await);
            Ok(())
        }
        None if cli.once => runtime::push_once(&config)
            .await
            .map(|samples| tracing::info!(samples, "pushed"))
            .map_err(|e| e.to_string()),
        None => runtime::run(config, reloads_on_sighup(sources), shutdown_signal())
            .await
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(err, 1),
    }
}

fn fail(err: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("peeper-agent: {err}");
    ExitCode::from(code)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PEEPER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// On every SIGHUP (`systemctl reload`): the command line, env files, config file and token
/// file read again, as a configuration or the reason it cannot be used.
fn reloads_on_sighup(sources: Sources) -> tokio::sync::mpsc::Receiver<Result<AgentConfig, String>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut hangup = signal(SignalKind::hangup()).expect("install SIGHUP handler");
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reading the configuration again");
            let next = sources
                .load(true)
                .map(|(_, config)| config)
                .map_err(|e| e.to_string());
            if tx.send(next).await.is_err() {
                break;
            }
        }
    });
    rx
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
