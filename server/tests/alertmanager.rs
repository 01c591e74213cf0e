//! The rendered Alertmanager config and the notification templates, with the real
//! Alertmanager: a flood of alerts with huge, HTML-hostile values still makes one Telegram
//! message that Telegram accepts (the fake refuses what Telegram refuses: over 4096
//! characters, or HTML it cannot parse), and the message says what was left out.

use peeper_test_support as support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::alerting::{Alertmanager, TelegramFake};

const SERVER: &str = env!("CARGO_BIN_EXE_peeper-server");
const TOKEN: &str = "42:flood";

/// POSTs alerts to Alertmanager's API with a plain HTTP/1.0 request.
fn post_alerts(addr: &str, alerts: &serde_json::Value) {
    use std::io::{Read, Write};
    let body = alerts.to_string();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /api/v2/alerts HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
}

#[test]
fn a_flood_of_huge_alerts_is_one_message_telegram_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = TelegramFake::start(dir.path(), TOKEN);
    let env = [
        ("TELEGRAM_ENABLED", "true".to_owned()),
        ("TELEGRAM_BOT_TOKEN", TOKEN.to_owned()),
        ("TELEGRAM_CHAT_ID", "-77".to_owned()),
        ("TELEGRAM_API_URL", telegram.url.clone()),
        ("PEEPER_ALERT_GROUP_WAIT", "1s".to_owned()),
    ];
    let alertmanager = Alertmanager::start(dir.path(), Path::new(SERVER), &env);
    let huge = "<b>&amp; \"quoted\" 'single' ✓ ".repeat(300);
    let alerts: Vec<serde_json::Value> = (0..9)
        .map(|i| {
            serde_json::json!({
                "labels": {
                    "alertname": "HostFilesystemAlmostFull",
                    "tenant": "acme",
                    "instance": format!("web-01{}", "x".repeat(500)),
                    "severity": "warning",
                    "mountpoint": format!("/data{i}"),
                },
                "annotations": {"summary": format!("{i} {huge}"), "description": huge.clone()},
            })
        })
        .collect();
    post_alerts(&alertmanager.addr, &serde_json::Value::Array(alerts));
    let start = Instant::now();
    while telegram.messages().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Telegram got no message: Alertmanager's log:\n{}",
            std::fs::read_to_string(dir.path().join("alertmanager.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let messages = telegram.messages();
    assert_eq!(messages.len(), 1, "one group, one message");
    let text = &messages[0].text;
    assert_eq!(messages[0].chat_id, "-77");
    assert!(text.contains("FIRING: HostFilesystemAlmostFull"), "{text}");
    assert!(text.contains("… and 5 more"), "{text}");
    // Markup characters of values are shown as look-alikes, so nothing is escaped into
    // entities that would lengthen the markup past Alertmanager's cut.
    assert!(text.contains("‹b›＆amp; ”quoted” ’single’ ✓"), "{text}");
}
