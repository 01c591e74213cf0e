use super::model::{AgentKey, CheckKey};
use super::*;
use peeper_proto::prometheus::{Label, Sample, WriteRequest};
use prost::Message;

fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(n, v)| Label {
            name: (*n).into(),
            value: (*v).into(),
        })
        .collect()
}

fn ts(pairs: &[(&str, &str)], value: f64) -> TimeSeries {
    TimeSeries {
        labels: labels(pairs),
        samples: vec![Sample {
            value,
            timestamp: 1_700_000_000_000,
        }],
    }
}

/// A batch as the agent's `status` command pushes it, plus an agent heartbeat and noise.
fn batch() -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let check = [
        ("check", "nightly-backup"),
        ("instance", "db-01"),
        ("job", "checks"),
    ];
    fn with<'a>(name: &'a str, check: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut l = vec![("__name__", name)];
        l.extend_from_slice(check);
        l
    }
    let mut message = with("peeper_check_message_info", &check);
    message.push(("message", "3 files copied"));
    let request = WriteRequest {
        timeseries: vec![
            ts(&[("__name__", "node_load1"), ("instance", "db-01")], 0.5),
            ts(&with("peeper_check_status", &check), 0.0),
            ts(
                &with("peeper_check_last_run_timestamp_seconds", &check),
                1_699_999_990.0,
            ),
            ts(&message, 1.0),
            ts(
                &with("peeper_check_expected_interval_seconds", &check),
                30.0,
            ),
            ts(
                &[
                    ("__name__", "peeper_agent_interval_seconds"),
                    ("instance", "db-01"),
                    ("job", "agent"),
                ],
                15.0,
            ),
        ],
        metadata: vec![],
    };
    let body = request.encode_to_vec();
    let mut out = crate::scan::ScanOutput::default();
    crate::scan::scan_into(
        &body,
        &crate::config::Limits::default(),
        1_700_000_000_000,
        &peeper_proto::names::WATCHED,
        &mut out,
    )
    .unwrap();
    (body, out.watched)
}

#[test]
fn the_scanner_marks_only_watched_series_and_observe_reads_them() {
    let (body, watched) = batch();
    assert_eq!(watched.len(), 5, "every series but node_load1");
    let policy = Policy {
        agent_silent_after: None,
        check_patience: None,
    };
    let seen = observe::observe("acme", &body, &watched, 1_700_000_001.0, &policy);
    assert_eq!(
        seen.agents,
        [(
            AgentKey {
                tenant: "acme".into(),
                instance: "db-01".into()
            },
            model::AgentRecord {
                last_seen: 1_700_000_001.0,
                silent_after: 60.0
            }
        )]
    );
    let (key, record) = &seen.checks[0];
    assert_eq!(
        key,
        &CheckKey::new(
            "acme",
            [
                ("check", "nightly-backup"),
                ("instance", "db-01"),
                ("job", "checks")
            ]
        )
    );
    assert!(!record.ok);
    assert_eq!(record.last_run, 1_699_999_990.0);
    assert_eq!(record.message.as_deref(), Some("3 files copied"));
    assert_eq!(record.expected, Some(30.0));
}

#[test]
fn observing_a_body_that_is_not_what_the_scanner_saw_is_harmless() {
    let (body, watched) = batch();
    let policy = Policy {
        agent_silent_after: None,
        check_patience: None,
    };
    // Ranges past the end or over garbage are passed over, never a panic.
    let garbage = vec![0xff; body.len()];
    assert!(observe::observe("acme", &garbage, &watched, 0.0, &policy).is_empty());
    assert!(observe::observe("acme", &body[..10], &watched, 0.0, &policy).is_empty());
}

fn store() -> StoreUrl {
    StoreUrl::new("http://vm:8428/api/v1/write", &BTreeMap::new()).unwrap()
}

#[test]
fn the_query_url_is_derived_from_a_single_store_and_required_otherwise() {
    let derived = LivenessConfig::derived(&store());
    match derived.query {
        Some(QueryUrl::Single(url)) => assert_eq!(url.as_str(), "http://vm:8428/api/v1/query"),
        other => panic!("{other:?}"),
    }
    let mimir = StoreUrl::new("http://mimir/api/v1/push", &BTreeMap::new()).unwrap();
    let err = LivenessConfig::from_sources(
        &LivenessOverrides::default(),
        None,
        &mimir,
        &BTreeMap::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("query_url") && err.contains("enabled = false"),
        "{err}"
    );
    let off = LivenessFile {
        enabled: Some(false),
        ..LivenessFile::default()
    };
    assert!(
        !LivenessConfig::from_sources(
            &LivenessOverrides::default(),
            Some(&off),
            &mimir,
            &BTreeMap::new()
        )
        .unwrap()
        .enabled()
    );

    let tenants: BTreeMap<String, TenantConfig> = [(
        "acme".to_owned(),
        TenantConfig {
            account_id: 42,
            project_id: None,
        },
    )]
    .into();
    let cluster = StoreUrl::new(
        "http://vminsert:8480/insert/{accountID}/prometheus/api/v1/write",
        &tenants,
    )
    .unwrap();
    let over = LivenessOverrides {
        query_url: Some("http://vmselect:8481/select/{accountID}/prometheus/api/v1/query".into()),
        ..LivenessOverrides::default()
    };
    match LivenessConfig::from_sources(&over, None, &cluster, &tenants)
        .unwrap()
        .query
    {
        Some(QueryUrl::Cluster(by_tenant)) => assert_eq!(
            by_tenant["acme"].as_str(),
            "http://vmselect:8481/select/42/prometheus/api/v1/query"
        ),
        other => panic!("{other:?}"),
    }
    let plain = LivenessOverrides {
        query_url: Some("http://vmselect:8481/api/v1/query".into()),
        ..LivenessOverrides::default()
    };
    let err = LivenessConfig::from_sources(&plain, None, &cluster, &tenants)
        .unwrap_err()
        .to_string();
    assert!(err.contains("{accountID}"), "{err}");
}

#[test]
fn durations_are_validated_with_the_setting_named() {
    let over = LivenessOverrides {
        agent_silent_after: Some("5 minutes".into()),
        ..LivenessOverrides::default()
    };
    let err = LivenessConfig::from_sources(&over, None, &store(), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("PEEPER_AGENT_SILENT_AFTER") && err.contains("5 minutes"),
        "{err}"
    );
    let over = LivenessOverrides {
        agent_silent_after: Some("90s".into()),
        check_patience: Some("2s".into()),
        sync_interval: Some("1s".into()),
        query_url: None,
    };
    let config = LivenessConfig::from_sources(&over, None, &store(), &BTreeMap::new()).unwrap();
    assert_eq!(config.policy.agent_silent_after, Some(90.0));
    assert_eq!(config.policy.check_patience, Some(2.0));
    assert_eq!(config.sync_interval, Duration::from_secs(1));
}

#[test]
fn a_silent_agent_that_pushes_again_is_written_at_once() {
    let mut config = LivenessConfig::derived(&store());
    config.policy.agent_silent_after = Some(10.0);
    let liveness = Liveness::new(config);
    let (body, watched) = batch();
    let mut first = liveness.observe("acme", &body, &watched);
    liveness.record(first.clone());
    assert!(
        liveness.take_pending().is_empty(),
        "a new agent is not a comeback"
    );
    // The same agent, last seen long ago: silent now.
    first.agents[0].1.last_seen = unix_now() - 3600.0;
    liveness
        .inner
        .lock()
        .unwrap()
        .state
        .agents
        .insert(first.agents[0].0.clone(), first.agents[0].1);
    liveness.record(liveness.observe("acme", &body, &watched));
    let pending = liveness.take_pending();
    let up: Vec<f64> = pending
        .iter()
        .filter(|(_, s)| s.labels.iter().any(|l| l.value == series::AGENT_UP))
        .map(|(_, s)| s.samples[0].value)
        .collect();
    assert_eq!(up, [1.0]);
    assert!(pending.iter().all(|(tenant, _)| tenant == "acme"));
}

#[test]
fn a_new_result_of_a_carried_check_is_written_at_once_with_its_message() {
    let liveness = Liveness::new(LivenessConfig::derived(&store()));
    let (body, watched) = batch();
    let observed = liveness.observe("acme", &body, &watched);
    let (key, fresh) = observed.checks[0].clone();
    // The syncs were carrying an older result with another message.
    let mut old = fresh.clone();
    old.last_run = fresh.last_run - 3600.0;
    old.message = Some("all good".into());
    liveness
        .inner
        .lock()
        .unwrap()
        .state
        .checks
        .insert(key.clone(), old);
    liveness.record(observed.clone());
    let pending = liveness.take_pending();
    let message = pending
        .iter()
        .find(|(_, s)| {
            s.labels
                .iter()
                .any(|l| l.value == "peeper_check_message_info")
        })
        .expect("the new result is written");
    assert!(
        message.1.labels.iter().any(|l| l.value == "3 files copied"),
        "{message:?}"
    );
    // The same result again (or an older one) writes nothing.
    liveness.record(observed);
    assert!(liveness.take_pending().is_empty());
}

/// A store row of a check's series: its labels and value.
fn check_row(extra: &[(&str, &str)], value: f64) -> client::Row {
    let mut labels: std::collections::BTreeMap<String, String> = [
        ("tenant", "acme"),
        ("instance", "db-01"),
        ("job", "checks"),
        ("check", "nightly-backup"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    labels.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    (labels, value)
}

#[test]
fn a_result_read_back_before_its_message_shows_is_taken_without_one() {
    let tenant_of = |l: &std::collections::BTreeMap<String, String>| l.get("tenant").cloned();
    let read = |message_rows: Vec<client::Row>, known: &mut model::State| {
        client::add_checks(
            known,
            [
                vec![check_row(&[], 200.0)],
                vec![check_row(&[], 0.0)],
                vec![check_row(&[], 201.0)],
                message_rows,
                vec![check_row(&[], 30.0)],
            ],
            &tenant_of,
        );
    };
    let key = CheckKey::new(
        "acme",
        [
            ("instance", "db-01"),
            ("job", "checks"),
            ("check", "nightly-backup"),
        ],
    );
    let mut state = model::State::default();
    state.merge_check(
        key.clone(),
        model::CheckRecord {
            ok: true,
            last_run: 100.0,
            message: Some(String::new()),
            expected: Some(30.0),
        },
    );
    // The ERR status (sampled at 201) shows, its new message series does not yet: the new
    // result is taken (the older one is no longer carried), without the old text.
    read(vec![check_row(&[("message", "")], 150.0)], &mut state);
    let record = &state.checks[&key];
    assert_eq!((record.ok, record.last_run), (false, 200.0));
    assert_eq!(record.message, None);
    // Meanwhile it is not carried (so no status is written without its message), unless
    // the message never shows.
    let names_written = |now: f64| -> Vec<String> {
        let policy = model::Policy {
            agent_silent_after: None,
            check_patience: None,
        };
        series::periodic(&state, &policy, now, 7.0, (now * 1000.0) as i64)
            .into_values()
            .flatten()
            .flat_map(|s| s.labels)
            .filter(|l| l.name == "__name__")
            .map(|l| l.value)
            .collect()
    };
    assert!(!names_written(210.0).contains(&"peeper_check_status".to_owned()));
    let late = names_written(200.0 + series::MESSAGE_PATIENCE + 1.0);
    assert!(late.contains(&"peeper_check_status".to_owned()), "{late:?}");
    assert!(!late.contains(&"peeper_check_message_info".to_owned()));
    // Once the message shows, the same result gets its own text.
    read(
        vec![
            check_row(&[("message", "")], 150.0),
            check_row(&[("message", "disk full")], 201.0),
        ],
        &mut state,
    );
    let record = &state.checks[&key];
    assert_eq!((record.ok, record.last_run), (false, 200.0));
    assert_eq!(record.message.as_deref(), Some("disk full"));
    // A later read that misses it again does not take the text away.
    read(vec![check_row(&[("message", "")], 150.0)], &mut state);
    assert_eq!(state.checks[&key].message.as_deref(), Some("disk full"));
}
