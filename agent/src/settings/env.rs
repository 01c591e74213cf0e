//! Reading a module's `PEEPER_<MODULE>_*` variables over its config-file table.

use super::{ConfigDuration, ConfigError, Secret};
use std::path::PathBuf;

/// Reads the environment through a function so tests can supply their own.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `true`/`false` as env files write them (`1`, `yes`, `on`, ...; empty is false).
pub fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::Env {
            name,
            value: value.to_owned(),
            expected: "true or false",
        }),
    }
}

/// Applies the environment to one module's settings; each setter names its variable. An
/// empty variable counts as unset, except for booleans (empty is false).
pub struct EnvOverlay<'a> {
    env: EnvLookup<'a>,
}

impl std::fmt::Debug for EnvOverlay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvOverlay")
    }
}

impl<'a> EnvOverlay<'a> {
    pub fn new(env: EnvLookup<'a>) -> Self {
        EnvOverlay { env }
    }

    /// The variable's value, unless unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn string(&self, name: &'static str, target: &mut String) {
        if let Some(value) = self.get(name) {
            *target = value.trim().to_owned();
        }
    }

    pub fn secret(&self, name: &'static str, target: &mut Option<Secret>) {
        if let Some(value) = self.get(name) {
            *target = Some(Secret::from(value));
        }
    }

    pub fn path(&self, name: &'static str, target: &mut Option<PathBuf>) {
        if let Some(value) = self.get(name) {
            *target = Some(PathBuf::from(value.trim()));
        }
    }

    /// A path that always has a value (a default), replaced when the variable is set.
    pub fn required_path(&self, name: &'static str, target: &mut PathBuf) {
        if let Some(value) = self.get(name) {
            *target = PathBuf::from(value.trim());
        }
    }

    pub fn bool(&self, name: &'static str, target: &mut bool) -> Result<(), ConfigError> {
        if let Some(value) = (self.env)(name) {
            *target = parse_bool(name, &value)?;
        }
        Ok(())
    }

    pub fn port(&self, name: &'static str, target: &mut u16) -> Result<(), ConfigError> {
        self.number(name, target, "a port number (1-65535)")
    }

    /// A number; `expected` says what the variable holds and its range.
    pub fn number<T: std::str::FromStr>(
        &self,
        name: &'static str,
        target: &mut T,
        expected: &'static str,
    ) -> Result<(), ConfigError> {
        if let Some(value) = self.get(name) {
            *target = value.trim().parse().map_err(|_| ConfigError::Env {
                name,
                value,
                expected,
            })?;
        }
        Ok(())
    }

    pub fn duration(
        &self,
        name: &'static str,
        target: &mut ConfigDuration,
    ) -> Result<(), ConfigError> {
        self.number(name, target, "a duration like 5s, 500ms or 1h")
    }

    /// A comma-separated list; blank items are dropped.
    pub fn list(&self, name: &'static str, target: &mut Vec<String>) {
        if let Some(value) = (self.env)(name) {
            *target = value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect();
        }
    }
}
