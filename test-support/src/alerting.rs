//! The alerting path on loopback: vmalert (Debian `victoria-metrics`) with the repo's rules,
//! Alertmanager (Debian `prometheus-alertmanager`) with the config `peeper-server
//! alertmanager-config` renders, the repo's fake Telegram Bot API (`scripts/telegram-fake.py`,
//! the one allowed stand-in) and a real SMTP server (`python3-aiosmtpd`) keeping what it gets.

use crate::{free_port, http_get, repo_root, require_binary, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed when dropped, logging to a file.
struct Process {
    child: Child,
}

impl Process {
    fn spawn(command: &mut Command, log: &Path) -> Process {
        let log = std::fs::File::create(log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
        Process { child }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's Python, which has `python3-aiosmtpd` (a `python3` earlier on PATH may not).
fn debian_python() -> PathBuf {
    let python = PathBuf::from("/usr/bin/python3");
    assert!(
        python.is_file(),
        "/usr/bin/python3 is missing: install it with `apt-get install python3` or run the \
         README's test command (`./scripts/test.sh`)"
    );
    python
}

fn wait_http(what: &str, addr: &str, path: &str) {
    wait_until(what, Duration::from_secs(20), || {
        matches!(http_get(addr, path), Ok((200, _)))
    });
}

/// One `sendMessage` the fake Bot API accepted.
#[derive(Debug, Clone)]
pub struct TelegramMessage {
    pub chat_id: String,
    pub text: String,
}

/// `scripts/telegram-fake.py` on a free port.
pub struct TelegramFake {
    _process: Process,
    pub url: String,
    record: PathBuf,
}

impl TelegramFake {
    pub fn start(dir: &Path, token: &str) -> TelegramFake {
        let addr = format!("127.0.0.1:{}", free_port());
        let record = dir.join("telegram.jsonl");
        let process = Process::spawn(
            Command::new(debian_python())
                .arg(repo_root().join("scripts/telegram-fake.py"))
                .args(["--listen", &addr, "--token", token])
                .arg("--record")
                .arg(&record),
            &dir.join("telegram.log"),
        );
        wait_until("the fake Telegram API", Duration::from_secs(10), || {
            std::net::TcpStream::connect(&addr).is_ok()
        });
        TelegramFake {
            _process: process,
            url: format!("http://{addr}"),
            record,
        }
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<TelegramMessage> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|m| TelegramMessage {
                chat_id: m["chat_id"].as_str().unwrap_or_default().to_owned(),
                text: m["text"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}

/// aiosmtpd with its Mailbox handler: every message as a file in a maildir.
pub struct SmtpSink {
    _process: Process,
    pub addr: String,
    maildir: PathBuf,
}

impl SmtpSink {
    pub fn start(dir: &Path) -> SmtpSink {
        let python = debian_python();
        let probe = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .unwrap();
        assert!(
            probe.status.success(),
            "aiosmtpd is not installed: this test sends mail to a real local SMTP server; install \
             it with `apt-get install python3-aiosmtpd` or run the README's test command"
        );
        let addr = format!("127.0.0.1:{}", free_port());
        let maildir = dir.join("maildir");
        let process = Process::spawn(
            Command::new(python)
                .args([
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    &addr,
                    "-c",
                    "aiosmtpd.handlers.Mailbox",
                ])
                .arg(&maildir),
            &dir.join("smtp.log"),
        );
        wait_until("the SMTP server", Duration::from_secs(10), || {
            std::net::TcpStream::connect(&addr).is_ok()
        });
        SmtpSink {
            _process: process,
            addr,
            maildir,
        }
    }

    /// Every message received so far (headers and body, quoted-printable decoded).
    pub fn mails(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(raw) = std::fs::read_to_string(entry.path()) {
                    out.push(quoted_printable(&raw));
                }
            }
        }
        out
    }
}

/// Undoes quoted-printable soft line breaks and `=XX` escapes (good enough to search text).
fn quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Alertmanager with a config rendered by `peeper-server alertmanager-config`.
pub struct Alertmanager {
    _process: Process,
    pub addr: String,
}

impl Alertmanager {
    /// Renders the config with `server_binary` from `env` (TELEGRAM_*, EMAIL_*,
    /// PEEPER_ALERT_*) and starts Alertmanager with it.
    pub fn start(dir: &Path, server_binary: &Path, env: &[(&str, String)]) -> Alertmanager {
        let binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager");
        let config = dir.join("alertmanager.yml");
        let output = Command::new(server_binary)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .arg("alertmanager-config")
            .arg("--templates")
            .arg(repo_root().join("compose/alertmanager/templates"))
            .arg("--out")
            .arg(&config)
            .output()
            .expect("run peeper-server alertmanager-config");
        assert!(
            output.status.success(),
            "alertmanager-config failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let addr = format!("127.0.0.1:{}", free_port());
        let process = Process::spawn(
            Command::new(binary)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.path={}",
                    dir.join("alertmanager").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--cluster.listen-address="),
            &dir.join("alertmanager.log"),
        );
        wait_http("Alertmanager /-/ready", &addr, "/-/ready");
        Alertmanager {
            _process: process,
            addr,
        }
    }
}

/// vmalert evaluating every rule file of `compose/vmalert/rules`, keeping its state in
/// VictoriaMetrics.
pub struct Vmalert {
    _process: Process,
    pub addr: String,
}

impl Vmalert {
    pub fn start(dir: &Path, vm_url: &str, alertmanager: &str, eval_interval: &str) -> Vmalert {
        let binary = require_binary("vmalert", "victoria-metrics");
        let addr = format!("127.0.0.1:{}", free_port());
        let rules = repo_root().join("compose/vmalert/rules/*.yml");
        let process = Process::spawn(
            Command::new(binary)
                .arg(format!("-rule={}", rules.display()))
                .arg(format!("-datasource.url={vm_url}"))
                .arg(format!("-remoteWrite.url={vm_url}"))
                .arg(format!("-remoteRead.url={vm_url}"))
                .arg(format!("-notifier.url=http://{alertmanager}"))
                .arg(format!("-evaluationInterval={eval_interval}"))
                .arg(format!("-httpListenAddr={addr}")),
            &dir.join("vmalert.log"),
        );
        wait_http("vmalert /metrics", &addr, "/metrics");
        Vmalert {
            _process: process,
            addr,
        }
    }
}
