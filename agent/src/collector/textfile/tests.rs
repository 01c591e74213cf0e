//! The collector on directories written here: files good and broken, node_exporter's rules
//! for each, and files replaced by rename while cycles run.

use super::*;
use crate::collector::CollectorConfig;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::{find_value, value};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn scan_once(dir: &Path) -> Vec<MetricFamily> {
    scan(dir, &mut Streaks::default())
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn good_files_pass_through_and_broken_ones_are_left_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "backup.prom",
        "# HELP backup_last_success_timestamp_seconds When the backup last succeeded.\n\
         # TYPE backup_last_success_timestamp_seconds gauge\n\
         backup_last_success_timestamp_seconds{kind=\"full\"} 1.7e9\n\
         backup_runs_total 3\n",
    );
    // Valid lines first, then a broken one: nothing of the file is kept.
    let broken = write(dir.path(), "broken.prom", "half_written 1\nbroken{ 1\n");
    let stamped = write(dir.path(), "stamped.prom", "with_time 1 1700000000000\n");
    write(dir.path(), "notes.txt", "ignored 1\n");
    write(dir.path(), "backup.prom.tmp", "ignored_too 1\n");
    let f = scan_once(dir.path());

    let backup = family(&f, "backup_last_success_timestamp_seconds").unwrap();
    assert_eq!(backup.kind, MetricKind::Gauge);
    assert_eq!(backup.help, "When the backup last succeeded.");
    assert_eq!(
        value(
            &f,
            "backup_last_success_timestamp_seconds",
            &[("kind", "full")]
        ),
        1.7e9
    );
    // No HELP line: node_exporter's help.
    let runs = family(&f, "backup_runs_total").unwrap();
    assert_eq!(runs.kind, MetricKind::Untyped);
    assert_eq!(runs.help, format!("Metric read from {}", shown(&good)));
    for absent in [
        "half_written",
        "broken",
        "with_time",
        "ignored",
        "ignored_too",
    ] {
        assert!(family(&f, absent).is_none(), "{absent}");
    }
    assert_eq!(value(&f, "node_textfile_scrape_error", &[]), 1.0);
    let mtimes = family(&f, "node_textfile_mtime_seconds").unwrap();
    assert_eq!(mtimes.series.len(), 1, "only the file read");
    assert!(mtimes.find(&[("file", &shown(&good))]).is_some());
    assert!(mtimes.find(&[("file", &shown(&broken))]).is_none());
    assert!(mtimes.find(&[("file", &shown(&stamped))]).is_none());

    // Fixed: no error any more.
    write(dir.path(), "broken.prom", "half_written 1\n");
    std::fs::remove_file(&stamped).unwrap();
    let f = scan_once(dir.path());
    assert_eq!(value(&f, "node_textfile_scrape_error", &[]), 0.0);
    assert_eq!(value(&f, "half_written", &[]), 1.0);
}

#[test]
fn mtime_is_the_files_in_whole_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.prom", "a 1\n");
    let when = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_750);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let f = scan_once(dir.path());
    assert_eq!(
        value(
            &f,
            "node_textfile_mtime_seconds",
            &[("file", &shown(&path))]
        ),
        1_700_000_000.0
    );
}

#[test]
fn histograms_and_summaries_pass_through_sample_by_sample() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "h.prom",
        "# HELP job_seconds How long the job ran.\n# TYPE job_seconds histogram\n\
         job_seconds_bucket{le=\"10\"} 1\njob_seconds_bucket{le=\"+Inf\"} 2\n\
         job_seconds_sum 25\njob_seconds_count 2\n\
         # TYPE lag summary\nlag{quantile=\"0.9\"} 4\nlag_sum 9\nlag_count 3\n",
    );
    let f = scan_once(dir.path());
    for name in [
        "job_seconds_bucket",
        "job_seconds_sum",
        "job_seconds_count",
        "lag",
        "lag_sum",
        "lag_count",
    ] {
        let fam = family(&f, name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(fam.kind, MetricKind::Untyped, "{name}");
    }
    assert_eq!(
        family(&f, "job_seconds_sum").unwrap().help,
        "How long the job ran."
    );
    assert_eq!(value(&f, "job_seconds_bucket", &[("le", "+Inf")]), 2.0);
    assert_eq!(value(&f, "lag", &[("quantile", "0.9")]), 4.0);
}

#[test]
fn the_agents_labels_are_kept_as_exported_and_empty_ones_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.prom",
        "m{job=\"backup\",instance=\"db-1\",exported_job=\"x\",team=\"\"} 1\n",
    );
    let f = scan_once(dir.path());
    let series = &family(&f, "m").unwrap().series[0];
    assert_eq!(series.label("exported_instance"), Some("db-1"));
    assert_eq!(series.label("exported_exported_job"), Some("backup"));
    assert_eq!(series.label("exported_job"), Some("x"));
    assert_eq!(series.label("job"), None);
    assert_eq!(series.label("instance"), None);
    assert_eq!(
        series.labels.len(),
        3,
        "team=\"\" is absent: {:?}",
        series.labels
    );
}

#[test]
fn files_merge_by_family_and_a_clashing_file_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.prom",
        "# HELP last_run When.\n# TYPE last_run gauge\nlast_run{task=\"a\"} 1\n",
    );
    // Same family, other series: merged, a.prom's help kept.
    write(
        dir.path(),
        "b.prom",
        "# TYPE last_run gauge\nlast_run{task=\"b\"} 2\n",
    );
    // The same series again, and another type: each file left out whole.
    write(dir.path(), "c.prom", "last_run{task=\"a\"} 3\nc_only 1\n");
    write(
        dir.path(),
        "d.prom",
        "# TYPE last_run counter\nlast_run{task=\"d\"} 4\n",
    );
    // The collector's own series.
    write(dir.path(), "e.prom", "node_textfile_scrape_error 0\n");
    // One series twice once empty labels are dropped.
    write(dir.path(), "f.prom", "f_only{a=\"\"} 1\nf_only 2\n");
    let f = scan_once(dir.path());
    let last_run = family(&f, "last_run").unwrap();
    assert_eq!(last_run.help, "When.");
    assert_eq!(last_run.series.len(), 2);
    assert_eq!(value(&f, "last_run", &[("task", "a")]), 1.0);
    assert_eq!(value(&f, "last_run", &[("task", "b")]), 2.0);
    assert!(find_value(&f, "c_only", &[]).is_none());
    assert!(find_value(&f, "f_only", &[]).is_none());
    assert_eq!(value(&f, "node_textfile_scrape_error", &[]), 1.0);
    assert_eq!(
        family(&f, "node_textfile_mtime_seconds")
            .unwrap()
            .series
            .len(),
        2
    );
}

#[test]
fn a_missing_directory_is_a_scrape_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = scan_once(&dir.path().join("absent"));
    assert_eq!(value(&f, "node_textfile_scrape_error", &[]), 1.0);
    assert!(family(&f, "node_textfile_mtime_seconds").is_none());
    assert_eq!(f.len(), 1);
}

#[test]
fn an_empty_directory_reports_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = scan_once(dir.path());
    assert_eq!(value(&f, "node_textfile_scrape_error", &[]), 0.0);
    assert_eq!(f.len(), 1);
}

#[test]
fn a_file_replaced_by_rename_is_never_half_read() {
    let dir = tempfile::tempdir().unwrap();
    const SERIES: usize = 400;
    let version_text = |version: usize| -> String {
        (0..SERIES)
            .map(|i| format!("job_progress{{step=\"{i}\"}} {version}\n"))
            .collect()
    };
    write(dir.path(), "job.prom", &version_text(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let dir = dir.path().to_owned();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut version = 1;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let temp = dir.join("job.prom.tmp");
                std::fs::write(&temp, version_text(version)).unwrap();
                std::fs::rename(&temp, dir.join("job.prom")).unwrap();
                version += 1;
            }
            version
        })
    };
    let mut streaks = Streaks::default();
    for _ in 0..200 {
        let f = scan(dir.path(), &mut streaks);
        assert_eq!(value(&f, "node_textfile_scrape_error", &[]), 0.0);
        let progress = family(&f, "job_progress").unwrap();
        assert_eq!(progress.series.len(), SERIES);
        let version = progress.series[0].value;
        assert!(
            progress.series.iter().all(|s| s.value == version),
            "one version"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.join().unwrap() > 1, "the writer ran");
}

#[tokio::test]
async fn collects_through_the_trait_on_the_blocking_pool() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.prom", "a 1\n");
    let config = TextfileConfig {
        enabled: true,
        dir: dir.path().join("./"),
    };
    let mut collector = config.build();
    assert_eq!(collector.job(), "textfile");
    for _ in 0..2 {
        let f = collector
            .collect(crate::collector::Cycle::standard())
            .await
            .unwrap();
        assert_eq!(value(&f, "a", &[]), 1.0);
        // `dir/./a.prom` shown as node_exporter shows it.
        let file = shown(&dir.path().join("a.prom"));
        assert!(find_value(&f, "node_textfile_mtime_seconds", &[("file", &file)]).is_some());
    }
}

fn resolve(
    file: Option<TextfileTable>,
    env: &[(&str, &str)],
) -> Result<TextfileConfig, crate::settings::ConfigError> {
    let lookup = |name: &str| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    TextfileConfig::resolve(file, &lookup)
}

#[test]
fn on_when_the_directory_exists_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let there = dir.path().to_str().unwrap();
    let absent = dir.path().join("absent");
    let absent = absent.to_str().unwrap();

    let default = resolve(None, &[]).unwrap();
    assert_eq!(default.dir, PathBuf::from(DEFAULT_DIR));
    assert!(
        resolve(None, &[("PEEPER_TEXTFILE_DIR", there)])
            .unwrap()
            .enabled
    );
    assert!(
        !resolve(None, &[("PEEPER_TEXTFILE_DIR", absent)])
            .unwrap()
            .enabled
    );
    // An empty switch decides by the directory too.
    let empty = [
        ("PEEPER_TEXTFILE_DIR", there),
        ("PEEPER_TEXTFILE_ENABLED", ""),
    ];
    assert!(resolve(None, &empty).unwrap().enabled);
    let off = [
        ("PEEPER_TEXTFILE_DIR", there),
        ("PEEPER_TEXTFILE_ENABLED", "false"),
    ];
    assert!(!resolve(None, &off).unwrap().enabled);
    // Switched on, a missing directory is the collector's error to report, not the config's.
    let on = [
        ("PEEPER_TEXTFILE_DIR", absent),
        ("PEEPER_TEXTFILE_ENABLED", "true"),
    ];
    assert!(resolve(None, &on).unwrap().enabled);
    let table = TextfileTable {
        enabled: true,
        dir: PathBuf::from(absent),
    };
    assert!(
        resolve(Some(table), &[]).unwrap().enabled,
        "a table means on"
    );
    let bad = resolve(None, &[("PEEPER_TEXTFILE_ENABLED", "maybe")]).unwrap_err();
    assert!(bad.to_string().contains("PEEPER_TEXTFILE_ENABLED"), "{bad}");
    let table: toml::Value = toml::from_str("directory = \"/x\"").unwrap();
    let err = table.try_into::<TextfileTable>().unwrap_err().to_string();
    assert!(err.contains("directory"), "{err}");
}
