//! Applying a reloaded configuration (SIGHUP) to the running agent: only what changed
//! restarts. A collector whose section changed restarts (at once, so its series have no gap);
//! a new interval, timeout or instance restarts every loop; new server settings (URL, token,
//! CA, transport) replace the delivery's sender; the disk queue and everything unchanged run
//! on untouched. A configuration that cannot be used is refused as a whole, with one log
//! line, and the running one stays.

use super::loops::{FirstCycle, LoopKey, Loops};
use crate::config::AgentConfig;
use crate::push::{DeliveryControl, Sender};
use crate::stats::AgentStats;

/// Which collectors a reload restarted and stopped, for its log line.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub restarted: Vec<&'static str>,
    pub stopped: Vec<&'static str>,
}

/// Applies `next` (or its refusal) to the running agent; returns the configuration now in
/// force.
pub fn apply(
    current: AgentConfig,
    next: Result<AgentConfig, String>,
    loops: &mut Loops,
    delivery: &DeliveryControl,
    stats: &AgentStats,
) -> AgentConfig {
    let outcome = next.and_then(|next| plan(&current, next));
    match outcome {
        Err(problem) => {
            stats.record_reload(false);
            tracing::error!(
                "configuration reload refused, the running configuration stays: {problem}"
            );
            current
        }
        Ok((next, sender)) => {
            let changes = switch(&current, &next, loops);
            let server_settings = sender.is_some();
            if let Some(sender) = sender {
                let drain_rate = next.push.as_ref().map_or(1, |p| p.drain_rate);
                delivery.reconfigure(sender, drain_rate);
            }
            stats.record_reload(true);
            tracing::info!(
                restarted = ?changes.restarted,
                stopped = ?changes.stopped,
                server_settings,
                "configuration reloaded"
            );
            next
        }
    }
}

/// Checks `next` can be used and builds the new sender if the server settings changed.
/// Settings a running agent cannot change keep their running values.
fn plan(
    current: &AgentConfig,
    mut next: AgentConfig,
) -> Result<(AgentConfig, Option<Sender>), String> {
    let Some(push) = next.push.as_mut() else {
        return Err("no server to push to".to_owned());
    };
    let running = current.push.as_ref();
    // The queue's directory and bound belong to the open queue.
    if next.buffer_dir != current.buffer_dir {
        tracing::warn!(
            running = %current.buffer_dir.display(),
            "buffer_dir changes at the next restart; the running queue stays where it is"
        );
        next.buffer_dir = current.buffer_dir.clone();
    }
    if let Some(running) = running
        && push.buffer_max_bytes != running.buffer_max_bytes
    {
        tracing::warn!("buffer_max_bytes changes at the next restart");
        push.buffer_max_bytes = running.buffer_max_bytes;
    }
    let server_changed = running.is_none_or(|running| {
        (
            &running.write_url,
            &running.token,
            &running.ca_file,
            running.transport,
            running.drain_rate,
        ) != (
            &push.write_url,
            &push.token,
            &push.ca_file,
            push.transport,
            push.drain_rate,
        )
    });
    let sender = if server_changed {
        Some(Sender::try_new(push).map_err(|e| e.to_string())?)
    } else {
        None
    };
    Ok((next, sender))
}

/// Restarts the loops whose settings differ.
fn switch(current: &AgentConfig, next: &AgentConfig, loops: &mut Loops) -> Changes {
    let mut changes = Changes::default();
    let timing = current.interval != next.interval
        || current.collect_timeout != next.collect_timeout
        || current.instance != next.instance;
    // Both hold every registered section, in the same order.
    for (old, new) in current.collectors.all().zip(next.collectors.all()) {
        let (was, is) = (old.enabled(), new.enabled());
        let key = LoopKey::Collector(new.section());
        match (was, is) {
            (true, false) => {
                loops.stop(key);
                changes.stopped.push(new.section());
            }
            (_, true) if !was || !new.same_as(old.as_ref()) || timing => {
                loops.spawn(key, next, FirstCycle::Now);
                changes.restarted.push(new.section());
            }
            _ => {}
        }
    }
    if timing {
        loops.spawn(LoopKey::SelfMetrics, next, FirstCycle::Now);
    }
    changes
}
