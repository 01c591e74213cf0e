//! The `peeper-server` binary: token subcommands, flag > env > file precedence, errors.

use peeper_test_support as support;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peeper-server"));
    cmd.args(args);
    for var in [
        "PEEPER_CONFIG",
        "PEEPER_LISTEN",
        "PEEPER_TLS_CERT",
        "PEEPER_TLS_KEY",
        "PEEPER_PLAINTEXT",
        "PEEPER_REMOTE_WRITE_URL",
        "PEEPER_DATA_DIR",
        "PEEPER_FORWARD_MODE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run peeper-server")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn token_lifecycle_and_data_dir_precedence() {
    let root = tempfile::tempdir().unwrap();
    let (flag_dir, env_dir, file_dir) = (
        root.path().join("flag"),
        root.path().join("env"),
        root.path().join("file"),
    );
    let config = root.path().join("server.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\nplaintext = true\n", file_dir),
    )
    .unwrap();

    // File only.
    let out = run(
        &[
            "token",
            "create",
            "--tenant",
            "from-file",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).lines().next().unwrap().to_owned();
    assert!(token.starts_with("peeper_") && token.len() == 59, "{token}");
    assert!(file_dir.join("tokens.json").exists());

    // Env beats file.
    let out = run(
        &["token", "create", "--tenant", "from-env"],
        &[("PEEPER_CONFIG", &config), ("PEEPER_DATA_DIR", &env_dir)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(env_dir.join("tokens.json").exists());

    // Flag beats env.
    let out = run(
        &[
            "token",
            "create",
            "--tenant",
            "from-flag",
            "--allow",
            "10.0.0.0/8",
            "--data-dir",
            flag_dir.to_str().unwrap(),
        ],
        &[("PEEPER_CONFIG", &config), ("PEEPER_DATA_DIR", &env_dir)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let list = |dir: &Path| {
        let out = run(&["token", "list", "--data-dir", dir.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let listed = list(&flag_dir);
    assert!(
        listed.contains("from-flag") && listed.contains("10.0.0.0/8"),
        "{listed}"
    );
    assert!(!listed.contains("from-env"));
    let listed = list(&file_dir);
    assert!(listed.contains("from-file"), "{listed}");
    assert!(
        !listed.contains("peeper_"),
        "no token in the listing: {listed}"
    );
    let stored = std::fs::read_to_string(file_dir.join("tokens.json")).unwrap();
    assert!(
        !listed.contains(
            stored
                .split("\"sha256\": \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        )
    );

    // Revoke by id.
    let id = &token["peeper_".len().."peeper_".len() + 8];
    let out = run(
        &[
            "token",
            "revoke",
            id,
            "--data-dir",
            file_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!list(&file_dir).contains("from-file"));
    let out = run(
        &[
            "token",
            "revoke",
            id,
            "--data-dir",
            file_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("token list"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_input_gets_one_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_str().unwrap();
    let out = run(
        &[
            "token",
            "create",
            "--tenant",
            "no spaces",
            "--data-dir",
            dir,
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("tenant name"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["--data-dir", dir, "--listen", "127.0.0.1:0"], &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--tls-cert") && err.contains("--plaintext"),
        "{err}"
    );

    let config = root.path().join("bad.toml");
    std::fs::write(&config, "listne = \"x\"\n").unwrap();
    let out = run(&["--config", config.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("listne"), "{err}");

    let cert = root.path().join("missing.pem");
    let out = run(
        &[
            "--data-dir",
            dir,
            "--listen",
            "127.0.0.1:0",
            "--tls-key",
            "/nonexistent.key",
        ],
        &[("PEEPER_TLS_CERT", &cert)],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("missing.pem"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_config_reports_each_item_and_fails_on_any() {
    let dir = tempfile::tempdir().unwrap();
    let vm = support::VictoriaMetrics::start();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let check = |store: &str, extra: &[&str]| {
        let mut args = vec![
            "check-config",
            "--data-dir",
            data,
            "--remote-write-url",
            store,
        ];
        args.extend_from_slice(extra);
        let out = run(&args, &[]);
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let (ok, report, _) = check(&vm.write_url(), &["--plaintext"]);
    assert!(ok, "{report}");
    for item in ["configuration", "tokens", "store"] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("ok") && l[6..].starts_with(item)),
            "{item}: {report}"
        );
    }
    let (ok, report, stderr) = check("http://127.0.0.1:1/api/v1/write", &["--plaintext"]);
    assert!(!ok);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("store") && l.contains("127.0.0.1:1")),
        "{report}"
    );
    assert!(stderr.contains("FAIL lines above"), "{stderr}");
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let (ok, report, _) = check(
        &vm.write_url(),
        &["--tls-cert", missing, "--tls-key", missing],
    );
    assert!(!ok);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("tls") && l.contains("missing.pem")),
        "{report}"
    );
}
