//! `peeper-agent status NAME OK|ERR [--message TEXT] [--expect-every 1h]`: one passive check
//! result pushed at once, for cron scripts. The series are those of the checks collector.

use crate::collector::checks::config::validate_check_name;
use crate::collector::checks::{CheckResult, message_text, result_families, unix_now};
use crate::config::{AgentConfig, parse_duration};
use crate::runtime::{JobFamilies, RunError, push_families};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{0}")]
    Name(String),
    #[error("--expect-every {0:?} is not a duration: write it like 30m, 1h or 1d")]
    ExpectEvery(String),
    #[error(transparent)]
    Push(#[from] RunError),
}

/// Validates the arguments, builds the series and pushes them.
pub async fn push_status(
    config: &AgentConfig,
    name: &str,
    state: &str,
    message: Option<&str>,
    expect_every: Option<&str>,
) -> Result<(), StatusError> {
    validate_check_name(name).map_err(StatusError::Name)?;
    let expected = expect_every
        .map(|text| {
            parse_duration(text)
                .filter(|d| *d >= Duration::from_secs(1))
                .ok_or_else(|| StatusError::ExpectEvery(text.to_owned()))
        })
        .transpose()?;
    let result = CheckResult {
        ok: state.eq_ignore_ascii_case("OK"),
        message: message.and_then(message_text).unwrap_or_default(),
        finished_at: unix_now(),
        duration: None,
    };
    let families = result_families(&[(name, &result)], expected);
    push_families(config, &[JobFamilies::new("checks", families)]).await?;
    Ok(())
}
