//! Alerts end to end, through real components only (but the Telegram Bot API, the one
//! allowed stand-in): real `peeper-agent` processes push through HAProxy (TLS) to two
//! `peeper-server` replicas into VictoriaMetrics; vmalert evaluates the repo's rules and
//! sends to Alertmanager, whose config `peeper-server alertmanager-config` rendered; the
//! fake Bot API records Telegram messages and aiosmtpd keeps the e-mails.
//!
//! Timings are shortened (rules every 2 s, group wait 1 s, an agent silent after 5 s), the
//! rules are the production ones.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::VictoriaMetrics;
use support::alerting::{Alertmanager, SmtpSink, TelegramFake, TelegramMessage, Vmalert};
use support::certs as testutil;
use support::haproxy::{Haproxy, PROXY_SOURCE};
use support::mariadb::Mariadb;
use support::server::ServerProcess;
use support::stack::AGENT;

const BOT_TOKEN: &str = "123456:peeper-test-token";
const OPERATORS_CHAT: &str = "-1000";
const ACME_CHAT: &str = "-1001";
const GLOBEX_CHAT: &str = "-1002";
const MYSQL_PASSWORD: &str = "s3cret-peeper";

fn server_binary() -> PathBuf {
    Path::new(AGENT).with_file_name("peeper-server")
}

struct Alerting {
    dir: tempfile::TempDir,
    vm: VictoriaMetrics,
    replicas: Vec<ServerProcess>,
    proxy: Haproxy,
    _vmalert: Vmalert,
    _alertmanager: Alertmanager,
    telegram: TelegramFake,
    smtp: SmtpSink,
    ca: PathBuf,
}

impl Alerting {
    fn start() -> Alerting {
        let dir = tempfile::tempdir().unwrap();
        let vm = VictoriaMetrics::start();
        let certs = peeper_server::devcert::init(&dir.path().join("certs"), "localhost").unwrap();
        let trusted = format!("{PROXY_SOURCE}/32");
        let args = [
            "--trusted-proxy",
            &trusted,
            "--liveness-interval",
            "1s",
            "--agent-silent-after",
            "5s",
            "--check-patience",
            "2s",
        ];
        let replicas: Vec<ServerProcess> = ["a", "b"]
            .iter()
            .map(|name| {
                ServerProcess::start(
                    &server_binary(),
                    &dir.path().join("server"),
                    &vm.write_url(),
                    &args,
                    &dir.path().join(format!("server-{name}.log")),
                )
            })
            .collect();
        let proxy = Haproxy::start_many(
            &replicas.iter().map(|r| r.addr).collect::<Vec<_>>(),
            &certs.proxy_pem,
        );
        let telegram = TelegramFake::start(dir.path(), BOT_TOKEN);
        let smtp = SmtpSink::start(dir.path());
        let env = [
            ("TELEGRAM_ENABLED", "true".to_owned()),
            ("TELEGRAM_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("TELEGRAM_CHAT_ID", OPERATORS_CHAT.to_owned()),
            ("TELEGRAM_API_URL", telegram.url.clone()),
            (
                "TELEGRAM_TENANT_CHATS",
                format!("acme={ACME_CHAT},globex={GLOBEX_CHAT}"),
            ),
            ("EMAIL_ENABLED", "true".to_owned()),
            ("EMAIL_SMARTHOST", smtp.addr.clone()),
            ("EMAIL_FROM", "peeper@localhost".to_owned()),
            ("EMAIL_TO", "ops@localhost".to_owned()),
            (
                "EMAIL_TENANT_TO",
                "acme=acme@localhost,globex=globex@localhost".to_owned(),
            ),
            ("EMAIL_REQUIRE_TLS", "false".to_owned()),
            ("PEEPER_ALERT_GROUP_WAIT", "1s".to_owned()),
            ("PEEPER_ALERT_GROUP_INTERVAL", "2s".to_owned()),
        ];
        let alertmanager = Alertmanager::start(dir.path(), &server_binary(), &env);
        let vmalert = Vmalert::start(dir.path(), &vm.base_url(), &alertmanager.addr, "2s");
        Alerting {
            ca: certs.ca_cert,
            dir,
            vm,
            replicas,
            proxy,
            _vmalert: vmalert,
            _alertmanager: alertmanager,
            telegram,
            smtp,
        }
    }

    fn token_file(&self, tenant: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{tenant}.token"));
        if !path.exists() {
            std::fs::write(&path, self.replicas[0].token(tenant)).unwrap();
        }
        path
    }

    /// The agent binary, pushing through the proxy as `instance` of `tenant`.
    fn agent(&self, tenant: &str, instance: &str) -> Command {
        let mut command = Command::new(AGENT);
        command
            .env_remove("PEEPER_CONFIG")
            .args([
                "--server",
                &format!("https://localhost:{}", self.proxy.addr().port()),
            ])
            .arg("--token-file")
            .arg(self.token_file(tenant))
            .arg("--ca-file")
            .arg(&self.ca)
            .args(["--instance", instance])
            .arg("--buffer-dir")
            .arg(self.dir.path().join(format!("buffer-{instance}")));
        command
    }

    fn spawn(&self, mut command: Command, instance: &str) -> Child {
        command
            .args(["--interval", "1s"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join(format!("{instance}.log"))).unwrap())
            .spawn()
            .unwrap()
    }

    fn status(&self, tenant: &str, instance: &str, args: &[&str]) {
        let output = self
            .agent(tenant, instance)
            .arg("status")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "status {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Waits for a Telegram message to `chat` containing every one of `parts`.
    fn message(&self, chat: &str, parts: &[&str], within: Duration) -> TelegramMessage {
        let start = Instant::now();
        loop {
            let found = self
                .telegram
                .messages()
                .into_iter()
                .find(|m| m.chat_id == chat && parts.iter().all(|p| m.text.contains(p)));
            if let Some(message) = found {
                return message;
            }
            if start.elapsed() > within {
                let seen: Vec<String> = self
                    .telegram
                    .messages()
                    .iter()
                    .map(|m| format!("[{}] {}", m.chat_id, m.text))
                    .collect();
                panic!(
                    "no Telegram message to {chat} with {parts:?} within {within:?}; messages so far:\n{}\n{}",
                    seen.join("\n---\n"),
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// What a failed wait prints besides the messages: the newest samples of the liveness
    /// and check series in the store, and the end of each replica's log.
    fn diagnostics(&self) -> String {
        let mut out = String::from("store, newest samples (ms, value):\n");
        let selector = r#"{__name__=~"peeper_check_.*|peeper_agent_up"}"#;
        for (labels, samples) in self.vm.export(selector) {
            let newest = &samples[samples.len().saturating_sub(6)..];
            out.push_str(&format!("{labels}: {newest:?}\n"));
        }
        for name in ["a", "b"] {
            let log = self.dir.path().join(format!("server-{name}.log"));
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            out.push_str(&format!("server-{name}.log, last lines:\n{tail}\n"));
        }
        out
    }

    fn count(&self, chat: &str, parts: &[&str]) -> usize {
        self.telegram
            .messages()
            .iter()
            .filter(|m| m.chat_id == chat && parts.iter().all(|p| m.text.contains(p)))
            .count()
    }

    /// Waits for an e-mail containing every one of `parts`.
    fn mail(&self, parts: &[&str], within: Duration) {
        let start = Instant::now();
        while start.elapsed() < within {
            if self
                .smtp
                .mails()
                .iter()
                .any(|m| parts.iter().all(|p| m.contains(p)))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "no e-mail with {parts:?} within {within:?}; {} mails received",
            self.smtp.mails().len()
        );
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A TLS endpoint whose certificate, signed by a private CA, expires in 3 days.
async fn expiring_endpoint(dir: &Path) -> (testutil::Server, PathBuf) {
    let ca = testutil::Ca::root("Alerts test CA");
    let now = testutil::now();
    let leaf = ca.leaf(&["localhost"], now - 86_400, now + 3 * 86_400, 7);
    let ca_file = dir.join("endpoint-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    (
        testutil::tls_server(vec![leaf.der.clone()], leaf.key).await,
        ca_file,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_failures_and_expiry_reach_the_right_chats_and_mailboxes() {
    let mut stack = Alerting::start();
    let mut db = Mariadb::start();
    db.create_monitor_user("peeper", MYSQL_PASSWORD);
    let password_file = stack.dir.path().join("mysql.password");
    std::fs::write(&password_file, MYSQL_PASSWORD).unwrap();
    let (endpoint, endpoint_ca) = expiring_endpoint(stack.dir.path()).await;

    let web = stack.spawn(stack.agent("acme", "web-01"), "web-01");
    let globex = stack.spawn(stack.agent("globex", "globex-01"), "globex-01");
    let mut db_agent = stack.agent("acme", "db-01");
    db_agent
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_MYSQL_ENABLED", "true")
        .env("PEEPER_MYSQL_HOST", "127.0.0.1")
        .env("PEEPER_MYSQL_PORT", db.port.to_string())
        .env("PEEPER_MYSQL_USER", "peeper")
        .env("PEEPER_MYSQL_PASSWORD_FILE", &password_file)
        .env("PEEPER_CERTS_ENABLED", "true")
        .env(
            "PEEPER_CERTS_ENDPOINTS",
            format!("127.0.0.1:{}@localhost", endpoint.port()),
        )
        .env("PEEPER_CERTS_CA_FILE", &endpoint_ca);
    let db_agent = stack.spawn(db_agent, "db-01");
    for instance in ["web-01", "globex-01", "db-01"] {
        stack.vm.wait_for(
            &format!(r#"peeper_agent_up{{instance="{instance}"}} == 1"#),
            Duration::from_secs(30),
        );
    }
    stack.vm.wait_for(
        r#"mysql_up{instance="db-01"} == 1"#,
        Duration::from_secs(30),
    );

    // What goes wrong, all at once.
    kill(web);
    kill(globex);
    stack.status(
        "acme",
        "db-01",
        &["nightly-backup", "OK", "--expect-every", "30s"],
    );
    db.stop();

    // The silent agent: one message to acme's chat, kept through a replica restart.
    let silent = [
        "FIRING: PeeperAgentSilent",
        "web-01 (acme) has stopped reporting",
    ];
    stack.message(ACME_CHAT, &silent, Duration::from_secs(40));
    stack.replicas[1].sigkill();
    std::thread::sleep(Duration::from_secs(3));
    stack.replicas[1].spawn();
    std::thread::sleep(Duration::from_secs(5));
    let resolved = [
        "RESOLVED: PeeperAgentSilent",
        "web-01 (acme) has stopped reporting",
    ];
    assert_eq!(
        stack.count(ACME_CHAT, &resolved),
        0,
        "the silence resolved by itself"
    );
    let web = stack.spawn(stack.agent("acme", "web-01"), "web-01");
    stack.message(ACME_CHAT, &resolved, Duration::from_secs(30));
    assert_eq!(
        stack.count(ACME_CHAT, &silent),
        1,
        "the silence was announced more than once"
    );

    // Tenants stay apart: globex's silence in globex's chat only.
    stack.message(
        GLOBEX_CHAT,
        &["globex-01 (globex) has stopped reporting"],
        Duration::from_secs(10),
    );
    for message in stack.telegram.messages() {
        let (chat, text) = (&message.chat_id, &message.text);
        assert!(
            chat != ACME_CHAT || !text.contains("globex"),
            "globex in acme's chat: {text}"
        );
        assert!(
            chat != GLOBEX_CHAT || !text.contains("acme"),
            "acme in globex's chat: {text}"
        );
        assert!(
            chat != OPERATORS_CHAT || !(text.contains("acme") || text.contains("globex")),
            "a tenant's alert in the operators' chat: {text}"
        );
    }

    // The passive check: no result after 30 s (+2 s of patience), then ERR with its text.
    stack.message(
        ACME_CHAT,
        &[
            "FIRING: PeeperCheckNoResult",
            "No result from check nightly-backup on db-01 (acme)",
        ],
        Duration::from_secs(60),
    );
    stack.status(
        "acme",
        "db-01",
        &["nightly-backup", "ERR", "--message", "disk full on /backup"],
    );
    stack.message(
        ACME_CHAT,
        &[
            "FIRING: PeeperCheckFailed",
            "Check nightly-backup is ERR on db-01 (acme)",
            "disk full on /backup",
        ],
        Duration::from_secs(20),
    );

    // MySQL stopped (alert after its 1 minute), and a certificate 3 days from expiry: critical,
    // with the warning of the same alert muted.
    stack.message(
        ACME_CHAT,
        &["FIRING: MysqlDown", "MySQL down on db-01 (acme)"],
        Duration::from_secs(90),
    );
    stack.message(
        ACME_CHAT,
        &["FIRING: CertificateExpiresSoon", "(critical)", "db-01"],
        Duration::from_secs(30),
    );
    assert_eq!(
        stack.count(ACME_CHAT, &["CertificateExpiresSoon", "(warning)"]),
        0
    );

    // The same by e-mail, to each tenant's address.
    let wait = Duration::from_secs(20);
    stack.mail(
        &[
            "To: acme@localhost",
            "[FIRING] PeeperAgentSilent on web-01 (acme)",
        ],
        wait,
    );
    stack.mail(
        &[
            "To: acme@localhost",
            "[RESOLVED] PeeperAgentSilent on web-01 (acme)",
        ],
        wait,
    );
    stack.mail(
        &[
            "To: globex@localhost",
            "PeeperAgentSilent on globex-01 (globex)",
        ],
        wait,
    );
    stack.mail(
        &[
            "To: acme@localhost",
            "PeeperCheckFailed",
            "disk full on /backup",
        ],
        wait,
    );
    stack.mail(&["To: acme@localhost", "MysqlDown on db-01 (acme)"], wait);
    stack.mail(&["To: acme@localhost", "CertificateExpiresSoon"], wait);
    assert!(
        stack
            .smtp
            .mails()
            .iter()
            .all(|m| !m.contains("To: ops@localhost") || !m.contains("acme")),
        "a tenant's alert reached the operators' address"
    );
    if std::env::var_os("PEEPER_SHOW_MESSAGES").is_some() {
        for m in stack.telegram.messages() {
            eprintln!("--- to {}\n{}", m.chat_id, m.text);
        }
    }
    kill(web);
    kill(db_agent);
}
