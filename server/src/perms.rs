//! File permissions that give a secret away: a token file others can read or write, a data
//! dir anyone can write into, a TLS key others can read. Checked at start and when the token
//! file is reloaded; a world-writable token file is refused (anyone on the host could add a
//! token), the rest is warned about with the `chmod` that fixes it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What is wrong with a path's mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Refuse to use it.
    Refuse(String),
    /// Use it, but say how to fix it.
    Warn(String),
}

fn mode(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// The token file: 0600 expected.
pub fn token_file(path: &Path) -> Option<Finding> {
    let mode = mode(path)?;
    let shown = path.display();
    if mode & 0o002 != 0 {
        return Some(Finding::Refuse(format!(
            "the token file {shown} is writable by every user (mode {mode:o}): anyone on this \
             host could add a token; run `chmod 600 {shown}`"
        )));
    }
    (mode & 0o077 != 0).then(|| {
        Finding::Warn(format!(
            "the token file {shown} is readable or writable by others (mode {mode:o}); run \
             `chmod 600 {shown}`"
        ))
    })
}

/// The data dir: not writable by others (0700 or 0750 expected).
pub fn data_dir(path: &Path) -> Option<Finding> {
    let mode = mode(path)?;
    let shown = path.display();
    (mode & 0o002 != 0 && mode & 0o1000 == 0).then(|| {
        Finding::Warn(format!(
            "the data dir {shown} is writable by every user (mode {mode:o}): anyone could \
             replace tokens.json; run `chmod 700 {shown}`"
        ))
    })
}

/// A TLS private key: readable by its owner (and group) only.
pub fn private_key(path: &Path) -> Option<Finding> {
    let mode = mode(path)?;
    let shown = path.display();
    (mode & 0o004 != 0).then(|| {
        Finding::Warn(format!(
            "the TLS private key {shown} is readable by every user (mode {mode:o}); run \
             `chmod 600 {shown}`"
        ))
    })
}

/// Logs a warning; returns the reason to refuse, if any.
pub fn report(finding: Option<Finding>) -> Option<String> {
    match finding? {
        Finding::Warn(message) => {
            tracing::warn!("{message}");
            None
        }
        Finding::Refuse(message) => Some(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_mode(dir: &Path, name: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn modes_that_give_secrets_away_are_found() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(token_file(&with_mode(dir.path(), "ok", 0o600)), None);
        assert!(matches!(
            token_file(&with_mode(dir.path(), "r", 0o644)),
            Some(Finding::Warn(_))
        ));
        let refused = token_file(&with_mode(dir.path(), "w", 0o666));
        assert!(matches!(&refused, Some(Finding::Refuse(m)) if m.contains("chmod 600")));
        assert!(matches!(
            private_key(&with_mode(dir.path(), "k", 0o644)),
            Some(Finding::Warn(_))
        ));
        assert_eq!(private_key(&with_mode(dir.path(), "k2", 0o640)), None);
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(data_dir(&open), Some(Finding::Warn(m)) if m.contains("chmod 700")));
        assert_eq!(token_file(&dir.path().join("missing")), None);
    }
}
