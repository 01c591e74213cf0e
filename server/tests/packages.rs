//! The Debian packages, as an operator gets them: both built with cargo-deb
//! (`scripts/deb.sh`), installed with `dpkg -i`, checked (files and owners, conffiles, the
//! `peeper` system user, enabled units, `systemd-analyze verify` silent, `systemd-analyze
//! security --offline=true` exposure within bounds), then the packaged binaries run as
//! `peeper` with the packaged configuration, the agent pushing through the server into a
//! real VictoriaMetrics, and both purged (also when a check fails). One test, so the packages
//! are built once; it needs root and runs without systemd running.

use peeper_test_support as support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::packages::{self, Installed, PackageLock, Service};
use support::{VictoriaMetrics, free_port, http_get, wait_until};

const AGENT_UNIT: &str = "/usr/lib/systemd/system/peeper-agent.service";
const SERVER_UNIT: &str = "/usr/lib/systemd/system/peeper-server.service";
/// The most `systemd-analyze security` may rate each unit.
const AGENT_MAX_EXPOSURE: f64 = 2.5;
const SERVER_MAX_EXPOSURE: f64 = 2.0;
const TENANT: &str = "pkg";

#[test]
fn debian_packages_install_hardened_units_and_push_as_peeper() {
    packages::require_root();
    packages::require_cargo_deb();
    let _lock = PackageLock::take();
    let started = Instant::now();
    let debs = packages::build_debs();
    eprintln!("built {debs:?} in {:?}", started.elapsed());

    let installed = Installed::install(&debs);
    files_and_owners();
    let (uid, _, shell) = packages::user("peeper").expect("the package creates the user peeper");
    assert!(uid < 1000, "peeper must be a system user, uid {uid}");
    assert!(shell.ends_with("nologin"), "peeper's shell: {shell}");
    for unit in ["peeper-agent.service", "peeper-server.service"] {
        let output = Command::new("systemctl")
            .args(["is-enabled", unit])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "enabled",
            "{unit}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    units_verify_and_exposure();
    unconfigured_agent_stops_with_a_clear_error();
    agent_pushes_through_server_as_peeper();

    let out = installed.purge();
    purged_leaves_nothing(&out);
    eprintln!("whole test: {:?}", started.elapsed());
}

fn files_and_owners() {
    let (uid, gid, _) = packages::user("peeper").expect("user peeper");
    for binary in ["/usr/bin/peeper-agent", "/usr/bin/peeper-server"] {
        let meta = std::fs::metadata(binary).unwrap_or_else(|e| panic!("{binary}: {e}"));
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o755), "{binary}");
    }
    for unit in [AGENT_UNIT, SERVER_UNIT] {
        assert!(Path::new(unit).is_file(), "{unit} is missing");
    }
    let agent_default = read("/etc/default/peeper-agent");
    assert!(
        agent_default
            .lines()
            .any(|l| l == r#"PEEPER_AGENT_ARGS="""#),
        "{agent_default}"
    );
    let server_default = read("/etc/default/peeper-server");
    assert!(
        server_default.lines().any(|l| l
            == r#"PEEPER_SERVER_ARGS="--plaintext --listen 127.0.0.1:8480 --trusted-proxy 127.0.0.1/32""#),
        "{server_default}"
    );
    for (package, config) in [
        ("peeper-agent", "/etc/peeper/agent.toml"),
        ("peeper-server", "/etc/peeper/server.toml"),
    ] {
        let conffiles = packages::conffiles(package);
        let default = format!("/etc/default/{package}");
        for file in [config, default.as_str()] {
            assert!(
                conffiles.iter().any(|c| c == file),
                "{file} is not a conffile of {package}: {conffiles:?}"
            );
        }
        // Commented out, every key: the package works with its defaults.
        let text = read(config);
        let active: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .collect();
        assert!(active.is_empty(), "{config} sets {active:?}");
        let meta = std::fs::metadata(config).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (0, gid, 0o640),
            "{config}: root:peeper 0640 (it may hold secrets)"
        );
    }
    for dir in ["/var/lib/peeper-agent", "/var/lib/peeper-server"] {
        let meta = std::fs::metadata(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(meta.is_dir(), "{dir}");
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (uid, gid, 0o750),
            "{dir}: peeper:peeper 0750"
        );
    }
}

fn units_verify_and_exposure() {
    for (unit, max) in [
        (AGENT_UNIT, AGENT_MAX_EXPOSURE),
        (SERVER_UNIT, SERVER_MAX_EXPOSURE),
    ] {
        let printed = packages::verify(Path::new(unit));
        assert!(
            printed.trim().is_empty(),
            "systemd-analyze verify {unit} must print nothing:\n{printed}"
        );
        let (level, report) = packages::exposure(Path::new(unit));
        eprintln!("{unit}: exposure {level}");
        assert!(level <= max, "{unit}: exposure {level} > {max}:\n{report}");
    }
}

/// As shipped, the agent has no server: the unit's command stops at once with exit status
/// 2 (the unit's RestartPreventExitStatus, so it does not restart in a loop) and says what
/// to set.
fn unconfigured_agent_stops_with_a_clear_error() {
    let mut command = packages::as_unit_user(
        "peeper",
        "/etc/default/peeper-agent",
        &packages::exec_start(Path::new(AGENT_UNIT)),
        "",
    );
    let (code, out) = packages::run_for(&mut command, Duration::from_secs(20));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("no server to push to"), "{out}");
}

/// The packaged server and agent, each run as `peeper` with its unit's command line, the
/// shipped config file and an adjusted `/etc/default` file: the agent's `--once` push lands
/// in VictoriaMetrics with the token's tenant.
fn agent_pushes_through_server_as_peeper() {
    let vm = VictoriaMetrics::start();
    let logs = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    // The shipped arguments with a free port; store and metrics port set as variables.
    let shipped = read("/etc/default/peeper-server");
    let adjusted = shipped.replace("127.0.0.1:8480", &listen)
        + &format!(
            "PEEPER_METRICS_LISTEN={metrics}\nPEEPER_REMOTE_WRITE_URL={}\n",
            vm.write_url()
        );
    std::fs::write("/etc/default/peeper-server", adjusted).unwrap();
    let server = Service::spawn(
        packages::as_unit_user(
            "peeper",
            "/etc/default/peeper-server",
            &packages::exec_start(Path::new(SERVER_UNIT)),
            "",
        ),
        &logs.path().join("server.log"),
    );
    wait_until(
        "the packaged server's /metrics",
        Duration::from_secs(20),
        || matches!(http_get(&metrics, "/metrics"), Ok((200, _))),
    );

    let mut create = packages::as_unit_user(
        "peeper",
        "/etc/default/peeper-server",
        "/usr/bin/peeper-server --config /etc/peeper/server.toml",
        &format!("token create --tenant {TENANT}"),
    );
    let (code, out) = packages::run_for(&mut create, Duration::from_secs(20));
    assert_eq!(code, Some(0), "token create as peeper: {out}");
    let token = out
        .lines()
        .find(|l| l.starts_with("peeper_"))
        .unwrap_or_else(|| panic!("no token in: {out}"))
        .trim()
        .to_owned();
    let tokens = std::fs::metadata("/var/lib/peeper-server/tokens.json").unwrap();
    let (uid, gid, _) = packages::user("peeper").unwrap();
    assert_eq!((tokens.uid(), tokens.mode() & 0o777), (uid, 0o600));

    std::fs::write("/etc/peeper/agent.token", format!("{token}\n")).unwrap();
    std::os::unix::fs::chown("/etc/peeper/agent.token", Some(0), Some(gid)).unwrap();
    std::fs::set_permissions(
        "/etc/peeper/agent.token",
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let instance = format!("pkg-test-{}", std::process::id());
    std::fs::write(
        "/etc/default/peeper-agent",
        format!(
            "PEEPER_AGENT_ARGS=\"--server http://{listen} --token-file /etc/peeper/agent.token\"\n\
             PEEPER_INSTANCE={instance}\n"
        ),
    )
    .unwrap();
    let mut agent = packages::as_unit_user(
        "peeper",
        "/etc/default/peeper-agent",
        &packages::exec_start(Path::new(AGENT_UNIT)),
        "--once",
    );
    // The server accepts a new token within a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let (code, out) = packages::run_for(&mut agent, Duration::from_secs(60));
        if code == Some(0) {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "the packaged agent's --once push failed ({code:?}):\n{out}\nserver log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let query = format!(r#"node_memory_MemTotal_bytes{{tenant="{TENANT}",instance="{instance}"}}"#);
    let found = vm.wait_for(&query, Duration::from_secs(30));
    assert_eq!(found.len(), 1, "{found:?}\nagent: {out}");
    drop(server);
}

fn purged_leaves_nothing(dpkg_output: &str) {
    for package in packages::PACKAGES {
        assert!(
            !packages::is_installed(package),
            "{package} is still installed: {dpkg_output}"
        );
    }
    for path in [
        "/usr/bin/peeper-agent",
        "/usr/bin/peeper-server",
        AGENT_UNIT,
        SERVER_UNIT,
        "/etc/default/peeper-agent",
        "/etc/default/peeper-server",
        "/etc/peeper",
        "/var/lib/peeper-agent",
        "/var/lib/peeper-server",
        "/etc/systemd/system/peeper-agent.service",
        "/etc/systemd/system/peeper-server.service",
        "/etc/systemd/system/multi-user.target.wants/peeper-agent.service",
        "/etc/systemd/system/multi-user.target.wants/peeper-server.service",
    ] {
        assert!(
            std::fs::symlink_metadata(path).is_err(),
            "{path} is left after dpkg --purge:\n{dpkg_output}"
        );
    }
    // Kept on purge, as Debian packages keep their system users.
    assert!(packages::user("peeper").is_some());
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}
