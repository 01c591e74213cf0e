//! Reading and checking the variables of the env files: flags, secrets (inline or from a
//! file), chat ids, durations, per-tenant lists, and the Telegram and e-mail settings.

use super::{AlertingError, EMAIL_FILE, Lookup, MAIN_FILE, TELEGRAM_FILE};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A variable's value, trimmed; `None` when unset or empty.
pub(super) fn get(env: Lookup, name: &str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A true/false variable (unset is false).
pub(super) fn flag(
    env: Lookup,
    name: &'static str,
    file: &'static str,
) -> Result<bool, AlertingError> {
    match get(env, name)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(AlertingError::Invalid {
            name,
            value: other.to_owned(),
            why: "write true or false".to_owned(),
            file,
        }),
    }
}

/// A secret from `NAME` or the file named by `NAME_FILE`.
pub(super) fn secret(
    env: Lookup,
    name: &'static str,
    file_name: &'static str,
    file: &'static str,
) -> Result<Option<String>, AlertingError> {
    if let Some(path) = get(env, file_name) {
        let text = std::fs::read_to_string(&path).map_err(|source| AlertingError::SecretFile {
            name: file_name,
            path: PathBuf::from(&path),
            source,
            file,
        })?;
        return Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty()));
    }
    Ok(get(env, name))
}

/// A Telegram chat id.
pub(super) fn chat_id(name: &'static str, value: &str) -> Result<i64, AlertingError> {
    value.parse().map_err(|_| AlertingError::Invalid {
        name,
        value: value.to_owned(),
        why: "a Telegram chat id is a number, like -1001234567890 for a group (ask @userinfobot \
              or read getUpdates)"
            .to_owned(),
        file: TELEGRAM_FILE,
    })
}

/// A duration variable, as Alertmanager reads it (milliseconds).
pub(super) fn duration(
    env: Lookup,
    name: &'static str,
    default: &str,
) -> Result<String, AlertingError> {
    let value = get(env, name).unwrap_or_else(|| default.to_owned());
    match peeper_proto::duration::parse(&value) {
        Some(d) => Ok(format!("{}ms", d.as_millis())),
        None => Err(AlertingError::Invalid {
            name,
            value,
            why: "write a duration like 30s, 5m or 4h".to_owned(),
            file: MAIN_FILE,
        }),
    }
}

/// `tenant=value,tenant=value` lists.
pub(super) fn per_tenant(
    env: Lookup,
    name: &'static str,
    file: &'static str,
) -> Result<BTreeMap<String, String>, AlertingError> {
    let mut out = BTreeMap::new();
    for item in get(env, name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let (tenant, value) = item.split_once('=').ok_or_else(|| AlertingError::Invalid {
            name,
            value: item.to_owned(),
            why: "write tenant=value pairs separated by commas, like acme=-1001,globex=-1002"
                .to_owned(),
            file,
        })?;
        crate::tokens::validate_tenant(tenant.trim()).map_err(|e| AlertingError::Invalid {
            name,
            value: item.to_owned(),
            why: e.to_string(),
            file,
        })?;
        out.insert(tenant.trim().to_owned(), value.trim().to_owned());
    }
    Ok(out)
}

/// Telegram's API URL, bot token and chat, when it is on (or forced).
pub(super) fn telegram(
    env: Lookup,
    force: bool,
) -> Result<Option<(String, String, i64)>, AlertingError> {
    if !(force || flag(env, "TELEGRAM_ENABLED", TELEGRAM_FILE)?) {
        return Ok(None);
    }
    let token = secret(env, "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN_FILE", TELEGRAM_FILE)?
        .ok_or(AlertingError::Missing {
            name: "TELEGRAM_BOT_TOKEN",
            why: "Telegram is on and needs the bot's token from @BotFather (or TELEGRAM_BOT_TOKEN_FILE naming a file that holds it)",
            file: TELEGRAM_FILE,
        })?;
    let chat = get(env, "TELEGRAM_CHAT_ID").ok_or(AlertingError::Missing {
        name: "TELEGRAM_CHAT_ID",
        why: "Telegram is on and needs the chat the bot writes to",
        file: TELEGRAM_FILE,
    })?;
    let chat = chat_id("TELEGRAM_CHAT_ID", &chat)?;
    let api = get(env, "TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".to_owned());
    match reqwest::Url::parse(&api) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => {
            return Err(AlertingError::Invalid {
                name: "TELEGRAM_API_URL",
                value: api,
                why: "write an http:// or https:// URL, like https://api.telegram.org".to_owned(),
                file: TELEGRAM_FILE,
            });
        }
    }
    Ok(Some((api, token, chat)))
}

/// The SMTP settings of Alertmanager's `global` section, when e-mail is on (or forced).
pub(super) fn email(
    env: Lookup,
    force: bool,
) -> Result<Option<BTreeMap<&'static str, serde_yaml_ng::Value>>, AlertingError> {
    if !(force || flag(env, "EMAIL_ENABLED", EMAIL_FILE)?) {
        return Ok(None);
    }
    let need = |name: &'static str, why: &'static str| {
        get(env, name).ok_or(AlertingError::Missing {
            name,
            why,
            file: EMAIL_FILE,
        })
    };
    let smarthost = need(
        "EMAIL_SMARTHOST",
        "e-mail is on and needs the SMTP server as host:port",
    )?;
    if smarthost
        .rsplit_once(':')
        .is_none_or(|(_, p)| p.parse::<u16>().is_err())
    {
        return Err(AlertingError::Invalid {
            name: "EMAIL_SMARTHOST",
            value: smarthost,
            why: "write host:port, like smtp.example.com:587".to_owned(),
            file: EMAIL_FILE,
        });
    }
    let from = need("EMAIL_FROM", "e-mail is on and needs the sender address")?;
    let mut global = BTreeMap::new();
    global.insert("smtp_smarthost", smarthost.into());
    global.insert("smtp_from", from.into());
    global.insert(
        "smtp_require_tls",
        flag(env, "EMAIL_REQUIRE_TLS", EMAIL_FILE)
            .map(|on| on || get(env, "EMAIL_REQUIRE_TLS").is_none())?
            .into(),
    );
    if let Some(user) = get(env, "EMAIL_AUTH_USERNAME") {
        let password = secret(env, "EMAIL_AUTH_PASSWORD", "EMAIL_AUTH_PASSWORD_FILE", EMAIL_FILE)?
            .ok_or(AlertingError::Missing {
                name: "EMAIL_AUTH_PASSWORD",
                why: "EMAIL_AUTH_USERNAME is set, so the SMTP password is needed too (or EMAIL_AUTH_PASSWORD_FILE)",
                file: EMAIL_FILE,
            })?;
        global.insert("smtp_auth_username", user.into());
        global.insert("smtp_auth_password", password.into());
    }
    Ok(Some(global))
}
