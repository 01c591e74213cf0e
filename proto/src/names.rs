//! Series names that agent and server both depend on: the agent pushes them, and the
//! server's liveness tracking (ARCHITECTURE.md, "Liveness") picks them out of the batches it
//! accepts and keeps them going when their source falls silent.

/// The agent's collection interval, pushed every cycle by a running agent (not by `--once`
/// or `status`). A batch carrying it tells the server that agent (tenant, `instance`) is alive.
pub const AGENT_INTERVAL: &str = "peeper_agent_interval_seconds";

/// 1 when a check's last result was OK, 0 when ERR (and, written by the server, when the
/// next result is overdue).
pub const CHECK_STATUS: &str = "peeper_check_status";
/// When the check's last result was produced (Unix seconds).
pub const CHECK_LAST_RUN: &str = "peeper_check_last_run_timestamp_seconds";
/// The first line of the check's last output, as the `message` label.
pub const CHECK_MESSAGE: &str = "peeper_check_message_info";
/// How often results are expected (`peeper-agent status --expect-every`).
pub const CHECK_EXPECTED_INTERVAL: &str = "peeper_check_expected_interval_seconds";
/// The label naming a check.
pub const CHECK_LABEL: &str = "check";
/// The label naming the message of [`CHECK_MESSAGE`].
pub const MESSAGE_LABEL: &str = "message";
/// The label naming the host an agent runs on.
pub const INSTANCE_LABEL: &str = "instance";

/// Series the server watches for in accepted batches.
pub const WATCHED: [&str; 5] = [
    AGENT_INTERVAL,
    CHECK_STATUS,
    CHECK_LAST_RUN,
    CHECK_MESSAGE,
    CHECK_EXPECTED_INTERVAL,
];
