//! The commands that write an installation's files: `certs init` (development
//! certificates) and `alertmanager-config`.

use super::CliError;
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write a new CA and a server certificate for HOST under DIR (ca/, dev/, crt/).
    Init {
        /// Directory to write into (created if missing).
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// The server's host name, as agents will connect to it.
        #[arg(long, default_value = "localhost")]
        host: String,
        /// An address agents may connect by (repeatable); loopback is always in.
        #[arg(long = "ip", value_name = "ADDRESS")]
        ips: Vec<std::net::IpAddr>,
    },
}

/// `certs init`.
pub(super) fn certs(command: &CertsCommand) -> Result<(), CliError> {
    let CertsCommand::Init { dir, host, ips } = command;
    let files = crate::devcert::init_with_ips(dir, host, ips)?;
    eprintln!(
        "wrote {}, {}, {} and {}",
        files.ca_cert.display(),
        files.server_cert.display(),
        files.server_key.display(),
        files.proxy_pem.display()
    );
    Ok(())
}

/// `alertmanager-config`: rendered from the process environment (the env files' variables),
/// printed or written to `out`.
pub(super) fn alertmanager_config(
    templates: &Path,
    out: Option<&Path>,
    telegram: bool,
    email: bool,
) -> Result<(), CliError> {
    let env = |name: &str| std::env::var(name).ok();
    let force = crate::alerting::Force { telegram, email };
    let text = crate::alerting::render(&env, templates, force)?;
    match out {
        Some(path) => crate::alerting::write_private(path, &text)?,
        None => print!("{text}"),
    }
    Ok(())
}
