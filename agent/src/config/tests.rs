use super::*;
use crate::collector::linux::LinuxConfig;
use clap::Parser;
use std::collections::HashMap;

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["peeper-agent"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).unwrap()
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn durations() {
    assert_eq!(parse_duration("15s"), Some(Duration::from_secs(15)));
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("fast"), None);
    assert_eq!(parse_duration("10x"), None);
    assert_eq!(parse_duration(""), None);
}

#[test]
fn write_url_appends_path_only_to_a_base_url() {
    assert_eq!(
        write_url("https://p.example.com").unwrap(),
        "https://p.example.com/api/v1/write"
    );
    assert_eq!(
        write_url("https://p.example.com/").unwrap(),
        "https://p.example.com/api/v1/write"
    );
    assert_eq!(
        write_url("http://vm:8428/api/v1/write").unwrap(),
        "http://vm:8428/api/v1/write"
    );
    assert!(write_url("p.example.com").is_err());
}

#[test]
fn flag_beats_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.toml");
    std::fs::write(
        &file,
        "server = \"https://from-file\"\ninterval = \"30s\"\ninstance = \"file-host\"\n[linux]\nrootfs = \"/host\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let config =
        AgentConfig::try_new(&cli(&["--config", path, "--interval", "5s"]), &no_env, true).unwrap();
    assert_eq!(config.interval, Duration::from_secs(5));
    assert_eq!(config.instance, "file-host");
    assert_eq!(
        config.push.unwrap().write_url,
        "https://from-file/api/v1/write"
    );
    assert_eq!(
        config.collectors.get::<LinuxConfig>().rootfs,
        PathBuf::from("/host")
    );
    assert!(config.collectors.get::<LinuxConfig>().enabled);

    let defaults = AgentConfig::try_new(&cli(&["--server", "http://x"]), &no_env, true).unwrap();
    assert_eq!(defaults.interval, DEFAULT_INTERVAL);
    assert_eq!(defaults.instance, hostname().unwrap());
}

#[test]
fn module_env_overrides_file() {
    let env: HashMap<&str, &str> = [
        ("PEEPER_LINUX_ENABLED", "false"),
        ("PEEPER_LINUX_ROOTFS", "/rootfs"),
        ("PEEPER_LINUX_CPU_INFO", "true"),
    ]
    .into();
    let lookup = |name: &str| env.get(name).map(|v| v.to_string());
    let config = AgentConfig::try_new(&cli(&["--once", "--print"]), &lookup, false).unwrap();
    assert!(!config.collectors.get::<LinuxConfig>().enabled);
    assert_eq!(
        config.collectors.get::<LinuxConfig>().rootfs,
        PathBuf::from("/rootfs")
    );
    assert!(config.collectors.get::<LinuxConfig>().cpu_info);

    let bad: HashMap<&str, &str> = [("PEEPER_LINUX_ENABLED", "maybe")].into();
    let lookup = |name: &str| bad.get(name).map(|v| v.to_string());
    let err = AgentConfig::try_new(&cli(&["--once", "--print"]), &lookup, false).unwrap_err();
    assert!(err.to_string().contains("PEEPER_LINUX_ENABLED"), "{err}");
}

#[test]
fn bad_input_names_the_problem_and_the_fix() {
    let err = AgentConfig::try_new(&cli(&[]), &no_env, true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--server") && err.contains("--print"), "{err}");

    let err = AgentConfig::try_new(
        &cli(&["--server", "http://x", "--interval", "soon"]),
        &no_env,
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("interval") && err.contains("15s"), "{err}");

    let err = AgentConfig::try_new(
        &cli(&["--server", "http://x", "--token-file", "/nonexistent/t"]),
        &no_env,
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("/nonexistent/t") && err.contains("token create"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.toml");
    std::fs::write(&file, "sever = \"typo\"\n").unwrap();
    let err = AgentConfig::try_new(&cli(&["--config", file.to_str().unwrap()]), &no_env, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sever") && err.contains("agent.toml"), "{err}");

    // A bad --transport is clap's error; a bad `transport` in the file is the config's.
    let err = Cli::try_parse_from(["peeper-agent", "--transport", "carrier-pigeon"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("carrier-pigeon") && err.contains("https"),
        "{err}"
    );
    std::fs::write(
        &file,
        "transport = \"carrier-pigeon\"\nserver = \"http://x\"\n",
    )
    .unwrap();
    let err = AgentConfig::try_new(&cli(&["--config", file.to_str().unwrap()]), &no_env, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("carrier-pigeon") && err.contains("https"),
        "{err}"
    );
}

#[test]
fn token_is_read_from_the_file_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "peeper_abc\n").unwrap();
    let config = AgentConfig::try_new(
        &cli(&[
            "--server",
            "http://x",
            "--token-file",
            token.to_str().unwrap(),
        ]),
        &no_env,
        true,
    )
    .unwrap();
    let push = config.push.unwrap();
    assert_eq!(push.token.as_deref(), Some("peeper_abc"));
    let shown = format!("{push:?}");
    assert!(
        !shown.contains("peeper_abc") && shown.contains("redacted"),
        "{shown}"
    );
    std::fs::write(&token, "\n").unwrap();
    let err = AgentConfig::try_new(
        &cli(&[
            "--server",
            "http://x",
            "--token-file",
            token.to_str().unwrap(),
        ]),
        &no_env,
        true,
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::EmptyToken(_)));
}
