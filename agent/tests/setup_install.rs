//! The operator's install, from two copies of the repository as two hosts would hold them:
//! the server (`./setup.sh -i --native -B -b`: VictoriaMetrics, peeper-server behind HAProxy,
//! vmalert, Alertmanager, the host's own agent with probes, backups) and a product host's agent
//! (`./setup.sh -i agent -m -o` with its own `peeper-token`) against real MariaDB and
//! PostgreSQL, pushing through HAProxy. Then the agent's bad inputs, a probe file added live,
//! a backup, the data deleted and restored, a failed backup, `-s`, and `-u` on both leaving
//! nothing behind.

mod support;

use std::path::Path;
use std::time::Duration;
use support::VmApi;
use support::installer::{Copy, files_under, must, refused, server_env, setting};
use support::mariadb::Mariadb;
use support::postgres::{PEEPER_PASSWORD, Postgres};

const MYSQL_PASSWORD: &str = "monitor-pw";

#[test]
fn server_and_product_host_installs_with_modules_backup_and_uninstall() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    let server = Copy::new(dir.path(), "server", support::bin_dir());
    let env = server_env(&outside);
    server.fill(".env", &env);
    let backups = dir.path().join("backups");
    server.fill(
        ".env.backup",
        &[("PEEPER_BACKUP_DIR", backups.display().to_string())],
    );
    let installed = must(&server, &["-i", "--native", "-B", "-b"]);
    assert!(installed.contains("Peeper is running"), "{installed}");
    let vm = VmApi {
        addr: format!("127.0.0.1:{}", setting(&env, "PEEPER_VM_PORT")),
    };
    let again = must(&server, &["-i", "--native", "-B", "-b"]);
    assert!(
        !again.contains("started "),
        "-i twice must change nothing:\n{again}"
    );

    let db = Mariadb::start();
    db.create_monitor_user("peeper", MYSQL_PASSWORD);
    let pg = Postgres::start();
    let product = Copy::new(dir.path(), "product", support::bin_dir());
    product.fill(
        ".env",
        &[
            ("PEEPER_HOST", "localhost".to_owned()),
            (
                "PEEPER_PROXY_PORT",
                setting(&env, "PEEPER_PROXY_PORT").to_owned(),
            ),
            ("PEEPER_INSTANCE", "product-1".to_owned()),
            ("PEEPER_INTERVAL", "1s".to_owned()),
        ],
    );
    std::fs::create_dir_all(product.path("certs/ca")).unwrap();
    std::fs::copy(
        server.path("certs/ca/ca.crt"),
        product.path("certs/ca/ca.crt"),
    )
    .unwrap();

    agent_bad_inputs(&server, &product);

    product.fill(
        ".env.mysql",
        &[
            ("PEEPER_MYSQL_PORT", db.port.to_string()),
            ("PEEPER_MYSQL_USER", "peeper".to_owned()),
            ("PEEPER_MYSQL_PASSWORD", MYSQL_PASSWORD.to_owned()),
        ],
    );
    product.fill(
        ".env.postgres",
        &[
            ("PEEPER_POSTGRES_PORT", pg.port.to_string()),
            ("PEEPER_POSTGRES_USER", "peeper".to_owned()),
            ("PEEPER_POSTGRES_PASSWORD", PEEPER_PASSWORD.to_owned()),
        ],
    );
    std::fs::write(product.path("peeper-token"), server.token("acme")).unwrap();
    let agent = must(&product, &["-i", "agent", "-m", "-o"]);
    assert!(agent.contains("modules: linux mysql postgres"), "{agent}");
    assert!(
        !product.path("peeper-token").exists(),
        "peeper-token must be deleted"
    );
    let stored = product.path("data/agent/agent.token");
    let mode = std::os::unix::fs::PermissionsExt::mode(&stored.metadata().unwrap().permissions());
    assert_eq!(
        mode & 0o777,
        0o600,
        "the stored token is for its owner only"
    );

    for query in [
        r#"mysql_up{tenant="acme",instance="product-1"} == 1"#,
        r#"pg_up{tenant="acme",instance="product-1"} == 1"#,
        r#"node_memory_MemTotal_bytes{tenant="acme",instance="product-1"}"#,
    ] {
        vm.wait_for(query, Duration::from_secs(60));
    }
    // Through HAProxy: the server saw the proxy's forwarded requests.
    let proxied = std::fs::read_to_string(server.path("run/haproxy.log")).unwrap();
    assert!(proxied.contains("/api/v1/write"), "{proxied}");

    probe_file_picked_up_live(&server, &vm, setting(&env, "PEEPER_PROXY_PORT"));
    backup_delete_restore(&server, &product, &vm, &backups);

    let status = must(&server, &["-s"]);
    for component in [
        "victoria-metrics",
        "peeper-server",
        "haproxy",
        "alertmanager",
        "vmalert",
        "peeper-agent",
    ] {
        assert!(
            status
                .lines()
                .any(|l| l.starts_with(component) && l.contains("running")),
            "{component} not running in:\n{status}"
        );
    }
    let product_status = must(&product, &["-s"]);
    assert!(
        product_status.contains("peeper-agent") && product_status.contains("running"),
        "{product_status}"
    );

    uninstall_leaves_nothing(&product, &server, &outside);
}

/// Each refusal is one line, exits non-zero, and installs nothing.
fn agent_bad_inputs(server: &Copy, product: &Copy) {
    refused(
        product,
        &["-i", "agent", "--bogus"],
        &[],
        "unknown option --bogus",
    );
    refused(
        product,
        &["-i", "agent", "-m"],
        &[],
        "PEEPER_MYSQL_USER is not set",
    );
    refused(product, &["-i", "agent"], &[], "no token");
    std::fs::write(product.path("peeper-token"), "peeper_00000000_wrong\n").unwrap();
    refused(
        product,
        &["-i", "agent"],
        &[],
        "the server refused the token",
    );
    std::fs::write(product.path("peeper-token"), server.token("acme")).unwrap();
    refused(
        product,
        &["-i", "agent"],
        &[("PEEPER_PROXY_PORT", "1")],
        "check PEEPER_HOST and PEEPER_PROXY_PORT",
    );
    assert!(
        product.path("peeper-token").exists(),
        "a refused install keeps peeper-token"
    );
    for left in ["run", "data/agent/agent.token"] {
        assert!(
            !product.path(left).exists(),
            "{left} left by a refused install"
        );
    }
    assert!(
        product.processes(&[]).is_empty(),
        "{}",
        product.processes(&[])
    );
}

/// --blackbox: a new http/blackbox_*.yaml is probed without a restart.
fn probe_file_picked_up_live(server: &Copy, vm: &VmApi, proxy_port: &str) {
    std::fs::write(
        server.path("http/blackbox_local.yaml"),
        format!(
            "- targets:\n    - https://localhost:{proxy_port}/health\n  labels:\n    group: peeper\n  module: http_2xx_custom_ca\n"
        ),
    )
    .unwrap();
    vm.wait_for(
        r#"probe_success{tenant="default",group="peeper"} == 1"#,
        Duration::from_secs(30),
    );
}

/// --backup-now, the series deleted, --restore: they are back; a forced failure reports 0.
fn backup_delete_restore(server: &Copy, product: &Copy, vm: &VmApi, backups: &Path) {
    let selector = r#"node_memory_MemTotal_bytes{tenant="acme"}"#;
    let made = must(server, &["--backup-now"]);
    assert!(made.contains("backup written"), "{made}");
    let name = files_under(backups)
        .into_iter()
        .find(|f| f.starts_with("peeper-backup-") && f.ends_with(".tar.gz"))
        .expect("a backup file");
    vm.wait_for("vm_backup_status == 1", Duration::from_secs(10));

    // The product agent keeps pushing; stop it so the deleted series stay deleted until
    // the restore brings them back.
    must(product, &["-u"]);
    let (status, _) = support::http_get(
        &vm.addr,
        &format!(
            "/api/v1/admin/tsdb/delete_series?match[]={}",
            support::url_encode(selector)
        ),
    )
    .unwrap();
    assert_eq!(status, 204, "delete_series");
    assert!(
        vm.query(&format!("count_over_time({selector}[1h])"))
            .is_empty()
    );

    let restored = must(server, &["--restore", name.trim_end_matches(".tar.gz")]);
    assert!(restored.contains("answers again"), "{restored}");
    vm.wait_for(
        &format!("count_over_time({selector}[1h])"),
        Duration::from_secs(30),
    );

    let failed = server.setup_with(&["--backup-now"], &[("PEEPER_BACKUP_FAIL", "1")]);
    assert!(!failed.status.success());
    vm.wait_for("vm_backup_status == 0", Duration::from_secs(10));
    must(product, &["-i", "agent"]);
}

/// -u on both hosts: no process, and nothing outside the dirs they own (the Grafana files
/// and the cron entry written "outside" are gone too).
fn uninstall_leaves_nothing(product: &Copy, server: &Copy, outside: &Path) {
    let groups = [product.process_groups(), server.process_groups()].concat();
    assert_eq!(
        groups.len(),
        7,
        "six server components and one product agent"
    );
    let before: Vec<String> = files_under(&product.root)
        .into_iter()
        .filter(|f| !f.starts_with("run/") && !f.starts_with("data/"))
        .collect();
    must(product, &["-u", "--purge"]);
    let after = files_under(&product.root);
    assert_eq!(
        before, after,
        "-u --purge leaves exactly the unpacked files"
    );
    must(server, &["-u"]);
    assert!(!server.path("run").exists());
    assert!(server.path("data/vm").exists(), "-u keeps the data");
    assert!(
        server.path("certs/ca/ca.crt").exists(),
        "-u keeps the certificates"
    );
    assert_eq!(files_under(outside), Vec::<String>::new(), "left outside");
    for copy in [product, server] {
        let left = copy.processes(&groups);
        assert!(left.is_empty(), "left running: {left}");
    }
    must(server, &["-u", "--purge"]);
    assert!(!server.path("data").exists());
    assert!(!server.path("certs/ca/ca.crt").exists());
}
