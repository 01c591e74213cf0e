//! The quickstart as a new user runs it, from a second copy of the repository (reusing this
//! build through `PEEPER_BIN_DIR`): env files filled in, `./setup.sh -i --native --telegram`,
//! the local agent killed → a Telegram message (through the fake Bot API), `--test-alert`
//! delivered, `-s`, and `-u` leaving no process behind. Timings are shortened in env/.env.

mod support;

use std::time::{Duration, Instant};
use support::alerting::TelegramFake;
use support::installer::{Copy, files_under, must, refused, server_env, text};

#[test]
fn a_new_user_installs_with_telegram_kills_the_agent_and_gets_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    let repo = Copy::new(dir.path(), "peeper", support::bin_dir());
    let telegram = TelegramFake::start(dir.path(), "777:quickstart");
    let mut env = server_env(&outside);
    env.extend([
        ("PEEPER_INSTANCE", "quickstart-host".to_owned()),
        ("PEEPER_AGENT_SILENT_AFTER", "5s".to_owned()),
        ("PEEPER_LIVENESS_INTERVAL", "1s".to_owned()),
        ("PEEPER_ALERT_EVAL_INTERVAL", "2s".to_owned()),
        ("PEEPER_ALERT_GROUP_WAIT", "1s".to_owned()),
    ]);
    repo.fill(".env", &env);
    repo.fill(
        ".env.telegram",
        &[
            ("TELEGRAM_BOT_TOKEN", "777:quickstart".to_owned()),
            ("TELEGRAM_CHAT_ID", "-5555".to_owned()),
            ("TELEGRAM_API_URL", telegram.url.clone()),
        ],
    );

    let log = must(&repo, &["-i", "--native", "--telegram"]);
    assert!(
        log.contains("Peeper is running") && log.contains("receivers: Telegram"),
        "{log}"
    );
    assert!(
        !log.contains("/vmui"),
        "the quickstart printed a URL that does not answer:\n{log}"
    );

    // Grafana's provisioning, with this host's addresses, where a Grafana would read it.
    let provisioning = outside.join("etc/grafana/provisioning");
    let dashboards_dir = outside.join("var/lib/grafana/dashboards");
    let datasources = std::fs::read_to_string(provisioning.join("datasources/peeper.yml")).unwrap();
    assert!(
        datasources.contains("uid: peeper-vm") && datasources.contains("url: http://127.0.0.1:"),
        "{datasources}"
    );
    assert!(
        !datasources.contains("peeper-metrics:8428"),
        "{datasources}"
    );
    let dashboards = std::fs::read_dir(&dashboards_dir).unwrap().count();
    assert!(dashboards >= 8, "{dashboards} dashboards installed");

    let test = must(&repo, &["--test-alert"]);
    assert!(test.contains("delivered"), "{test}");

    // The supervised agent, whole group (the supervisor would restart a lone agent).
    let groups = repo.process_groups();
    let pid = std::fs::read_to_string(repo.path("run/peeper-agent.pid")).unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", "--", &format!("-{}", pid.trim())])
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

    let status = must(&repo, &["-s"]);
    let state = |component: &str| {
        status
            .lines()
            .find(|l| l.starts_with(&format!("{component} ")))
            .unwrap_or_else(|| panic!("{component} missing from -s:\n{status}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(state("peeper-agent"), "STOPPED", "{status}");
    for component in [
        "victoria-metrics",
        "peeper-server",
        "haproxy",
        "alertmanager",
        "vmalert",
    ] {
        assert_eq!(state(component), "running", "{status}");
    }
    must(&repo, &["-u"]);
    assert!(!repo.path("run").exists());
    assert!(
        !dashboards_dir.exists(),
        "-u removes the dashboards it installed"
    );
    assert!(!provisioning.join("datasources/peeper.yml").exists());
    let left = repo.processes(&groups);
    assert!(left.is_empty(), "processes left: {left}");
}

#[test]
fn bad_server_inputs_stop_the_install_with_one_line_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Copy::new(dir.path(), "peeper", support::bin_dir());
    let env = server_env(&dir.path().join("outside"));
    repo.fill(".env", &env);
    repo.fill(".env.telegram", &[("TELEGRAM_BOT_TOKEN", "1:x".to_owned())]);
    let log = refused(
        &repo,
        &["-i", "--native", "--telegram"],
        &[],
        "TELEGRAM_CHAT_ID is not set",
    );
    assert!(
        log.contains("env/.env.telegram") && log.contains("nothing was started"),
        "{log}"
    );
    refused(&repo, &["-i", "--bogus"], &[], "unknown option --bogus");
    refused(&repo, &["-i", "-m"], &[], "go with ./setup.sh -i agent");
    refused(
        &repo,
        &["-i", "--native", "-B"],
        &[],
        "PEEPER_BACKUP_DIR is not set",
    );
    refused(&repo, &["--restore"], &[], "--restore needs a backup name");
    refused(
        &repo,
        &["--frobnicate"],
        &[],
        "unknown command --frobnicate",
    );

    // A port held by another program: named, with the variable that moves it.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    refused(
        &repo,
        &["-i", "--native"],
        &[("PEEPER_ALERTMANAGER_PORT", &port)],
        &format!("port {port} is taken by another program"),
    );
    let left: Vec<String> = files_under(&repo.path("run"))
        .into_iter()
        .filter(|f| !f.ends_with(".log"))
        .collect();
    assert!(left.is_empty(), "a refused install left {left:?}");
    assert!(repo.processes(&[]).is_empty(), "{}", repo.processes(&[]));
    let status = text(&repo.setup(&["-s"]));
    assert!(!status.contains("running"), "{status}");
}
