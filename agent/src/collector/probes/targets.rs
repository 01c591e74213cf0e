//! The target files: every `blackbox_*.yaml` (or `.yml`) in the probes directory, in the
//! form Peeper 0.7 users already have (Prometheus file_sd groups):
//!
//! ```yaml
//! - targets:
//!     - https://example.com
//!   labels:
//!     group: example
//!     module: http_2xx      # or `__param_module`, or `module:` beside `targets:`
//! ```
//!
//! A file is re-read when its modification time or size changes. A file that cannot be
//! used is reported once (file name and line) and its previous targets stay in use.

use super::ProbesError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// One thing to probe: a target, its module and the labels of its group.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTarget {
    pub target: String,
    pub module: String,
    /// The group's labels, sorted by name; `target` and `module` not included.
    pub labels: Vec<(String, String)>,
}

/// A label name as Prometheus allows it, checked while parsing so errors carry a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct LabelName(String);

impl TryFrom<String> for LabelName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        let mut chars = name.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(LabelName(name))
        } else {
            Err(format!(
                "label name {name:?} is not valid: use letters, digits and `_`, not starting with a digit"
            ))
        }
    }
}

/// A label value; YAML numbers and booleans are taken as their text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum LabelValue {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl LabelValue {
    fn into_string(self) -> String {
        match self {
            LabelValue::Text(s) => s,
            LabelValue::Int(i) => i.to_string(),
            LabelValue::Float(f) => f.to_string(),
            LabelValue::Bool(b) => b.to_string(),
        }
    }
}

/// One group of a target file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<LabelName, LabelValue>,
    #[serde(default)]
    module: Option<String>,
}

/// A file's modification time and size: it is re-read when either changes.
type Stamp = (Option<SystemTime>, u64);

/// What is kept of one file between cycles.
#[derive(Debug)]
struct FileState {
    stamp: Stamp,
    targets: Arc<Vec<ProbeTarget>>,
    /// The error reported for the current contents, if they are broken.
    error: Option<String>,
}

/// The target files of one directory.
#[derive(Debug)]
pub struct TargetFiles {
    dir: PathBuf,
    files: BTreeMap<PathBuf, FileState>,
    /// Why the directory could not be listed, once reported.
    dir_error: Option<String>,
}

/// Whether `name` is a target file name.
pub fn is_target_file(name: &str) -> bool {
    name.starts_with("blackbox_") && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

impl TargetFiles {
    pub fn new(dir: &Path) -> Self {
        TargetFiles {
            dir: dir.to_owned(),
            files: BTreeMap::new(),
            dir_error: None,
        }
    }

    /// Re-reads changed files and returns every target, in file order.
    pub fn refresh(
        &mut self,
        modules: &dyn Fn(&str) -> bool,
        default_module: &str,
    ) -> Vec<ProbeTarget> {
        let present = match self.list() {
            Ok(present) => {
                if self.dir_error.take().is_some() {
                    tracing::info!(dir = %self.dir.display(), "probe target directory is readable again");
                }
                present
            }
            Err(error) => {
                let message = error.to_string();
                if self.dir_error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(%error, "no probe targets");
                    self.dir_error = Some(message);
                }
                Vec::new()
            }
        };
        self.files
            .retain(|path, _| present.iter().any(|(p, _)| p == path));
        for (path, stamp) in present {
            if self.files.get(&path).is_some_and(|f| f.stamp == stamp) {
                continue;
            }
            let result = std::fs::read_to_string(&path)
                .map_err(|e| ProbesError::TargetFile {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })
                .and_then(|text| parse_file(&path, &text, modules, default_module));
            let state = self.files.entry(path.clone()).or_insert_with(|| FileState {
                stamp,
                targets: Arc::new(Vec::new()),
                error: None,
            });
            state.stamp = stamp;
            match result {
                Ok(targets) => {
                    if state.error.take().is_some() {
                        tracing::info!(file = %path.display(), "probe target file is valid again");
                    }
                    state.targets = Arc::new(targets);
                }
                Err(error) => {
                    let message = error.to_string();
                    if state.error.as_deref() != Some(message.as_str()) {
                        tracing::warn!(%error, kept = state.targets.len(), "probe target file not used; its previous targets are kept");
                        state.error = Some(message);
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        for state in self.files.values() {
            for target in state.targets.iter() {
                if seen.insert((
                    target.module.clone(),
                    target.target.clone(),
                    target.labels.clone(),
                )) {
                    all.push(target.clone());
                }
            }
        }
        all
    }

    /// Files and whether each is currently valid, for `peeper_probes_file_valid`.
    pub fn validity(&self) -> Vec<(String, bool)> {
        self.files
            .iter()
            .map(|(path, state)| (path.display().to_string(), state.error.is_none()))
            .collect()
    }

    fn list(&self) -> Result<Vec<(PathBuf, Stamp)>, ProbesError> {
        let dir_error = |e: std::io::Error| ProbesError::TargetDir {
            dir: self.dir.display().to_string(),
            message: e.to_string(),
        };
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(dir_error)? {
            let entry = entry.map_err(dir_error)?;
            let name = entry.file_name();
            if !is_target_file(&name.to_string_lossy()) {
                continue;
            }
            let path = entry.path();
            // Follows symbolic links, as mounted ConfigMaps use them.
            if let Ok(meta) = std::fs::metadata(&path)
                && meta.is_file()
            {
                found.push((path, (meta.modified().ok(), meta.len())));
            }
        }
        found.sort();
        Ok(found)
    }
}

/// The 1-based line of the first line holding `needle`, for messages.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// Parses one file's text into targets.
pub fn parse_file(
    path: &Path,
    text: &str,
    modules: &dyn Fn(&str) -> bool,
    default_module: &str,
) -> Result<Vec<ProbeTarget>, ProbesError> {
    let file = path.display().to_string();
    let err = |line: Option<usize>, message: String| ProbesError::TargetFile {
        file: match line {
            Some(line) => format!("{file} line {line}"),
            None => file.clone(),
        },
        message,
    };
    let groups: Option<Vec<RawGroup>> = if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        None
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| {
            let line = e.location().map(|l| l.line());
            let message = e.to_string();
            // The location is in the prefix already; keep the message short.
            let message = match message.find(" at line ") {
                Some(i) => message[..i].to_owned(),
                None => message,
            };
            err(
                line,
                format!("{message} (expected a list of `- targets: [...]` groups with optional `labels:` and `module:`)"),
            )
        })?
    };
    let mut targets = Vec::new();
    for group in groups.unwrap_or_default() {
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut label_module = None;
        for (name, value) in group.labels {
            let value = value.into_string();
            match name.0.as_str() {
                "module" | "__param_module" => label_module = label_module.or(Some(value)),
                "target" | "instance" | "job" => {
                    return Err(err(
                        line_of(text, &format!("{}:", name.0)),
                        format!(
                            "label `{}` is set by the agent (`target` is the probed target, `instance` this host, `job` \"probes\"); rename it",
                            name.0
                        ),
                    ));
                }
                n if n.starts_with("__") => {}
                _ => labels.push((name.0, value)),
            }
        }
        let module = group
            .module
            .or(label_module)
            .map(|m| m.trim().to_owned())
            .unwrap_or_else(|| default_module.to_owned());
        if !modules(&module) {
            return Err(err(
                line_of(text, &module),
                format!(
                    "module {module:?} is not known; use one of {}, or define it under [probes.modules] in the agent's config",
                    super::config::BUILTIN_MODULES.join(", ")
                ),
            ));
        }
        for target in group.targets {
            let target = target.trim();
            if target.is_empty() {
                return Err(err(
                    line_of(text, "targets"),
                    "a target is empty".to_owned(),
                ));
            }
            targets.push(ProbeTarget {
                target: target.to_owned(),
                module: module.clone(),
                labels: labels.clone(),
            });
        }
    }
    Ok(targets)
}
