//! One duration type for the config file, the environment and flags: `15s`, `500ms`,
//! `1m30s`, `2h`, `1d` or plain seconds, parsed by `peeper_proto::duration`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration as people write it in settings. Derefs to [`Duration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct ConfigDuration(pub Duration);

/// The text was not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration: write it like `5s`, `500ms` or `1h`")]
pub struct NotADuration(pub String);

impl FromStr for ConfigDuration {
    type Err = NotADuration;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        peeper_proto::duration::parse(text)
            .map(ConfigDuration)
            .ok_or_else(|| NotADuration(text.to_owned()))
    }
}

impl<'de> serde::Deserialize<'de> for ConfigDuration {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::ops::Deref for ConfigDuration {
    type Target = Duration;

    fn deref(&self) -> &Duration {
        &self.0
    }
}

impl From<Duration> for ConfigDuration {
    fn from(value: Duration) -> Self {
        ConfigDuration(value)
    }
}

impl From<ConfigDuration> for Duration {
    fn from(value: ConfigDuration) -> Self {
        value.0
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&peeper_proto::duration::format(self.0))
    }
}
