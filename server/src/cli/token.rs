//! `peeper-server token create|list|revoke`: the agents' tokens in the data directory.

use super::CliError;
use crate::tokens::TokenStore;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a tenant and print it once on stdout.
    Create {
        /// Tenant name: 1 to 64 of A-Z a-z 0-9 _ . -
        #[arg(long)]
        tenant: String,
        /// Address or CIDR block the token may be used from (repeatable); none = anywhere.
        #[arg(long = "allow", value_name = "CIDR")]
        allow: Vec<String>,
        /// This token's ingestion rate in samples/s (0 = unlimited) instead of
        /// [limits] max_samples_per_second_per_token.
        #[arg(long = "rate-limit", value_name = "SAMPLES_PER_SEC")]
        rate_limit: Option<u64>,
    },
    /// List tokens: id, tenant, created, allow list (never the token or its hash).
    List,
    /// Revoke a token by id; running servers stop accepting it within a second.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: String,
    },
}

pub(super) fn run(command: &TokenCommand, data_dir: PathBuf) -> Result<(), CliError> {
    let mut store = TokenStore::open(&data_dir)?;
    match command {
        TokenCommand::Create {
            tenant,
            allow,
            rate_limit,
        } => {
            let (id, token) = store.create_with(tenant, allow, *rate_limit)?;
            println!("{token}");
            eprintln!(
                "created token {id} for tenant {tenant} in {}; it is shown only now, store it \
                 in the agent's token file",
                store.path().display()
            );
        }
        TokenCommand::List => {
            println!(
                "{:<8}  {:<24}  {:<20}  {:<12}  ALLOW",
                "ID", "TENANT", "CREATED", "RATE"
            );
            for t in store.list() {
                let allow = if t.allow.is_empty() {
                    "any".to_owned()
                } else {
                    t.allow.join(",")
                };
                let rate = match t.rate_limit {
                    Some(0) => "unlimited".to_owned(),
                    Some(n) => format!("{n}/s"),
                    None => "default".to_owned(),
                };
                println!(
                    "{:<8}  {:<24}  {:<20}  {rate:<12}  {allow}",
                    t.id,
                    t.tenant,
                    format_utc(t.created)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let entry = store.revoke(id)?;
            eprintln!("revoked token {} of tenant {}", entry.id, entry.tenant);
        }
    }
    Ok(())
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
