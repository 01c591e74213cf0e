//! The textfile collector: node_exporter's `--collector.textfile.directory`. Every `*.prom`
//! file of one directory is read as Prometheus text exposition and its series passed
//! through (`job="textfile"`), with `node_textfile_mtime_seconds{file}` for each file read
//! and `node_textfile_scrape_error` (1 when any file or the directory could not be read).
//!
//! Each file is read once, whole, into memory, then parsed: one written the usual way (to a
//! temporary name, then renamed over the `.prom` name) is never seen half-written. A file that
//! does not parse, carries timestamps or clashes with an earlier file is left out whole and
//! its cause logged once (warn), its recovery once (info).

pub mod config;
mod convert;

#[cfg(test)]
mod tests;

pub use config::{DEFAULT_DIR, TextfileConfig, TextfileTable};
pub use convert::file_families;

use super::{CollectError, CollectFuture, Collector, Cycle};
use convert::Gathered;
use peeper_proto::MetricFamily;
use peeper_proto::failures::{FailureStreak, FailureStreaks};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What is remembered between cycles: which failures were logged.
#[derive(Debug, Default)]
pub struct Streaks {
    dir: FailureStreak,
    files: FailureStreaks<PathBuf>,
}

/// The textfile collector (`job="textfile"`).
#[derive(Debug)]
pub struct TextfileCollector {
    dir: PathBuf,
    /// Taken by the cycle's blocking task and put back after it.
    streaks: Option<Streaks>,
}

impl TextfileCollector {
    pub fn new(config: &TextfileConfig) -> Self {
        TextfileCollector {
            // As node_exporter shows it (Go's filepath.Join): `//` and `/./` folded.
            dir: config.dir.components().collect(),
            streaks: Some(Streaks::default()),
        }
    }
}

impl Collector for TextfileCollector {
    fn job(&self) -> &'static str {
        "textfile"
    }

    fn collect(&mut self, _cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move {
            let dir = self.dir.clone();
            let mut streaks = self.streaks.take().unwrap_or_default();
            // File reads block: they run on the blocking pool, not on the scheduler's threads.
            let (streaks, families) = tokio::task::spawn_blocking(move || {
                let families = scan(&dir, &mut streaks);
                (streaks, families)
            })
            .await
            .map_err(|error| CollectError::Other(format!("textfile collector task: {error}")))?;
            self.streaks = Some(streaks);
            Ok(families)
        })
    }
}

/// One cycle: every `*.prom` file of `dir`, in name order.
pub fn scan(dir: &Path, streaks: &mut Streaks) -> Vec<MetricFamily> {
    let mut errored = false;
    let mut gathered = Gathered::default();
    let mut mtimes = MetricFamily::gauge(
        "node_textfile_mtime_seconds",
        "Unixtime mtime of textfiles successfully read.",
    );
    let what = format!("textfile directory {}", dir.display());
    match prom_files(dir) {
        Err(error) => {
            errored = true;
            streaks.dir.failed(
                &what,
                error,
                "reporting node_textfile_scrape_error 1 until it can be read",
            );
            streaks.files.retain(|_| false);
        }
        Ok(paths) => {
            streaks.dir.succeeded(&what, "is readable again");
            streaks.files.retain(|path| paths.contains(path));
            for path in paths {
                let shown = path.display().to_string();
                let what = format!("textfile {shown}");
                match read_file(&path, &shown, &mut gathered) {
                    Ok(mtime) => {
                        streaks.files.succeeded(&path, &what, "is read again");
                        mtimes.push(&[("file", &shown)], mtime);
                    }
                    Err(error) => {
                        errored = true;
                        streaks.files.failed(
                            path,
                            &what,
                            error,
                            "its series are left out until it is fixed",
                        );
                    }
                }
            }
        }
    }
    let mut families = gathered.into_families();
    if !mtimes.series.is_empty() {
        families.push(mtimes);
    }
    families.push(
        MetricFamily::gauge(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
        )
        .with(&[], if errored { 1.0 } else { 0.0 }),
    );
    families
}

/// The `*.prom` files of `dir`, sorted by name (as Go's `os.ReadDir` lists them).
fn prom_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list it: {e}"))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list it: {e}"))?;
        if entry.file_name().as_encoded_bytes().ends_with(b".prom") {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

/// Reads, parses and adds one file; its modification time.
fn read_file(path: &Path, shown: &str, gathered: &mut Gathered) -> Result<f64, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
    let families = file_families(&text, shown)?;
    // The time of the version just read, from the same open file (a rename since then
    // does not change it).
    let modified = file
        .metadata()
        .and_then(|m| m.modified())
        .map_err(|e| format!("cannot read its modification time: {e}"))?;
    gathered.add(families)?;
    Ok(unix_seconds(modified))
}

/// Whole seconds, as node_exporter 1.5 reports them.
fn unix_seconds(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs() as f64,
        Err(before) => -(before.duration().as_secs() as f64),
    }
}
