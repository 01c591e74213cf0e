//! `node_timex_*`: the kernel's clock discipline (NTP) state, read with adjtimex(2) as
//! node_exporter's timex collector (timex.go) reads and scales it. `node_timex_sync_status`
//! is what "clock not synchronised" alerts use.
//!
//! This is the agent's only `unsafe` code (ARCHITECTURE.md, "Unsafe code"): neither rustix
//! nor std wraps adjtimex, and no file exposes the same state. The call is made read-only
//! (`modes` 0); the agent has no `CAP_SYS_TIME`, so the kernel would refuse a change anyway.

use super::LinuxError;
use peeper_proto::MetricFamily;

/// adjtimex's return value when the clock is not synchronised.
const TIME_ERROR: i32 = 5;
/// The `status` bit saying `offset` and `jitter` are in nanoseconds (else microseconds).
const STA_NANO: i64 = 0x2000;
const MICROS: f64 = 1e6;
const NANOS: f64 = 1e9;
/// Frequencies are in ppm with a 16-bit fraction (adjtimex(2), NOTES).
const PPM16FRAC: f64 = 1e6 * 65536.0;

/// The fields of `struct timex` node_exporter exports, widened to `i64`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KernelClock {
    /// adjtimex's return value: the clock state (`TIME_OK`, ..., `TIME_ERROR`).
    pub state: i32,
    pub offset: i64,
    pub freq: i64,
    pub maxerror: i64,
    pub esterror: i64,
    pub status: i64,
    pub constant: i64,
    pub tick: i64,
    pub ppsfreq: i64,
    pub jitter: i64,
    pub shift: i64,
    pub stabil: i64,
    pub jitcnt: i64,
    pub calcnt: i64,
    pub errcnt: i64,
    pub stbcnt: i64,
    pub tai: i64,
}

/// Reads the kernel's clock state without changing it.
#[allow(unsafe_code)]
pub fn read() -> std::io::Result<KernelClock> {
    // SAFETY: `libc::timex` is a plain C struct of integers, for which all-zero bytes are a
    // valid value (and `modes` 0 asks for no change). adjtimex only writes into the struct,
    // which is ours and outlives the call.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(KernelClock {
        state,
        offset: tx.offset,
        freq: tx.freq,
        maxerror: tx.maxerror,
        esterror: tx.esterror,
        status: i64::from(tx.status),
        constant: tx.constant,
        tick: tx.tick,
        ppsfreq: tx.ppsfreq,
        jitter: tx.jitter,
        shift: i64::from(tx.shift),
        stabil: tx.stabil,
        jitcnt: tx.jitcnt,
        calcnt: tx.calcnt,
        errcnt: tx.errcnt,
        stbcnt: tx.stbcnt,
        tai: i64::from(tx.tai),
    })
}

pub fn collect(out: &mut Vec<MetricFamily>) -> Result<(), LinuxError> {
    let clock = read().map_err(|source| LinuxError::Syscall {
        call: "adjtimex",
        hint: "under systemd, the unit needs ProtectClock=no and adjtimex in its \
               SystemCallFilter (Peeper's packaged unit has both)",
        source,
    })?;
    families(&clock, out);
    Ok(())
}

/// node_exporter's series, in its order, with its help texts and scaling.
pub fn families(clock: &KernelClock, out: &mut Vec<MetricFamily>) {
    let divisor = if clock.status & STA_NANO == 0 {
        MICROS
    } else {
        NANOS
    };
    let synced = if clock.state == TIME_ERROR { 0.0 } else { 1.0 };
    let gauges: [(&str, &str, f64); 13] = [
        (
            "node_timex_offset_seconds",
            "Time offset in between local system and reference clock.",
            clock.offset as f64 / divisor,
        ),
        (
            "node_timex_frequency_adjustment_ratio",
            "Local clock frequency adjustment.",
            1.0 + clock.freq as f64 / PPM16FRAC,
        ),
        (
            "node_timex_maxerror_seconds",
            "Maximum error in seconds.",
            clock.maxerror as f64 / MICROS,
        ),
        (
            "node_timex_estimated_error_seconds",
            "Estimated error in seconds.",
            clock.esterror as f64 / MICROS,
        ),
        (
            "node_timex_status",
            "Value of the status array bits.",
            clock.status as f64,
        ),
        (
            "node_timex_loop_time_constant",
            "Phase-locked loop time constant.",
            clock.constant as f64,
        ),
        (
            "node_timex_tick_seconds",
            "Seconds between clock ticks.",
            clock.tick as f64 / MICROS,
        ),
        (
            "node_timex_pps_frequency_hertz",
            "Pulse per second frequency.",
            clock.ppsfreq as f64 / PPM16FRAC,
        ),
        (
            "node_timex_pps_jitter_seconds",
            "Pulse per second jitter.",
            clock.jitter as f64 / divisor,
        ),
        (
            "node_timex_pps_shift_seconds",
            "Pulse per second interval duration.",
            clock.shift as f64,
        ),
        (
            "node_timex_pps_stability_hertz",
            "Pulse per second stability, average of recent frequency changes.",
            clock.stabil as f64 / PPM16FRAC,
        ),
        (
            "node_timex_tai_offset_seconds",
            "International Atomic Time (TAI) offset.",
            clock.tai as f64,
        ),
        (
            "node_timex_sync_status",
            "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
            synced,
        ),
    ];
    for (name, help, value) in gauges {
        out.push(MetricFamily::gauge(name, help).with(&[], value));
    }
    let counters: [(&str, &str, i64); 4] = [
        (
            "node_timex_pps_calibration_total",
            "Pulse per second count of calibration intervals.",
            clock.calcnt,
        ),
        (
            "node_timex_pps_error_total",
            "Pulse per second count of calibration errors.",
            clock.errcnt,
        ),
        (
            "node_timex_pps_jitter_total",
            "Pulse per second count of jitter limit exceeded events.",
            clock.jitcnt,
        ),
        (
            "node_timex_pps_stability_exceeded_total",
            "Pulse per second count of stability limit exceeded events.",
            clock.stbcnt,
        ),
    ];
    for (name, help, value) in counters {
        out.push(MetricFamily::counter(name, help).with(&[], value as f64));
    }
}
