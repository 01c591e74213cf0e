//! `peeper-server alertmanager-config`: the Alertmanager configuration rendered from the
//! operator's env files (`env/.env.telegram`, `env/.env.email`, alert timings in `env/.env`),
//! with every value checked first, so a missing token or a chat id that is not a number is one
//! clear line before anything starts, not an Alertmanager that refuses to load.
//!
//! Alerts are grouped by tenant, host and alert; a tenant with its own chat or address
//! (`TELEGRAM_TENANT_CHATS`, `EMAIL_TENANT_TO`) gets its alerts there and nowhere else; the
//! operators' receivers get the rest and the server stack's own alerts. A silent agent mutes
//! the other alerts of its host, and a critical alert mutes the warning of the same alert.

mod vars;

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vars::{chat_id, duration, email, get, per_tenant, telegram};

/// Where each variable is documented, for error messages.
const TELEGRAM_FILE: &str = "env/.env.telegram";
const EMAIL_FILE: &str = "env/.env.email";
const MAIN_FILE: &str = "env/.env";

/// Labels that tell apart two alerts of the same rule on one host; critical inhibits
/// warning only when these match (a missing label matches a missing one).
const SAME_ALERT: [&str; 16] = [
    "tenant",
    "instance",
    "alertname",
    "job",
    "mountpoint",
    "device",
    "name",
    "target",
    "file",
    "module",
    "cn",
    "check",
    "datname",
    "collector",
    "reason",
    "master_host",
];

#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    #[error("{name} is not set: {why} (in {file})")]
    Missing {
        name: &'static str,
        why: &'static str,
        file: &'static str,
    },
    #[error("{name}={value:?} is not valid: {why} (in {file})")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
        file: &'static str,
    },
    #[error("cannot read {name} file {path}: {source} (in {file})")]
    SecretFile {
        name: &'static str,
        path: PathBuf,
        source: std::io::Error,
        file: &'static str,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads one variable of the environment (a closure, so tests pass a map).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

#[derive(Debug, Clone, Serialize)]
struct TelegramConfig {
    api_url: String,
    bot_token: String,
    chat_id: i64,
    parse_mode: &'static str,
    message: &'static str,
    send_resolved: bool,
}

#[derive(Debug, Clone, Serialize)]
struct EmailConfig {
    to: String,
    send_resolved: bool,
    headers: BTreeMap<&'static str, &'static str>,
    html: &'static str,
    text: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct WebhookConfig {
    url: String,
    send_resolved: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Receiver {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    telegram_configs: Vec<TelegramConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    email_configs: Vec<EmailConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<WebhookConfig>,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Route {
    receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    matchers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    group_by: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_wait: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat_interval: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<Route>,
}

#[derive(Debug, Clone, Serialize)]
struct Inhibit {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    equal: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
struct Config {
    global: BTreeMap<&'static str, serde_yaml_ng::Value>,
    templates: Vec<String>,
    route: Route,
    inhibit_rules: Vec<Inhibit>,
    receivers: Vec<Receiver>,
}

/// The alert `./setup.sh --test-alert` sends.
pub const TEST_ALERT: &str = "PeeperTestAlert";

const TELEGRAM_MESSAGE: &str = r#"{{ template "peeper.telegram.message" . }}"#;

/// The receivers' settings read from the environment.
#[derive(Debug, Clone, Default)]
struct Channels {
    telegram: Option<(String, String, i64)>,
    tenant_chats: BTreeMap<String, i64>,
    email_to: Option<String>,
    tenant_email: BTreeMap<String, String>,
}

impl Channels {
    fn telegram(&self, chat_id: i64) -> Vec<TelegramConfig> {
        self.telegram
            .iter()
            .map(|(api_url, bot_token, _)| TelegramConfig {
                api_url: api_url.clone(),
                bot_token: bot_token.clone(),
                chat_id,
                parse_mode: "HTML",
                message: TELEGRAM_MESSAGE,
                send_resolved: true,
            })
            .collect()
    }

    fn email(to: &str) -> EmailConfig {
        EmailConfig {
            to: to.to_owned(),
            send_resolved: true,
            headers: [("Subject", r#"{{ template "peeper.email.subject" . }}"#)].into(),
            html: r#"{{ template "peeper.email.html" . }}"#,
            text: r#"{{ template "peeper.email.text" . }}"#,
        }
    }
}

/// Which receivers to switch on regardless of the `*_ENABLED` variables (the installer's
/// `--telegram` and `--email` flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct Force {
    pub telegram: bool,
    pub email: bool,
}

/// Renders the configuration; `templates` is the directory of `*.tmpl` files.
pub fn render(env: Lookup, templates: &Path, force: Force) -> Result<String, AlertingError> {
    let mut global: BTreeMap<&'static str, serde_yaml_ng::Value> = BTreeMap::new();
    global.insert("resolve_timeout", "5m".into());
    let mut channels = Channels {
        telegram: telegram(env, force.telegram)?,
        ..Channels::default()
    };
    if channels.telegram.is_some() {
        for (tenant, chat) in per_tenant(env, "TELEGRAM_TENANT_CHATS", TELEGRAM_FILE)? {
            channels
                .tenant_chats
                .insert(tenant, chat_id("TELEGRAM_TENANT_CHATS", &chat)?);
        }
    }
    if let Some(smtp) = email(env, force.email)? {
        global.extend(smtp);
        channels.email_to = Some(get(env, "EMAIL_TO").ok_or(AlertingError::Missing {
            name: "EMAIL_TO",
            why: "e-mail is on and needs the address(es) alerts go to",
            file: EMAIL_FILE,
        })?);
        channels.tenant_email = per_tenant(env, "EMAIL_TENANT_TO", EMAIL_FILE)?;
    }
    let group_wait = duration(env, "PEEPER_ALERT_GROUP_WAIT", "30s")?;
    // 1m, not the usual 5m: groups are one alert on one host, so this is how soon a
    // resolution, or the same alert firing again, is sent.
    let group_interval = duration(env, "PEEPER_ALERT_GROUP_INTERVAL", "1m")?;
    let repeat_interval = duration(env, "PEEPER_ALERT_REPEAT_INTERVAL", "4h")?;
    let heartbeat = get(env, "PEEPER_HEARTBEAT_URL");
    let config = Config {
        global,
        templates: vec![format!("{}/*.tmpl", templates.display())],
        route: routes(
            &channels,
            heartbeat.is_some(),
            group_wait,
            group_interval,
            repeat_interval,
        ),
        inhibit_rules: inhibitions(),
        receivers: receivers(&channels, heartbeat),
    };
    let yaml = serde_yaml_ng::to_string(&config).expect("the config serializes");
    Ok(format!(
        "# Rendered by `peeper-server alertmanager-config` from {TELEGRAM_FILE}, {EMAIL_FILE} and \
         {MAIN_FILE}.\n# Edit those files and run ./setup.sh -i again instead of editing this one.\n{yaml}"
    ))
}

fn routes(
    channels: &Channels,
    heartbeat: bool,
    wait: String,
    interval: String,
    repeat: String,
) -> Route {
    let mut routes = vec![
        // An external dead man's switch wants the Watchdog often and nobody else wants it.
        Route {
            receiver: if heartbeat { "heartbeat" } else { "blackhole" }.to_owned(),
            matchers: vec![r#"alertname="Watchdog""#.to_owned()],
            group_wait: Some("0s".to_owned()),
            repeat_interval: Some("1m".to_owned()),
            ..Route::default()
        },
    ];
    let tenants: std::collections::BTreeSet<&String> = channels
        .tenant_chats
        .keys()
        .chain(channels.tenant_email.keys())
        .collect();
    let by_tenant: Vec<Route> = tenants
        .into_iter()
        .map(|tenant| Route {
            receiver: format!("tenant-{tenant}"),
            matchers: vec![format!("tenant={tenant:?}")],
            ..Route::default()
        })
        .collect();
    // `./setup.sh --test-alert [TENANT]`: delivered at once, to the tenant's receivers
    // when it names a tenant.
    // Each test alert is a group of its own (it carries its time), sent at once.
    routes.push(Route {
        receiver: "operators".to_owned(),
        matchers: vec![format!("alertname={TEST_ALERT:?}")],
        group_by: vec!["..."],
        group_wait: Some("0s".to_owned()),
        routes: by_tenant.clone(),
        ..Route::default()
    });
    routes.extend(by_tenant);
    Route {
        receiver: "operators".to_owned(),
        group_by: vec!["tenant", "instance", "alertname"],
        group_wait: Some(wait),
        group_interval: Some(interval),
        repeat_interval: Some(repeat),
        routes,
        ..Route::default()
    }
}

fn inhibitions() -> Vec<Inhibit> {
    vec![
        // A host that stopped reporting: its other alerts are stale news.
        Inhibit {
            source_matchers: vec![r#"alertname="PeeperAgentSilent""#.to_owned()],
            target_matchers: vec![r#"alertname!="PeeperAgentSilent""#.to_owned()],
            equal: vec!["tenant", "instance"],
        },
        Inhibit {
            source_matchers: vec![r#"severity="critical""#.to_owned()],
            target_matchers: vec![r#"severity="warning""#.to_owned()],
            equal: SAME_ALERT.to_vec(),
        },
    ]
}

fn receivers(channels: &Channels, heartbeat: Option<String>) -> Vec<Receiver> {
    let mut out = vec![
        Receiver {
            name: "operators".to_owned(),
            telegram_configs: channels
                .telegram
                .as_ref()
                .map(|(_, _, chat)| channels.telegram(*chat))
                .unwrap_or_default(),
            email_configs: channels
                .email_to
                .iter()
                .map(|to| Channels::email(to))
                .collect(),
            ..Receiver::default()
        },
        Receiver {
            name: "blackhole".to_owned(),
            ..Receiver::default()
        },
    ];
    if let Some(url) = heartbeat {
        out.push(Receiver {
            name: "heartbeat".to_owned(),
            webhook_configs: vec![WebhookConfig {
                url,
                send_resolved: false,
            }],
            ..Receiver::default()
        });
    }
    let tenants: std::collections::BTreeSet<&String> = channels
        .tenant_chats
        .keys()
        .chain(channels.tenant_email.keys())
        .collect();
    for tenant in tenants {
        out.push(Receiver {
            name: format!("tenant-{tenant}"),
            telegram_configs: channels
                .tenant_chats
                .get(tenant)
                .map(|chat| channels.telegram(*chat))
                .unwrap_or_default(),
            email_configs: channels
                .tenant_email
                .get(tenant)
                .map(|to| Channels::email(to))
                .into_iter()
                .collect(),
            ..Receiver::default()
        });
    }
    out
}

/// Writes `text` to `path`, readable by its owner only (it holds the bot token and the SMTP
/// password).
pub fn write_private(path: &Path, text: &str) -> Result<(), AlertingError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let error = |source| AlertingError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(error)?;
    file.write_all(text.as_bytes()).map_err(error)?;
    std::fs::rename(&tmp, path).map_err(error)
}

#[cfg(test)]
mod tests;
