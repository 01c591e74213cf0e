//! `setup.sh` installing Peeper from its Debian packages, as it does for root without
//! `PEEPER_BIN_DIR`: `./setup.sh -i agent` builds the .debs (scripts/deb.sh, reusing the
//! release build), installs peeper-agent with apt, runs `/usr/bin/peeper-agent` (supervised:
//! no systemd runs here) pushing to a real server, and `-u --purge` purges the package again.
//! Run from the repository itself (the packages are built from its sources), with every
//! setting in the environment and every file it writes in a temp dir, under the lock the
//! package test takes.

mod support;

use std::process::Command;
use std::time::Duration;
use support::VictoriaMetrics;
use support::packages::{PackageLock, is_installed, require_cargo_deb, require_root};
use support::repo_root;
use support::stack::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_install_uses_the_debian_package() {
    require_root();
    require_cargo_deb();
    let _lock = PackageLock::take();
    if is_installed("peeper-agent") {
        let _ = Command::new("dpkg").args(["-P", "peeper-agent"]).status();
    }
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "pkg").await;
    let dir = tempfile::tempdir().unwrap();
    let token = repo_root().join("peeper-token");
    std::fs::copy(&stack.token_file, &token).unwrap();
    let port = stack.server_url().rsplit(':').next().unwrap().to_owned();
    let run = |args: &[&str]| {
        let out = Command::new(repo_root().join("setup.sh"))
            .args(args)
            .current_dir(repo_root())
            .env_remove("PEEPER_BIN_DIR")
            .env_remove("PEEPER_CONFIG")
            .env("PEEPER_HOST", "localhost")
            .env("PEEPER_PROXY_PORT", &port)
            .env("PEEPER_CA_FILE", &stack.ca)
            .env("PEEPER_INSTANCE", "pkg-host")
            .env("PEEPER_INTERVAL", "1s")
            .env("PEEPER_RUN_DIR", dir.path().join("run"))
            .env("PEEPER_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "./setup.sh {}:\n{log}",
            args.join(" ")
        );
        log
    };
    let installed = run(&["-i", "agent"]);
    assert!(installed.contains("installing peeper-agent"), "{installed}");
    assert!(is_installed("peeper-agent"));
    assert!(!token.exists(), "peeper-token is deleted");
    let agents = Command::new("pgrep")
        .args(["-af", "^/usr/bin/peeper-agent"])
        .output()
        .unwrap();
    assert!(
        !agents.stdout.is_empty(),
        "the packaged binary runs:\n{installed}"
    );
    vm.wait_for(
        r#"node_load1{tenant="pkg",instance="pkg-host"}"#,
        Duration::from_secs(30),
    );

    let removed = run(&["-u", "--purge"]);
    assert!(
        removed.contains("removed the packages peeper-agent"),
        "{removed}"
    );
    assert!(!is_installed("peeper-agent"));
    assert!(!dir.path().join("run").exists() && !dir.path().join("data").exists());
    let left = Command::new("pgrep")
        .args(["-af", "^/usr/bin/peeper-agent"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&left.stdout)
    );
    stack.stop().await;
}
