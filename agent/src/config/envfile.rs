//! Env files (`--env-file`, repeatable): `NAME=value` lines the agent reads itself, at start
//! and on every reload (SIGHUP), so a changed `/etc/default/peeper-agent` takes effect without
//! a restart (systemd reads its `EnvironmentFile` only at start). A value in an env file wins
//! over the process environment; a flag on the command line wins over both.
//!
//! The format is the one `setup.sh` and systemd's `EnvironmentFile` share: blank lines and
//! `#` comments, an optional `export `, the value optionally in single or double quotes.
//! Nothing in the file is executed or expanded.

use super::ConfigError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The variables of every env file, later files winning.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EnvFiles {
    vars: BTreeMap<String, String>,
}

impl EnvFiles {
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let mut files = EnvFiles::default();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.clone(),
                source,
            })?;
            files.parse(path, &text)?;
        }
        Ok(files)
    }

    fn parse(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let bad = |message: &str| ConfigError::ParseFile {
                path: path.to_owned(),
                message: format!("line {}: {message}", number + 1),
            };
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| bad("expected NAME=value"))?;
            let name = name.trim();
            let valid = name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            if name.is_empty() || !valid {
                return Err(bad(&format!("{name:?} is not a variable name")));
            }
            self.vars.insert(name.to_owned(), unquote(value.trim()));
        }
        Ok(())
    }

    /// The value of `name`: from the env files, else from the process environment.
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }

    /// Only what the env files say (no process environment).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// `"a b"` and `'a b'` lose their quotes (a double-quoted value keeps `\"`, `\\` and `\$` as
/// the escaped character, as setup.sh writes them); an unquoted value ends at ` #`.
fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return value[1..value.len() - 1].to_owned();
    }
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        let mut out = String::new();
        let mut chars = value[1..value.len() - 1].chars();
        while let Some(c) = chars.next() {
            match (c, chars.clone().next()) {
                ('\\', Some(next @ ('"' | '\\' | '$' | '`'))) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push(c),
            }
        }
        return out;
    }
    match value.find(" #") {
        Some(i) => value[..i].trim_end().to_owned(),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_format_setup_sh_and_systemd_share() {
        let mut files = EnvFiles::default();
        let text = "# comment\n\nPEEPER_INTERVAL=5s\nexport PEEPER_INSTANCE=\"db 1\"\n\
                    PEEPER_MYSQL_PASSWORD=\"p\\\"w\\$x\"\nPEEPER_A='x # y'\nPEEPER_B=v # note\n\
                    PEEPER_INTERVAL=10s\n";
        files.parse(Path::new("f"), text).unwrap();
        assert_eq!(
            files.get("PEEPER_INTERVAL"),
            Some("10s"),
            "a later line wins"
        );
        assert_eq!(files.get("PEEPER_INSTANCE"), Some("db 1"));
        assert_eq!(files.get("PEEPER_MYSQL_PASSWORD"), Some("p\"w$x"));
        assert_eq!(files.get("PEEPER_A"), Some("x # y"));
        assert_eq!(files.get("PEEPER_B"), Some("v"));
    }

    #[test]
    fn a_bad_line_names_the_file_and_line() {
        let err = EnvFiles::default()
            .parse(
                Path::new("/etc/default/peeper-agent"),
                "A=1\nnot a setting\n",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/etc/default/peeper-agent") && err.contains("line 2"),
            "{err}"
        );
        let err = EnvFiles::default()
            .parse(Path::new("f"), "1A=x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a variable name"), "{err}");
    }

    #[test]
    fn files_win_over_the_process_environment() {
        let mut files = EnvFiles::default();
        files.parse(Path::new("f"), "PATH=/from/file\n").unwrap();
        assert_eq!(files.lookup("PATH").as_deref(), Some("/from/file"));
        assert!(
            files.lookup("HOME").is_some(),
            "falls back to the process environment"
        );
    }
}
