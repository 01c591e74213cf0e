use super::*;

fn agent(tenant: &str, instance: &str) -> AgentKey {
    AgentKey {
        tenant: tenant.to_owned(),
        instance: instance.to_owned(),
    }
}

fn check(tenant: &str, instance: &str, name: &str) -> CheckKey {
    CheckKey::new(
        tenant,
        [("instance", instance), ("check", name), ("job", "checks")],
    )
}

fn result(ok: bool, last_run: f64, expected: Option<f64>) -> CheckRecord {
    CheckRecord {
        ok,
        last_run,
        message: Some(String::new()),
        expected,
    }
}

const DEFAULTS: Policy = Policy {
    agent_silent_after: None,
    check_patience: None,
};

#[test]
fn silence_thresholds_default_to_three_intervals_and_a_fifth_of_the_period() {
    assert_eq!(DEFAULTS.silent_after(15.0), 60.0, "at least a minute");
    assert_eq!(DEFAULTS.silent_after(60.0), 180.0);
    assert_eq!(DEFAULTS.patience(30.0), 60.0, "at least a minute");
    assert_eq!(DEFAULTS.patience(3600.0), 720.0);
    let set = Policy {
        agent_silent_after: Some(5.0),
        check_patience: Some(2.0),
    };
    assert_eq!(set.silent_after(15.0), 5.0);
    assert_eq!(set.patience(3600.0), 2.0);
}

#[test]
fn an_agent_is_up_until_its_silence_passes_the_threshold_and_never_comes_back_alone() {
    let record = AgentRecord {
        last_seen: 1000.0,
        silent_after: 60.0,
    };
    assert!(record.up(1000.0));
    assert!(record.up(1060.0));
    assert!(!record.up(1060.5));
    // A long silence stays a silence: there is no window for it to fall out of.
    assert!(!record.up(1000.0 + 365.0 * 86_400.0));
}

#[test]
fn a_check_is_overdue_after_its_period_plus_patience_and_only_with_a_period() {
    let policy = Policy {
        agent_silent_after: None,
        check_patience: Some(10.0),
    };
    let every_30s = result(true, 1000.0, Some(30.0));
    assert!(!policy.overdue(&every_30s, 1040.0));
    assert!(policy.overdue(&every_30s, 1040.5));
    assert!(!policy.overdue(&result(false, 1000.0, None), 1e12));
}

#[test]
fn merging_keeps_the_newest_report() {
    let mut state = State::default();
    let key = agent("acme", "web-01");
    let old = AgentRecord {
        last_seen: 100.0,
        silent_after: 60.0,
    };
    let new = AgentRecord {
        last_seen: 200.0,
        silent_after: 90.0,
    };
    assert_eq!(state.merge_agent(key.clone(), new), None);
    assert_eq!(
        state.merge_agent(key.clone(), old),
        Some(new),
        "an older report changes nothing"
    );
    assert_eq!(state.agents[&key], new);

    let c = check("acme", "web-01", "backup");
    state.merge_check(c.clone(), result(true, 100.0, Some(30.0)));
    let err = CheckRecord {
        message: Some("disk full".into()),
        ..result(false, 150.0, Some(30.0))
    };
    let mut store_view = State::default();
    store_view.merge_check(c.clone(), err.clone());
    store_view.merge_check(check("globex", "db", "backup"), result(true, 1.0, None));
    state.merge(store_view);
    assert_eq!(state.checks[&c], err, "the store knew a newer result");
    assert_eq!(state.checks.len(), 2, "tenants stay apart");

    // A newer result sent without --expect-every keeps the promise; the same result read
    // back with status 0 ("overdue") keeps the known status.
    let later = result(true, 300.0, None);
    state.merge_check(c.clone(), later);
    assert_eq!(state.checks[&c].expected, Some(30.0));
    state.merge_check(c.clone(), result(false, 300.0, Some(30.0)));
    assert!(state.checks[&c].ok);
}

#[test]
fn check_keys_ignore_name_tenant_and_message() {
    let a = CheckKey::new(
        "acme",
        [
            ("__name__", "peeper_check_status"),
            ("check", "x"),
            ("instance", "h"),
            ("tenant", "evil"),
        ],
    );
    let b = CheckKey::new(
        "acme",
        [
            ("instance", "h"),
            ("message", "hello"),
            ("check", "x"),
            ("__name__", "peeper_check_message_info"),
        ],
    );
    assert_eq!(a, b);
    assert_eq!(a.instance(), "h");
    assert_eq!(a.check(), "x");
    assert_ne!(
        a,
        CheckKey::new("globex", [("check", "x"), ("instance", "h")])
    );
}

#[test]
fn forgetting_drops_what_did_not_report_since_and_keeps_what_did() {
    let mut state = State::default();
    let gone = agent("acme", "old-host");
    let back = agent("acme", "reborn");
    for (key, seen) in [(&gone, 100.0), (&back, 300.0)] {
        state.merge_agent(
            key.clone(),
            AgentRecord {
                last_seen: seen,
                silent_after: 60.0,
            },
        );
    }
    state.merge_check(
        check("acme", "old-host", "cron"),
        result(true, 90.0, Some(60.0)),
    );
    state.merge_check(
        check("acme", "web", "nightly"),
        result(true, 90.0, Some(60.0)),
    );
    state.merge_check(
        check("acme", "web", "hourly"),
        result(true, 90.0, Some(60.0)),
    );
    let mut forgotten = Forgotten::default();
    forgotten.agents.insert(gone.clone(), 200.0);
    forgotten.agents.insert(back.clone(), 200.0);
    forgotten
        .checks
        .insert(("acme".into(), "web".into(), "nightly".into()), 200.0);
    assert_eq!(state.forget(&forgotten), 3);
    assert!(!state.agents.contains_key(&gone));
    assert!(
        state.agents.contains_key(&back),
        "it pushed after it was forgotten"
    );
    let left: Vec<&str> = state.checks.keys().map(CheckKey::check).collect();
    assert_eq!(left, ["hourly"]);
}
