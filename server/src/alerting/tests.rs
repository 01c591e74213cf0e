use super::*;
use std::collections::HashMap;

fn render_with(vars: &[(&str, &str)], force: Force) -> Result<serde_yaml_ng::Value, AlertingError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let env = move |name: &str| map.get(name).cloned();
    let text = render(&env, Path::new("/opt/peeper/templates"), force)?;
    Ok(serde_yaml_ng::from_str(&text).unwrap())
}

fn error(vars: &[(&str, &str)]) -> String {
    render_with(vars, Force::default()).unwrap_err().to_string()
}

const TELEGRAM: [(&str, &str); 3] = [
    ("TELEGRAM_ENABLED", "true"),
    ("TELEGRAM_BOT_TOKEN", "123:abc"),
    ("TELEGRAM_CHAT_ID", "-1001"),
];

#[test]
fn nothing_enabled_renders_receivers_without_notifiers() {
    let config = render_with(&[], Force::default()).unwrap();
    let operators = &config["receivers"][0];
    assert_eq!(operators["name"], "operators");
    assert!(operators.get("telegram_configs").is_none());
    assert_eq!(config["route"]["group_by"][0], "tenant");
    assert_eq!(config["route"]["group_wait"], "30000ms");
    assert_eq!(config["route"]["group_interval"], "60000ms");
    assert_eq!(config["templates"][0], "/opt/peeper/templates/*.tmpl");
}

#[test]
fn telegram_with_tenant_chats_routes_each_tenant_to_its_own_chat() {
    let mut vars = TELEGRAM.to_vec();
    vars.push(("TELEGRAM_TENANT_CHATS", "acme=-2002, globex=-3003"));
    vars.push(("TELEGRAM_API_URL", "http://127.0.0.1:8081"));
    vars.push(("PEEPER_ALERT_GROUP_WAIT", "1s"));
    let config = render_with(&vars, Force::default()).unwrap();
    let telegram = &config["receivers"][0]["telegram_configs"][0];
    assert_eq!(
        telegram["chat_id"], -1001,
        "an integer, as Alertmanager 0.25 needs"
    );
    assert_eq!(telegram["bot_token"], "123:abc");
    assert_eq!(telegram["api_url"], "http://127.0.0.1:8081");
    assert_eq!(telegram["parse_mode"], "HTML");
    assert_eq!(telegram["send_resolved"], true);
    let routes = config["route"]["routes"].as_sequence().unwrap();
    let acme = routes
        .iter()
        .find(|r| r["receiver"] == "tenant-acme")
        .unwrap();
    assert_eq!(acme["matchers"][0], r#"tenant="acme""#);
    let receivers = config["receivers"].as_sequence().unwrap();
    let acme = receivers
        .iter()
        .find(|r| r["name"] == "tenant-acme")
        .unwrap();
    assert_eq!(acme["telegram_configs"][0]["chat_id"], -2002);
    assert_eq!(config["route"]["group_wait"], "1000ms");
}

#[test]
fn inhibitions_mute_a_silent_hosts_alerts_and_warnings_under_criticals() {
    let config = render_with(&[], Force::default()).unwrap();
    let rules = config["inhibit_rules"].as_sequence().unwrap();
    assert_eq!(
        rules[0]["source_matchers"][0],
        r#"alertname="PeeperAgentSilent""#
    );
    assert_eq!(rules[0]["equal"].as_sequence().unwrap().len(), 2);
    assert_eq!(rules[1]["target_matchers"][0], r#"severity="warning""#);
    let equal: Vec<&str> = rules[1]["equal"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(equal.contains(&"alertname") && equal.contains(&"mountpoint"));
}

#[test]
fn email_settings_and_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("smtp.pass");
    std::fs::write(&password, "s3cret\n").unwrap();
    let password = password.display().to_string();
    let vars = [
        ("EMAIL_SMARTHOST", "mail.example.com:587"),
        ("EMAIL_FROM", "peeper@example.com"),
        ("EMAIL_TO", "ops@example.com"),
        ("EMAIL_AUTH_USERNAME", "peeper"),
        ("EMAIL_AUTH_PASSWORD_FILE", password.as_str()),
        ("EMAIL_TENANT_TO", "acme=noc@acme.example"),
    ];
    let config = render_with(
        &vars,
        Force {
            telegram: false,
            email: true,
        },
    )
    .unwrap();
    assert_eq!(config["global"]["smtp_auth_password"], "s3cret");
    assert_eq!(config["global"]["smtp_require_tls"], true);
    assert_eq!(
        config["receivers"][0]["email_configs"][0]["to"],
        "ops@example.com"
    );
    let mut no_tls = vars.to_vec();
    no_tls.push(("EMAIL_REQUIRE_TLS", "false"));
    let config = render_with(
        &no_tls,
        Force {
            telegram: false,
            email: true,
        },
    )
    .unwrap();
    assert_eq!(config["global"]["smtp_require_tls"], false);
}

#[test]
fn mistakes_are_one_line_naming_the_variable_and_the_file() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("TELEGRAM_ENABLED", "true")],
            "TELEGRAM_BOT_TOKEN is not set",
        ),
        (
            &[("TELEGRAM_ENABLED", "true"), ("TELEGRAM_BOT_TOKEN", "x")],
            "TELEGRAM_CHAT_ID is not set",
        ),
        (
            &[
                ("TELEGRAM_ENABLED", "true"),
                ("TELEGRAM_BOT_TOKEN", "x"),
                ("TELEGRAM_CHAT_ID", "@mychannel"),
            ],
            "is a number",
        ),
        (&[("TELEGRAM_ENABLED", "maybe")], "write true or false"),
        (
            &[
                ("TELEGRAM_ENABLED", "1"),
                ("TELEGRAM_BOT_TOKEN_FILE", "/nonexistent/token"),
                ("TELEGRAM_CHAT_ID", "1"),
            ],
            "cannot read TELEGRAM_BOT_TOKEN_FILE",
        ),
        (&[("EMAIL_ENABLED", "true")], "EMAIL_SMARTHOST is not set"),
        (
            &[
                ("EMAIL_ENABLED", "true"),
                ("EMAIL_SMARTHOST", "mail.example.com"),
            ],
            "host:port",
        ),
        (
            &[("PEEPER_ALERT_GROUP_WAIT", "soon")],
            "PEEPER_ALERT_GROUP_WAIT",
        ),
    ];
    for (vars, expected) in cases {
        let message = error(vars);
        assert!(message.contains(expected), "{vars:?}: {message}");
        assert!(message.contains("env/.env"), "{vars:?}: {message}");
        assert!(!message.contains('\n'), "{message}");
    }
    let mut tenants = TELEGRAM.to_vec();
    tenants.push(("TELEGRAM_TENANT_CHATS", "acme:-1"));
    assert!(error(&tenants).contains("tenant=value"));
}

#[test]
fn the_flag_switches_a_receiver_on_without_the_variable() {
    let err = render_with(
        &[],
        Force {
            telegram: true,
            email: false,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("TELEGRAM_BOT_TOKEN"), "{err}");
}
