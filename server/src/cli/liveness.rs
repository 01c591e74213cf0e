//! `peeper-server agents|checks list|forget`: what liveness tracking knows, read from and
//! written to the store.

use super::{Cli, CliError};
use crate::admin::Admin;
use crate::config::{FileConfig, ServerConfig};
use crate::forward::Forwarder;
use crate::liveness::StoreClient;
use crate::server::ServerError;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Every agent with its last push, its age and its state (up or silent).
    List {
        /// Only this tenant's agents.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Retire a decommissioned host: its silence alert resolves, and its checks are
    /// forgotten too. An agent that pushes again is tracked again.
    Forget { tenant: String, instance: String },
}

#[derive(Debug, Subcommand)]
pub enum ChecksCommand {
    /// Every passive check with its last result, its age and its state.
    List {
        /// Only this tenant's checks.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Retire one check: its alerts resolve. A check that reports again is tracked again.
    Forget {
        tenant: String,
        instance: String,
        check: String,
    },
}

/// `agents list|forget`.
pub(super) fn agents(cli: &Cli, file: FileConfig, command: &AgentsCommand) -> Result<(), CliError> {
    let admin = admin(cli, file)?;
    let out = super::runtime()?.block_on(async {
        match command {
            AgentsCommand::List { tenant } => admin.list_agents(tenant.as_deref()).await,
            AgentsCommand::Forget { tenant, instance } => {
                let checks = admin.forget_agent(tenant, instance).await?;
                Ok(format!(
                    "forgot agent {instance} of tenant {tenant} and its {checks} check(s); \
                     their alerts resolve at the next rule evaluation\n"
                ))
            }
        }
    })?;
    print!("{out}");
    Ok(())
}

/// `checks list|forget`.
pub(super) fn checks(cli: &Cli, file: FileConfig, command: &ChecksCommand) -> Result<(), CliError> {
    let admin = admin(cli, file)?;
    let out = super::runtime()?.block_on(async {
        match command {
            ChecksCommand::List { tenant } => admin.list_checks(tenant.as_deref()).await,
            ChecksCommand::Forget {
                tenant,
                instance,
                check,
            } => {
                admin.forget_check(tenant, instance, check).await?;
                Ok(format!(
                    "forgot check {check} on {instance} of tenant {tenant}; its alerts \
                     resolve at the next rule evaluation\n"
                ))
            }
        }
    })?;
    print!("{out}");
    Ok(())
}

/// The store access of the server's configuration, for commands that do not listen: the
/// transport settings (TLS or plaintext) are left out, everything else is validated.
fn admin(cli: &Cli, mut file: FileConfig) -> Result<Admin, CliError> {
    let mut over = cli.overrides();
    (over.tls_cert, over.tls_key, over.plaintext) = (None, None, true);
    (file.tls_cert, file.tls_key, file.plaintext) = (None, None, Some(true));
    let config = ServerConfig::from_sources(over, file)?;
    let forwarder = Forwarder::new(config.forward_timeout())
        .map_err(|e| CliError::Server(ServerError::Forward(e)))?;
    let client = StoreClient::new(
        config.liveness(),
        config.store(),
        config.forward_mode(),
        forwarder,
    );
    Ok(Admin::new(client, config.liveness().clone())?)
}
