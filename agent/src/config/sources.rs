//! Where the configuration comes from, kept so a reload (SIGHUP) reads every input again: the
//! command line (flags win), the env files of `--env-file` (re-read each time; they win over
//! the process environment, which is fixed at start), the process environment, and the TOML
//! file of `--config` (re-read each time). The token file is read again with it.

use super::envfile::EnvFiles;
use super::{AgentConfig, ConfigError};
use crate::cli::Cli;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::PathBuf;

/// The agent's inputs: its arguments, parsed again on every load.
#[derive(Debug, Clone)]
pub struct Sources {
    args: Vec<OsString>,
}

/// One reading of every input.
#[derive(Debug)]
pub struct Loaded {
    pub cli: Cli,
    pub env: EnvFiles,
}

impl Sources {
    pub fn new(args: Vec<OsString>) -> Self {
        Sources { args }
    }

    /// The process's own arguments. Help, version and usage errors exit here, as clap does.
    pub fn from_process() -> Self {
        let args: Vec<OsString> = std::env::args_os().collect();
        Cli::command().get_matches_from(args.clone());
        Sources::new(args)
    }

    /// Parses the arguments and reads the env files, folding their `PEEPER_*` values into
    /// the flags they are twins of (unless the flag itself was given).
    pub fn read(&self) -> Result<Loaded, ConfigError> {
        let matches = Cli::command()
            .try_get_matches_from(self.args.clone())
            .map_err(|e| ConfigError::Invalid {
                setting: "command line",
                message: e.to_string(),
            })?;
        let mut cli = Cli::from_arg_matches(&matches).map_err(|e| ConfigError::Invalid {
            setting: "command line",
            message: e.to_string(),
        })?;
        let env = EnvFiles::load(&cli.env_files)?;
        overlay_flags(&mut cli, &matches, &env)?;
        Ok(Loaded { cli, env })
    }

    /// Reads everything and validates it into an [`AgentConfig`].
    pub fn load(&self, needs_push: bool) -> Result<(Loaded, AgentConfig), ConfigError> {
        let loaded = self.read()?;
        let lookup = |name: &str| loaded.env.lookup(name);
        let config = AgentConfig::try_new(&loaded.cli, &lookup, needs_push)?;
        Ok((loaded, config))
    }
}

fn number<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Env {
        name,
        value,
        expected: "a whole number",
    })
}

/// The env twins of the flags, for values that come from an env file rather than the
/// process environment clap looked at.
fn overlay_flags(cli: &mut Cli, matches: &ArgMatches, env: &EnvFiles) -> Result<(), ConfigError> {
    let from_file = |id: &str, name: &str| {
        (matches.value_source(id) != Some(ValueSource::CommandLine))
            .then(|| env.get(name).map(str::to_owned))
            .flatten()
    };
    if let Some(v) = from_file("config", "PEEPER_CONFIG") {
        cli.config = Some(PathBuf::from(v));
    }
    if let Some(v) = from_file("server", "PEEPER_SERVER_URL") {
        cli.server = Some(v);
    }
    if let Some(v) = from_file("token_file", "PEEPER_TOKEN_FILE") {
        cli.token_file = Some(PathBuf::from(v));
    }
    if let Some(v) = from_file("ca_file", "PEEPER_CA_FILE") {
        cli.ca_file = Some(PathBuf::from(v));
    }
    if let Some(v) = from_file("instance", "PEEPER_INSTANCE") {
        cli.instance = Some(v);
    }
    if let Some(v) = from_file("interval", "PEEPER_INTERVAL") {
        cli.interval = Some(v);
    }
    if let Some(v) = from_file("collect_timeout", "PEEPER_COLLECT_TIMEOUT") {
        cli.collect_timeout = Some(v);
    }
    if let Some(v) = from_file("buffer_dir", "PEEPER_BUFFER_DIR") {
        cli.buffer_dir = Some(PathBuf::from(v));
    }
    if let Some(v) = from_file("buffer_max_bytes", "PEEPER_BUFFER_MAX_BYTES") {
        cli.buffer_max_bytes = Some(number("PEEPER_BUFFER_MAX_BYTES", v)?);
    }
    if let Some(v) = from_file("drain_rate", "PEEPER_DRAIN_RATE") {
        cli.drain_rate = Some(number("PEEPER_DRAIN_RATE", v)?);
    }
    if let Some(v) = from_file("transport", "PEEPER_TRANSPORT") {
        cli.transport = Some(super::parse_transport(Some(&v))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(dir: &std::path::Path, extra: &[&str]) -> Sources {
        let mut args: Vec<OsString> = vec!["peeper-agent".into(), "--env-file".into()];
        args.push(dir.join("agent.env").into());
        args.extend(extra.iter().map(OsString::from));
        Sources::new(args)
    }

    #[test]
    fn env_files_fill_flags_and_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("agent.env");
        std::fs::write(&env, "PEEPER_INTERVAL=5s\nPEEPER_INSTANCE=one\n").unwrap();
        let sources = sources(dir.path(), &["--once", "--print"]);
        let (_, config) = sources.load(false).unwrap();
        assert_eq!(config.interval, std::time::Duration::from_secs(5));
        assert_eq!(config.instance, "one");
        std::fs::write(&env, "PEEPER_INTERVAL=7s\nPEEPER_INSTANCE=two\n").unwrap();
        let (_, config) = sources.load(false).unwrap();
        assert_eq!(config.interval, std::time::Duration::from_secs(7));
        assert_eq!(config.instance, "two");
    }

    #[test]
    fn a_flag_on_the_command_line_wins_over_the_env_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("agent.env"), "PEEPER_INTERVAL=5s\n").unwrap();
        let sources = sources(dir.path(), &["--interval", "9s", "--once", "--print"]);
        let (_, config) = sources.load(false).unwrap();
        assert_eq!(config.interval, std::time::Duration::from_secs(9));
    }

    #[test]
    fn collector_settings_come_from_env_files_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("agent.env"),
            "PEEPER_APACHE_ENABLED=true\nPEEPER_APACHE_URL=http://127.0.0.1:9/server-status?auto\n",
        )
        .unwrap();
        let (_, config) = sources(dir.path(), &["--once", "--print"])
            .load(false)
            .unwrap();
        assert!(
            config
                .collectors
                .get::<crate::collector::apache::ApacheConfig>()
                .enabled
        );
    }

    #[test]
    fn a_missing_env_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = sources(dir.path(), &["--once", "--print"])
            .load(false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("agent.env"), "{err}");
    }
}
