//! Reading a module's `PEEPER_<MODULE>_*` variables over its config-file table.

use crate::config::{ConfigError, EnvLookup};
use std::path::PathBuf;

/// Applies the environment to one module's settings; each setter names its variable.
pub struct EnvOverlay<'a> {
    env: EnvLookup<'a>,
}

impl<'a> EnvOverlay<'a> {
    pub fn new(env: EnvLookup<'a>) -> Self {
        EnvOverlay { env }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn string(&self, name: &'static str, target: &mut String) {
        if let Some(value) = self.get(name) {
            *target = value.trim().to_owned();
        }
    }

    pub fn secret(&self, name: &'static str, target: &mut Option<Secret>) {
        if let Some(value) = self.get(name) {
            *target = Some(Secret(value));
        }
    }

    pub fn path(&self, name: &'static str, target: &mut Option<PathBuf>) {
        if let Some(value) = self.get(name) {
            *target = Some(PathBuf::from(value.trim()));
        }
    }

    pub fn bool(&self, name: &'static str, target: &mut bool) -> Result<(), ConfigError> {
        if let Some(value) = (self.env)(name) {
            *target = crate::config::parse_bool(name, &value)?;
        }
        Ok(())
    }

    pub fn port(&self, name: &'static str, target: &mut u16) -> Result<(), ConfigError> {
        if let Some(value) = self.get(name) {
            *target = value.trim().parse().map_err(|_| ConfigError::Env {
                name,
                value,
                expected: "a port number (1-65535)",
            })?;
        }
        Ok(())
    }
}

/// Reads a secret from a file, trimmed; names the file and the setting on failure.
pub fn read_secret(setting: &'static str, path: &std::path::Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        setting,
        path: path.to_owned(),
        source,
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// A password or similar from the config file, the environment or a `*_FILE`: usable by the
/// collector, shown as `<redacted>` by `Debug`, so printing a config never leaks it.
#[derive(Clone, PartialEq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}
