//! The alert rules in `compose/vmalert/`: every rule file passes `promtool check rules` and
//! `vmalert -dryRun`, every unit test passes `promtool test rules`, every alert has a test
//! where it fires and one where it does not, and the conventions of
//! `compose/vmalert/README.md` hold (severity, summary and description naming tenant and host).

use peeper_test_support as support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::require_binary;

/// Areas about the server stack itself: their alerts carry no tenant.
const STACK_AREAS: [&str; 3] = ["server", "backup", "watchdog"];
/// Alerts that cannot stop firing, so they have no non-firing test.
const ALWAYS_FIRING: [&str; 1] = ["Watchdog"];

fn vmalert_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose/vmalert")
}

fn files(dir: &str, suffix: &str) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(vmalert_dir().join(dir)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(area) = name.strip_suffix(suffix) {
            out.insert(area.to_owned(), path);
        }
    }
    out
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("run the checker");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn yaml(path: &Path) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every alerting rule of a file: (name, rule).
fn alerts(path: &Path) -> Vec<(String, serde_yaml_ng::Value)> {
    let doc = yaml(path);
    let mut out = Vec::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            if let Some(name) = rule["alert"].as_str() {
                out.push((name.to_owned(), rule.clone()));
            }
        }
    }
    out
}

#[test]
fn every_rule_file_is_valid_for_promtool_and_vmalert() {
    let promtool = require_binary("promtool", "prometheus");
    let vmalert = require_binary("vmalert", "victoria-metrics");
    let rules = files("rules", ".yml");
    assert!(rules.len() >= 12, "rule files: {:?}", rules.keys());
    for (area, path) in &rules {
        let (ok, out) = run(Command::new(&promtool).args(["check", "rules"]).arg(path));
        assert!(ok, "promtool check rules {area}:\n{out}");
    }
    let mut dry = Command::new(vmalert);
    dry.arg("-dryRun");
    for path in rules.values() {
        dry.arg(format!("-rule={}", path.display()));
    }
    let (ok, out) = run(&mut dry);
    assert!(ok, "vmalert -dryRun:\n{out}");
}

#[test]
fn every_unit_test_passes() {
    let promtool = require_binary("promtool", "prometheus");
    let rules = files("rules", ".yml");
    let tests = files("tests", ".test.yml");
    assert_eq!(
        rules.keys().collect::<Vec<_>>(),
        tests.keys().collect::<Vec<_>>(),
        "every rules/AREA.yml has a tests/AREA.test.yml and the other way round"
    );
    for (area, path) in &tests {
        let (ok, out) = run(Command::new(&promtool)
            .current_dir(vmalert_dir().join("tests"))
            .args(["test", "rules"])
            .arg(path));
        assert!(ok, "promtool test rules {area}:\n{out}");
    }
}

#[test]
fn every_alert_is_tested_firing_and_not_firing() {
    let tests = files("tests", ".test.yml");
    for (area, path) in files("rules", ".yml") {
        let doc = yaml(&tests[&area]);
        let (mut firing, mut quiet) = (BTreeSet::new(), BTreeSet::new());
        for test in doc["tests"].as_sequence().expect("tests") {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = case["alertname"].as_str().unwrap_or_default().to_owned();
                let expected = case["exp_alerts"].as_sequence().map_or(0, Vec::len);
                if expected > 0 {
                    firing.insert(name);
                } else {
                    quiet.insert(name);
                }
            }
        }
        for (name, _) in alerts(&path) {
            assert!(
                firing.contains(&name),
                "{area}: {name} has no test where it fires"
            );
            assert!(
                quiet.contains(&name) || ALWAYS_FIRING.contains(&name.as_str()),
                "{area}: {name} has no test where it does not fire"
            );
        }
    }
}

#[test]
fn every_alert_follows_the_conventions() {
    for (area, path) in files("rules", ".yml") {
        for (name, rule) in alerts(&path) {
            let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
            assert!(
                ["critical", "warning", "info"].contains(&severity),
                "{area}: {name} has severity {severity:?}, not critical, warning or info"
            );
            for annotation in ["summary", "description"] {
                let text = rule["annotations"][annotation].as_str().unwrap_or_default();
                assert!(text.len() > 10, "{area}: {name} has no {annotation}");
                if !STACK_AREAS.contains(&area.as_str()) {
                    for label in ["$labels.tenant", "$labels.instance"] {
                        assert!(
                            text.contains(label),
                            "{area}: {name}'s {annotation} does not name {label}: {text}"
                        );
                    }
                }
            }
        }
    }
}
