//! `peeper-agent check-config` against a real server and store: one line per item, exit 0
//! when everything answers; a collector whose target is down (or, for the textfile collector,
//! a file it cannot read) and a refused token each give a FAIL line naming them and a
//! non-zero exit.

mod support;

use support::VictoriaMetrics;
use support::stack::Stack;

fn run(mut command: std::process::Command) -> (bool, String) {
    let out = command.arg("check-config").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn line<'a>(report: &'a str, item: &str) -> &'a str {
    report
        .lines()
        .find(|l| l[6..].starts_with(item))
        .unwrap_or_else(|| panic!("no line for {item}:\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_each_collector_and_the_server_and_fails_on_any_problem() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "acme").await;

    let (ok, report) = run(stack.agent("checked", &stack.token_file));
    assert!(ok, "{report}");
    assert!(line(&report, "configuration").starts_with("ok"), "{report}");
    assert!(
        line(&report, "collector linux").starts_with("ok"),
        "{report}"
    );
    assert!(
        line(&report, "server").starts_with("ok") && report.contains("with the token"),
        "{report}"
    );

    let textfiles = stack.dir.path().join("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    std::fs::write(textfiles.join("broken.prom"), "broken{ 1\n").unwrap();
    let mut down = stack.agent("checked", &stack.token_file);
    down.env("PEEPER_APACHE_ENABLED", "true")
        .env("PEEPER_APACHE_URL", "http://127.0.0.1:9/server-status?auto")
        .env("PEEPER_NGINX_ENABLED", "true")
        .env("PEEPER_NGINX_URL", "http://127.0.0.1:9/stub_status")
        .env("PEEPER_TEXTFILE_DIR", &textfiles);
    let (ok, report) = run(down);
    assert!(!ok, "{report}");
    for (collector, flag) in [
        ("apache", "apache_up"),
        ("nginx", "nginx_up"),
        ("textfile", "node_textfile_scrape_error"),
    ] {
        let item = format!("collector {collector}");
        assert!(
            line(&report, &item).starts_with("FAIL") && line(&report, &item).contains(flag),
            "{report}"
        );
    }

    let wrong = stack.dir.path().join("wrong.token");
    std::fs::write(&wrong, "peeper_0000ffff_nothing\n").unwrap();
    let (ok, report) = run(stack.agent("checked", &wrong));
    assert!(!ok, "{report}");
    assert!(
        line(&report, "server").starts_with("FAIL")
            && line(&report, "server").contains("token refused"),
        "{report}"
    );
    stack.stop().await;
}
