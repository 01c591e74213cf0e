//! `node_cpu_info` from `/proc/cpuinfo`, part of the cpu area when the `cpu_info` setting is
//! on (node_exporter's `--collector.cpu.info`, off by default; cpu_linux.go), parsed as
//! procfs 0.8 parses the x86 format (cpuinfo.go, `parseCPUInfoX86`).

use super::LinuxError;
use super::netclass::parse_int;
use peeper_proto::MetricFamily;

/// The fields of one processor block that `node_cpu_info` carries.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CpuInfo<'a> {
    pub processor: u32,
    pub package: &'a str,
    pub core: &'a str,
    pub vendor: &'a str,
    pub family: &'a str,
    pub model: &'a str,
    pub model_name: &'a str,
    pub microcode: &'a str,
    pub stepping: &'a str,
    pub cache_size: &'a str,
}

fn bad(reason: String) -> LinuxError {
    LinuxError::parse("/proc/cpuinfo", reason)
}

/// Go's `strconv.ParseUint(s, 0, 32)`: decimal, or `0x`, `0o`/`0`, `0b` prefixed; no sign.
fn parse_uint32(key: &str, value: &str) -> Result<u32, LinuxError> {
    let parsed = if value.starts_with(['+', '-']) {
        None
    } else {
        parse_int(value).and_then(|v| u32::try_from(v).ok())
    };
    parsed.ok_or_else(|| bad(format!("{key}: not an unsigned number: {value:?}")))
}

/// Checks a numeric field procfs parses (and fails on) though no metric carries it.
fn check_number(key: &str, value: &str) -> Result<(), LinuxError> {
    match key {
        "cpu MHz" | "bogomips" => value
            .parse::<f64>()
            .map(drop)
            .map_err(|_| bad(format!("{key}: not a number: {value:?}"))),
        "siblings" | "cpu cores" | "cpuid level" | "clflush size" | "cache_alignment" => {
            parse_uint32(key, value).map(drop)
        }
        _ => Ok(()),
    }
}

/// Parses `/proc/cpuinfo`: blocks that each start with a `processor : N` line. Like procfs, a
/// key is what comes before the first `": "` (trimmed) and its value everything after it.
pub fn parse_cpuinfo(text: &str) -> Result<Vec<CpuInfo<'_>>, LinuxError> {
    let mut lines = text.lines().skip_while(|line| line.trim().is_empty());
    let first = lines.next().unwrap_or("");
    let processor = match first.split_once(": ") {
        Some((key, value)) if key.starts_with("processor") => parse_uint32("processor", value)?,
        _ => return Err(bad(format!("invalid cpuinfo file: {first:?}"))),
    };
    let mut cpus = vec![CpuInfo {
        processor,
        ..CpuInfo::default()
    }];
    for line in lines {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        let key = key.trim();
        if key == "processor" {
            cpus.push(CpuInfo {
                processor: parse_uint32(key, value)?,
                ..CpuInfo::default()
            });
            continue;
        }
        let cpu = cpus.last_mut().expect("starts with one processor");
        match key {
            "vendor" | "vendor_id" => cpu.vendor = value,
            "cpu family" => cpu.family = value,
            "model" => cpu.model = value,
            "model name" => cpu.model_name = value,
            "stepping" => cpu.stepping = value,
            "microcode" => cpu.microcode = value,
            "cache size" => cpu.cache_size = value,
            "physical id" => cpu.package = value,
            "core id" => cpu.core = value,
            _ => check_number(key, value)?,
        }
    }
    Ok(cpus)
}

/// `node_cpu_info{package,core,cpu,vendor,family,model,model_name,microcode,stepping,
/// cachesize}`, one series per processor.
pub fn family(cpus: &[CpuInfo<'_>]) -> MetricFamily {
    let mut info = MetricFamily::gauge("node_cpu_info", "CPU information from /proc/cpuinfo.");
    for cpu in cpus {
        let number = cpu.processor.to_string();
        let labels = [
            ("package", cpu.package),
            ("core", cpu.core),
            ("cpu", number.as_str()),
            ("vendor", cpu.vendor),
            ("family", cpu.family),
            ("model", cpu.model),
            ("model_name", cpu.model_name),
            ("microcode", cpu.microcode),
            ("stepping", cpu.stepping),
            ("cachesize", cpu.cache_size),
        ];
        // An empty label is an absent label in Prometheus; leave it out.
        let labels: Vec<(&str, &str)> = labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        info.push(&labels, 1.0);
    }
    info
}
