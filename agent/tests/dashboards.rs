//! The Grafana dashboards of `compose/grafana/dashboards/`. Grafana cannot run here, so they
//! are proven by their content: the structure Grafana 10–12 loads (and the conventions of
//! `compose/grafana/README.md`), every expression parsed by promtool, and every panel and
//! variable query run against a real VictoriaMetrics after a real agent with every collector
//! on pushed into it (`support/datastack.rs`): each must answer 200 with data.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::datastack;
use support::repo_root;

const DATASOURCE: &str = "peeper-vm";
const PANEL_TYPES: [&str; 8] = [
    "timeseries",
    "stat",
    "gauge",
    "bargauge",
    "table",
    "piechart",
    "state-timeline",
    "heatmap",
];

fn dashboards() -> Vec<(String, Value)> {
    let dir = repo_root().join("compose/grafana/dashboards");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let json =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                json,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every panel, rows' own panels included (row panels themselves left out).
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        if panel["type"] == "row" {
            out.extend(panel["panels"].as_array().into_iter().flatten());
        } else {
            out.push(panel);
        }
    }
    out
}

fn variables(dashboard: &Value) -> Vec<&Value> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect()
}

/// A query with Grafana's macros and the dashboard's variables filled in.
fn substitute(expr: &str, tenant: &str, instance: &str) -> String {
    expr.replace("${tenant}", tenant)
        .replace("$tenant", tenant)
        .replace("${instance}", instance)
        .replace("$instance", instance)
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "1h")
}

#[test]
fn dashboards_have_the_structure_grafana_loads_and_the_conventions() {
    let all = dashboards();
    assert!(
        all.len() >= 9,
        "dashboards: {:?}",
        all.iter().map(|d| &d.0).collect::<Vec<_>>()
    );
    let mut uids = BTreeSet::new();
    for (file, d) in &all {
        let uid = d["uid"].as_str().unwrap_or_default();
        assert!(
            uid.starts_with("peeper-") && uids.insert(uid.to_owned()),
            "{file}: uid {uid:?}"
        );
        assert!(
            d["schemaVersion"].as_u64().unwrap_or(0) >= 39,
            "{file}: schemaVersion"
        );
        assert!(
            d["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Peeper / "),
            "{file}: title"
        );
        let names: Vec<&str> = variables(d)
            .iter()
            .filter_map(|v| v["name"].as_str())
            .collect();
        assert!(
            names.contains(&"tenant") && names.contains(&"instance"),
            "{file}: variables {names:?}"
        );
        for v in variables(d) {
            assert_eq!(
                v["datasource"]["uid"], DATASOURCE,
                "{file}: variable {}",
                v["name"]
            );
        }
        let mut ids = BTreeSet::new();
        let mut boxes: Vec<(u64, u64, u64, u64)> = Vec::new();
        for p in panels(d) {
            let title = p["title"].as_str().unwrap_or("?");
            let at = format!("{file}: panel {title:?}");
            assert!(
                ids.insert(p["id"].as_u64().expect("panel id")),
                "{at}: duplicate id"
            );
            assert!(
                PANEL_TYPES.contains(&p["type"].as_str().unwrap_or_default()),
                "{at}: type {}",
                p["type"]
            );
            assert!(
                p["description"].as_str().is_some_and(|s| s.len() > 20),
                "{at}: description"
            );
            assert!(
                p["fieldConfig"]["defaults"]["unit"].is_string(),
                "{at}: unit"
            );
            assert_eq!(p["datasource"]["uid"], DATASOURCE, "{at}: datasource");
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(x + w <= 24 && w > 0 && h > 0, "{at}: gridPos {g}");
            for (ox, oy, ow, oh) in &boxes {
                let overlap = x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h;
                assert!(!overlap, "{at}: gridPos {g} overlaps another panel");
            }
            boxes.push((x, y, w, h));
            let targets = p["targets"]
                .as_array()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| panic!("{at}: targets"));
            for t in targets {
                let expr = t["expr"].as_str().unwrap_or_default();
                assert!(
                    !expr.is_empty() && t["refId"].is_string(),
                    "{at}: target without expr/refId"
                );
                assert_eq!(
                    t["datasource"]["uid"], DATASOURCE,
                    "{at}: target datasource"
                );
                let explained = t["comment"].as_str().is_some_and(|c| c.len() > 10);
                for variable in ["$tenant", "$instance"] {
                    assert!(
                        expr.contains(variable) || explained,
                        "{at}: {expr} does not use {variable} (or say why in a comment)"
                    );
                }
            }
        }
    }
}

#[test]
fn every_expression_is_promql_that_promtool_parses() {
    let promtool = support::require_binary("promtool", "prometheus");
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    let mut n = 0;
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = substitute(t["expr"].as_str().unwrap_or_default(), "t", "i");
                n += 1;
                rules.push_str(&format!(
                    "      # {file}: {}\n      - record: dashboard_query_{n}\n        expr: {}\n",
                    p["title"].as_str().unwrap_or("?").replace('\n', " "),
                    serde_json::to_string(&expr).unwrap()
                ));
            }
        }
    }
    let path = dir.path().join("dashboards.yml");
    std::fs::write(&path, &rules).unwrap();
    let out = std::process::Command::new(promtool)
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool refuses a dashboard expression:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The values a variable query (`label_values(...)`) gives on the live store.
fn variable_values(
    stack: &datastack::DataStack,
    query: &str,
    tenant: &str,
) -> Result<Vec<String>, String> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .ok_or(format!("not label_values: {query}"))?;
    let (selector, label) = inner
        .rsplit_once(',')
        .ok_or(format!("no label in {query}"))?;
    let selector = substitute(selector.trim(), tenant, "");
    let path = format!(
        "/api/v1/label/{}/values?match[]={}",
        label.trim(),
        support::url_encode(&selector)
    );
    let (status, body) = support::http_get(&stack.vm.addr, &path).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    let json: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    Ok(json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

/// Runs one panel query; an error names what failed.
fn run_query(stack: &datastack::DataStack, expr: &str) -> Result<usize, String> {
    let path = format!(
        "/api/v1/query?query={}&nocache=1",
        support::url_encode(expr)
    );
    let (status, body) = support::http_get(&stack.vm.addr, &path).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    let json: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let rows = json["data"]["result"].as_array().map_or(0, Vec::len);
    if rows == 0 {
        Err("no data".to_owned())
    } else {
        Ok(rows)
    }
}

/// Every query of `d`, with its variables set from the live store; the failures.
fn check_dashboard(stack: &datastack::DataStack, file: &str, d: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let query_of = |name: &str| {
        variables(d)
            .into_iter()
            .find(|v| v["name"] == name)
            .and_then(|v| v["query"].as_str().or(v["query"]["query"].as_str()))
            .unwrap_or_default()
            .to_owned()
    };
    let tenant = match variable_values(stack, &query_of("tenant"), "") {
        Ok(values) if values.iter().any(|v| v == datastack::TENANT) => datastack::TENANT.to_owned(),
        other => return vec![format!("{file}: variable tenant: {other:?}")],
    };
    let instance = match variable_values(stack, &query_of("instance"), &tenant) {
        Ok(values) if values.iter().any(|v| v == datastack::INSTANCE) => {
            datastack::INSTANCE.to_owned()
        }
        Ok(values) if !values.is_empty() => values[0].clone(),
        other => return vec![format!("{file}: variable instance: {other:?}")],
    };
    for v in variables(d) {
        let name = v["name"].as_str().unwrap_or_default();
        if name != "tenant" && name != "instance" && v["type"] == "query" {
            let query = v["query"]
                .as_str()
                .or(v["query"]["query"].as_str())
                .unwrap_or_default();
            if let Err(e) = variable_values(stack, &substitute(query, &tenant, &instance), &tenant)
                .and_then(|v| {
                    if v.is_empty() {
                        Err("no values".into())
                    } else {
                        Ok(v)
                    }
                })
            {
                failures.push(format!("{file}: variable {name}: {query}: {e}"));
            }
        }
    }
    for p in panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = substitute(t["expr"].as_str().unwrap_or_default(), &tenant, &instance);
            if let Err(e) = run_query(stack, &expr) {
                failures.push(format!(
                    "{file}: panel {:?}: {expr}: {e}",
                    p["title"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_and_variable_query_shows_data_from_a_real_agent() {
    let stack = datastack::DataStack::start().await;
    // A passive check that fails (an alert fires) and one that is expected every hour.
    stack.status(&["nightly-backup", "ERR", "--message", "disk full"]);
    stack.status(&["hourly-sync", "OK", "--expect-every", "1h"]);
    // Rates need a minute of samples; the alert a few evaluations.
    stack.vm.wait_for(
        r#"ALERTS{alertname="PeeperCheckFailed",tenant="dash"}"#,
        Duration::from_secs(60),
    );
    tokio::time::sleep(Duration::from_secs(45)).await;
    if let Some(hold) = std::env::var("PEEPER_DASHBOARD_STACK_HOLD")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        eprintln!(
            "data stack: VictoriaMetrics http://{} (tenant {}, instance {}); holding {hold} s",
            stack.vm.addr,
            datastack::TENANT,
            datastack::INSTANCE
        );
        tokio::time::sleep(Duration::from_secs(hold)).await;
    }
    let mut failures = Vec::new();
    for (file, d) in dashboards() {
        failures.extend(check_dashboard(&stack, &file, &d));
    }
    assert!(
        failures.is_empty(),
        "{} queries without data:\n{}\nagent log:\n{}",
        failures.len(),
        failures.join("\n"),
        stack
            .agent_log()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
