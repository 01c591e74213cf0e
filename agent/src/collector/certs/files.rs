//! Certificates in PEM files: the patterns of `certs.files` expanded by hand (`*` and `?`
//! in any path component; a directory means every file in it), each file read and every
//! `CERTIFICATE` section in it parsed.

use super::cert::{CertInfo, unique};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The most files one pattern may expand to.
const MAX_FILES: usize = 10_000;
/// The most of one file read; a PEM bundle is a few hundred kilobytes at most.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// The certificates found through one pattern.
#[derive(Debug, Default)]
pub struct PatternResult {
    pub pattern: String,
    /// Each file with its certificates, in path order.
    pub files: Vec<(PathBuf, Vec<CertInfo>)>,
    /// Files that could not be read or parsed, with why.
    pub problems: Vec<(PathBuf, String)>,
}

impl PatternResult {
    /// ssl_exporter's file probe succeeds when it found at least one certificate.
    pub fn success(&self) -> bool {
        self.files.iter().any(|(_, certs)| !certs.is_empty())
    }
}

/// Reads every pattern; a file matched by two patterns is reported under the first only.
pub fn scan(patterns: &[String]) -> Vec<PatternResult> {
    let mut seen: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    patterns
        .iter()
        .map(|pattern| {
            let mut result = PatternResult {
                pattern: pattern.clone(),
                ..Default::default()
            };
            let (paths, explicit) = expand(pattern);
            for path in paths {
                if !seen.insert(path.clone()) {
                    continue;
                }
                match read_certs(&path) {
                    Ok(certs) if certs.is_empty() && !explicit => {}
                    Ok(certs) if certs.is_empty() => result
                        .problems
                        .push((path, "holds no PEM certificate".to_owned())),
                    Ok(certs) => result.files.push((path, certs)),
                    Err(problem) => result.problems.push((path, problem)),
                }
            }
            result
        })
        .collect()
}

fn read_certs(path: &Path) -> Result<Vec<CertInfo>, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .map(|der| {
            let der = der.map_err(|e| format!("bad PEM: {e}"))?;
            CertInfo::parse(&der).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(unique(certs))
}

/// The regular files a pattern names, sorted, and whether it named a single file itself
/// (then a file without certificates is a problem worth reporting).
pub fn expand(pattern: &str) -> (Vec<PathBuf>, bool) {
    let pattern = pattern.trim();
    let path = Path::new(pattern);
    let wild = path
        .components()
        .any(|c| matches!(c, Component::Normal(s) if has_wildcard(&s.to_string_lossy())));
    let mut out = Vec::new();
    if !wild {
        if path.is_dir() {
            list_files(path, &mut out);
        } else if path.is_file() {
            out.push(path.to_path_buf());
        }
        return (out, path.is_file());
    }
    let mut base = PathBuf::new();
    let mut rest = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(s) if !rest.is_empty() || has_wildcard(&s.to_string_lossy()) => {
                rest.push(s.to_string_lossy().into_owned())
            }
            other if rest.is_empty() => base.push(other.as_os_str()),
            other => rest.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    if base.as_os_str().is_empty() {
        base.push(".");
    }
    walk(&base, &rest, &mut out);
    out.sort();
    out.dedup();
    (out, false)
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && !hidden(p))
        .take(MAX_FILES)
        .collect();
    files.sort();
    out.extend(files);
}

fn hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Matches the remaining components below `dir`.
fn walk(dir: &Path, rest: &[String], out: &mut Vec<PathBuf>) {
    let Some((first, more)) = rest.split_first() else {
        if dir.is_file() {
            out.push(dir.to_path_buf());
        }
        return;
    };
    if out.len() >= MAX_FILES {
        return;
    }
    if !has_wildcard(first) {
        walk(&dir.join(first), more, out);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| (first.starts_with('.') || !name.starts_with('.')) && matches(first, name))
        .collect();
    names.sort();
    for name in names {
        walk(&dir.join(name), more, out);
    }
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// Shell-style matching of one path component: `*` any run of characters, `?` one.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and how much of the name it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some('?') => {
                pi += 1;
                ni += 1;
            }
            Some(c) if *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}
