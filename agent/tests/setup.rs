//! The quickstart as a new user runs it, from a second copy of the repository (reusing this
//! build through `PEEPER_BIN_DIR`): env files filled in, `./setup.sh -i --native --telegram`,
//! the local agent killed → a Telegram message (through the fake Bot API), `--test-alert`
//! delivered, `-s`, and `-u` leaving no process behind. Timings are shortened in env/.env.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::alerting::{TelegramFake, repo_root};
use support::free_port;
use support::stack::AGENT;

/// What a user gets from a clone: the installer and the files it reads.
fn copy_repo(to: &Path) {
    for item in ["setup.sh", "compose", "env", "scripts", "certs"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo_root().join(item))
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success(), "copy {item}");
    }
    // Only the examples: a developer's own env files must not leak into the test.
    for entry in std::fs::read_dir(to.join("env")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "example") {
            std::fs::remove_file(path).unwrap();
        }
    }
    for generated in ["crt", "ca", "dev"] {
        let _ = std::fs::remove_dir_all(to.join("certs").join(generated));
    }
}

fn setup(dir: &Path, args: &[&str]) -> Output {
    let bin: PathBuf = Path::new(AGENT).parent().unwrap().to_owned();
    Command::new(dir.join("setup.sh"))
        .args(args)
        .current_dir(dir)
        .env("PEEPER_BIN_DIR", bin)
        .env_remove("PEEPER_CONFIG")
        .output()
        .expect("run setup.sh")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Fills in an example env file as a user does: `NAME=value` lines replace or follow.
fn fill(path: &Path, values: &[(&str, String)]) {
    let example = PathBuf::from(format!("{}.example", path.display()));
    let mut out = std::fs::read_to_string(example).unwrap();
    for (name, value) in values {
        out.push_str(&format!("{name}={value}\n"));
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_new_user_installs_with_telegram_kills_the_agent_and_gets_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("peeper");
    std::fs::create_dir(&repo).unwrap();
    copy_repo(&repo);
    let telegram = TelegramFake::start(dir.path(), "777:quickstart");
    let port = |_: ()| free_port().to_string();
    fill(
        &repo.join("env/.env"),
        &[
            ("PEEPER_RUN_DIR", repo.join("run").display().to_string()),
            ("PEEPER_VM_PORT", port(())),
            ("PEEPER_SERVER_PORT", port(())),
            ("PEEPER_SERVER_METRICS_PORT", port(())),
            ("PEEPER_VMALERT_PORT", port(())),
            ("PEEPER_ALERTMANAGER_PORT", port(())),
            ("PEEPER_INSTANCE", "quickstart-host".to_owned()),
            ("PEEPER_INTERVAL", "1s".to_owned()),
            ("PEEPER_AGENT_SILENT_AFTER", "5s".to_owned()),
            ("PEEPER_LIVENESS_INTERVAL", "1s".to_owned()),
            ("PEEPER_ALERT_EVAL_INTERVAL", "2s".to_owned()),
            ("PEEPER_ALERT_GROUP_WAIT", "1s".to_owned()),
            (
                "PEEPER_GRAFANA_PROVISIONING_DIR",
                dir.path()
                    .join("grafana/provisioning")
                    .display()
                    .to_string(),
            ),
            (
                "PEEPER_GRAFANA_DASHBOARDS_DIR",
                dir.path().join("grafana/dashboards").display().to_string(),
            ),
        ],
    );
    fill(
        &repo.join("env/.env.telegram"),
        &[
            ("TELEGRAM_BOT_TOKEN", "777:quickstart".to_owned()),
            ("TELEGRAM_CHAT_ID", "-5555".to_owned()),
            ("TELEGRAM_API_URL", telegram.url.clone()),
        ],
    );

    let installed = setup(&repo, &["-i", "--native", "--telegram"]);
    let log = text(&installed);
    assert!(installed.status.success(), "setup.sh -i failed:\n{log}");
    assert!(
        log.contains("Peeper is running") && log.contains("receivers: Telegram"),
        "{log}"
    );
    assert!(
        !log.contains("/vmui"),
        "the quickstart printed a URL that does not answer:\n{log}"
    );

    // Grafana's provisioning, with this host's addresses, where a Grafana would read it.
    let datasources = std::fs::read_to_string(
        dir.path()
            .join("grafana/provisioning/datasources/peeper.yml"),
    )
    .unwrap();
    assert!(
        datasources.contains("uid: peeper-vm") && datasources.contains("url: http://127.0.0.1:"),
        "{datasources}"
    );
    assert!(
        !datasources.contains("peeper-metrics:8428"),
        "{datasources}"
    );
    let dashboards = std::fs::read_dir(dir.path().join("grafana/dashboards"))
        .unwrap()
        .count();
    assert!(dashboards >= 8, "{dashboards} dashboards installed");

    let test = setup(&repo, &["--test-alert"]);
    assert!(test.status.success(), "--test-alert:\n{}", text(&test));
    assert!(text(&test).contains("delivered"), "{}", text(&test));

    let pid = std::fs::read_to_string(repo.join("run/peeper-agent.pid")).unwrap();
    let killed = Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = Instant::now();
    loop {
        let found = telegram.messages().into_iter().any(|m| {
            m.chat_id == "-5555"
                && m.text.contains("FIRING: PeeperAgentSilent")
                && m.text
                    .contains("quickstart-host (default) has stopped reporting")
        });
        if found {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no Telegram message about the killed agent; messages: {:?}",
            telegram.messages()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let status = text(&setup(&repo, &["-s"]));
    assert!(status.contains("peeper-agent: stopped"), "{status}");
    for component in [
        "victoria-metrics",
        "peeper-server",
        "alertmanager",
        "vmalert",
    ] {
        assert!(
            status.contains(&format!("{component}: running")),
            "{status}"
        );
    }
    let removed = setup(&repo, &["-u"]);
    assert!(removed.status.success(), "{}", text(&removed));
    assert!(!repo.join("run").exists());
    assert!(
        !dir.path().join("grafana/dashboards").exists(),
        "-u removes the dashboards it installed"
    );
    assert!(
        !dir.path()
            .join("grafana/provisioning/datasources/peeper.yml")
            .exists()
    );
    let left = Command::new("pgrep")
        .arg("-f")
        .arg(repo.join("run"))
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "processes left: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn a_missing_chat_id_stops_the_install_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("peeper");
    std::fs::create_dir(&repo).unwrap();
    copy_repo(&repo);
    fill(
        &repo.join("env/.env"),
        &[("PEEPER_RUN_DIR", repo.join("run").display().to_string())],
    );
    fill(
        &repo.join("env/.env.telegram"),
        &[("TELEGRAM_BOT_TOKEN", "1:x".to_owned())],
    );
    let out = setup(&repo, &["-i", "--native", "--telegram"]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("TELEGRAM_CHAT_ID is not set") && log.contains("env/.env.telegram"),
        "{log}"
    );
    assert!(log.contains("nothing was started"), "{log}");
    assert!(!log.contains("started victoria-metrics"), "{log}");
    let out = setup(&repo, &["-i", "--bogus"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown option --bogus"),
        "{}",
        text(&out)
    );
}
