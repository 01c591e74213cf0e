use super::*;

fn file(text: &str) -> FileConfig {
    toml::from_str(text).expect("valid test config")
}

#[test]
fn defaults_apply_when_nothing_is_given_but_transport_is_required() {
    let err = ServerSettings::merge(Overrides::default(), FileConfig::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("--tls-cert") && message.contains("--plaintext"),
        "{message}"
    );

    let over = Overrides {
        plaintext: true,
        ..Overrides::default()
    };
    let s = ServerSettings::merge(over, FileConfig::default()).unwrap();
    assert_eq!(s.listen, DEFAULT_LISTEN.parse().unwrap());
    assert_eq!(s.remote_write_url, DEFAULT_REMOTE_WRITE_URL);
    assert_eq!(s.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    assert_eq!(s.forward_mode, ForwardMode::ExtraLabel);
    assert_eq!(s.limits, Limits::default());
    assert!(s.tls.is_none());
}

#[test]
fn flags_win_over_file_and_file_over_defaults() {
    let f = file(
        r#"
        listen = "127.0.0.1:9000"
        remote_write_url = "http://file:8428/api/v1/write"
        data_dir = "/file/dir"
        plaintext = true
        forward_mode = "rewrite"
        [limits]
        max_labels_per_series = 12
        "#,
    );
    let s = ServerSettings::merge(Overrides::default(), f.clone()).unwrap();
    assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(s.remote_write_url, "http://file:8428/api/v1/write");
    assert_eq!(s.data_dir, PathBuf::from("/file/dir"));
    assert_eq!(s.forward_mode, ForwardMode::Rewrite);
    assert_eq!(s.limits.max_labels_per_series, 12);
    assert_eq!(
        s.limits.max_label_value_len, 4096,
        "unset limits keep defaults"
    );

    let over = Overrides {
        listen: Some("127.0.0.1:9001".into()),
        remote_write_url: Some("http://flag:8428/api/v1/write".into()),
        data_dir: Some("/flag/dir".into()),
        forward_mode: Some(ForwardMode::ExtraLabel),
        ..Overrides::default()
    };
    let s = ServerSettings::merge(over, f).unwrap();
    assert_eq!(s.listen, "127.0.0.1:9001".parse().unwrap());
    assert_eq!(s.remote_write_url, "http://flag:8428/api/v1/write");
    assert_eq!(s.data_dir, PathBuf::from("/flag/dir"));
    assert_eq!(s.forward_mode, ForwardMode::ExtraLabel);
}

#[test]
fn tls_pair_from_file_and_flags_mix() {
    let f = file("tls_key = \"/k.pem\"");
    let over = Overrides {
        tls_cert: Some("/c.pem".into()),
        ..Overrides::default()
    };
    let s = ServerSettings::merge(over, f).unwrap();
    assert_eq!(
        s.tls,
        Some(TlsPaths {
            cert: "/c.pem".into(),
            key: "/k.pem".into()
        })
    );
}

#[test]
fn half_tls_and_conflicts_are_refused() {
    let over = Overrides {
        tls_cert: Some("/c.pem".into()),
        ..Overrides::default()
    };
    let err = ServerSettings::merge(over, FileConfig::default()).unwrap_err();
    assert!(err.to_string().contains("--tls-key"), "{err}");

    let over = Overrides {
        tls_cert: Some("/c.pem".into()),
        tls_key: Some("/k.pem".into()),
        plaintext: true,
        ..Overrides::default()
    };
    let err = ServerSettings::merge(over, FileConfig::default()).unwrap_err();
    assert!(matches!(err, ConfigError::PlaintextAndTls), "{err}");
}

#[test]
fn unknown_keys_and_bad_values_are_refused() {
    assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    assert!(toml::from_str::<FileConfig>("[limits]\nmax_lables = 3").is_err());
    assert!(toml::from_str::<FileConfig>("forward_mode = \"sideways\"").is_err());

    let over = Overrides {
        listen: Some("localhost".into()),
        plaintext: true,
        ..Overrides::default()
    };
    let err = ServerSettings::merge(over, FileConfig::default()).unwrap_err();
    assert!(err.to_string().contains("localhost"), "{err}");
}

fn settings() -> ServerSettings {
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: None,
        remote_write_url: "http://127.0.0.1:8428/api/v1/write".into(),
        data_dir: "/tmp".into(),
        forward_mode: ForwardMode::ExtraLabel,
        limits: Limits::default(),
    }
}

#[test]
fn try_new_validates_url_and_limits() {
    assert!(ServerConfig::try_new(settings()).is_ok());

    let mut s = settings();
    s.remote_write_url = "ftp://x/y".into();
    let err = ServerConfig::try_new(s).unwrap_err();
    assert!(err.to_string().contains("ftp://x/y"), "{err}");

    let mut s = settings();
    s.remote_write_url = "not a url".into();
    assert!(ServerConfig::try_new(s).is_err());

    let mut s = settings();
    s.limits.max_series_per_request = 0;
    let err = ServerConfig::try_new(s).unwrap_err();
    assert!(
        err.to_string().contains("limits.max_series_per_request"),
        "{err}"
    );
}

#[test]
fn forward_mode_parses_from_text() {
    assert_eq!(
        "rewrite".parse::<ForwardMode>().unwrap(),
        ForwardMode::Rewrite
    );
    assert_eq!(
        "extra-label".parse::<ForwardMode>().unwrap(),
        ForwardMode::ExtraLabel
    );
    assert!("x".parse::<ForwardMode>().is_err());
}

#[test]
fn trusted_proxies_tenants_and_rate_limits_from_file_and_flags() {
    let f = file(
        r#"
        plaintext = true
        remote_write_url = "http://vminsert:8480/insert/{accountID}/prometheus/api/v1/write"
        trusted_proxies = ["127.0.0.2/32", "10.0.0.0/8"]
        [limits]
        max_samples_per_second_per_token = 5000
        rate_limit_burst_samples = 20000
        [tenants.acme]
        account_id = 42
        [tenants.globex]
        account_id = 7
        project_id = 3
        [liveness]
        query_url = "http://vmselect:8481/select/{accountID}/prometheus/api/v1/query"
        "#,
    );
    let c = ServerConfig::from_sources(Overrides::default(), f.clone()).unwrap();
    assert_eq!(c.trusted_proxies().blocks().len(), 2);
    assert!(c.trusted_proxies().is_trusted("10.1.2.3".parse().unwrap()));
    assert_eq!(
        c.store().url_for("globex").unwrap().path(),
        "/insert/7:3/prometheus/api/v1/write"
    );
    assert_eq!(c.limits().max_samples_per_second_per_token, 5000);
    assert_eq!(c.limits().rate_limit_burst_samples, 20000);

    // Flags (or PEEPER_TRUSTED_PROXIES) replace the file's list.
    let over = Overrides {
        trusted_proxies: vec!["192.0.2.1".into()],
        ..Overrides::default()
    };
    let c = ServerConfig::from_sources(over, f).unwrap();
    assert_eq!(c.trusted_proxies().blocks().len(), 1);
    assert!(!c.trusted_proxies().is_trusted("10.1.2.3".parse().unwrap()));

    let bad = Overrides {
        plaintext: true,
        trusted_proxies: vec!["not-an-ip".into()],
        ..Overrides::default()
    };
    let err = ServerConfig::from_sources(bad, FileConfig::default()).unwrap_err();
    assert!(err.to_string().contains("--trusted-proxy") && err.to_string().contains("not-an-ip"));
    let typo = toml::from_str::<FileConfig>("[tenants.a]\naccount = 1\n");
    assert!(typo.is_err(), "unknown keys are refused");
    let no_cluster = file("plaintext = true\n[tenants.a]\naccount_id = 1\n");
    let err = ServerConfig::from_sources(Overrides::default(), no_cluster).unwrap_err();
    assert!(err.to_string().contains("{accountID}"), "{err}");
}

#[test]
fn a_cluster_store_needs_a_query_url_for_liveness() {
    let cluster = r#"
        plaintext = true
        remote_write_url = "http://vminsert:8480/insert/{accountID}/prometheus/api/v1/write"
        [tenants.acme]
        account_id = 42
        "#;
    let err = ServerConfig::from_sources(Overrides::default(), file(cluster))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("query_url") && err.contains("vmselect"),
        "{err}"
    );
    let off = format!("{cluster}\n[liveness]\nenabled = false\n");
    let c = ServerConfig::from_sources(Overrides::default(), file(&off)).unwrap();
    assert!(!c.liveness().enabled());
}
