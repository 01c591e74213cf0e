//! Bearer-token authentication for the running server: the token file loaded into memory
//! and re-read when it changes on disk (checked at most once a second), so `token create`
//! and `token revoke` take effect without a restart. Tokens are never logged.

use crate::config::Limits;
use crate::net::{self, Cidr};
use crate::ratelimit::{RateLimiter, RateSource, TokenId};
use crate::tokens::{self, TokenError, TokenStore};
use std::collections::HashMap;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

/// How often the token file's metadata is checked for changes.
const RELOAD_CHECK_MS: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "token {id} may not be used from {addr}: that address is outside the token's allow \
         list (`peeper-server token list` shows it; create a token with --allow for this \
         address)"
    )]
    AddressNotAllowed { addr: IpAddr, id: TokenId },
    #[error("missing `Authorization: Bearer <token>` header")]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    NotBearer,
    #[error("the bearer token is malformed: Peeper tokens look like peeper_<id>_<secret>")]
    Malformed,
    #[error("the bearer token is unknown or revoked")]
    Invalid,
}

impl AuthError {
    /// The `reason` label of the rejection counter.
    pub fn reason(self) -> &'static str {
        match self {
            AuthError::AddressNotAllowed { .. } => "forbidden_address",
            AuthError::Missing
            | AuthError::NotBearer
            | AuthError::Malformed
            | AuthError::Invalid => "unauthenticated",
        }
    }
}

/// A verified token's identity.
#[derive(Debug)]
pub struct Credential {
    pub id: String,
    pub tenant: Arc<str>,
    /// Where the token may be used from; empty = anywhere.
    pub allow: Vec<Cidr>,
    /// The token's ingestion-rate bucket (kept across reloads of the token file).
    pub limiter: Arc<RateLimiter>,
    hash: Vec<u8>,
}

impl Credential {
    /// Refuses a client address outside the token's allow list.
    pub fn check_address(&self, addr: IpAddr) -> Result<(), AuthError> {
        if self.allow.is_empty() || net::any_contains(&self.allow, addr) {
            Ok(())
        } else {
            Err(AuthError::AddressNotAllowed {
                addr: addr.to_canonical(),
                id: TokenId::new(&self.id),
            })
        }
    }
}

/// What identifies one version of the token file (rename-on-write changes the inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    mtime: Option<SystemTime>,
    ino: u64,
    len: u64,
}

#[derive(Debug, Default)]
struct State {
    fingerprint: Option<Fingerprint>,
    by_id: HashMap<String, Arc<Credential>>,
}

/// The tokens a running server accepts.
#[derive(Debug)]
pub struct TokenCache {
    data_dir: PathBuf,
    path: PathBuf,
    state: RwLock<State>,
    epoch: Instant,
    /// Milliseconds since `epoch` of the last check of the file's metadata.
    last_check_ms: AtomicU64,
    /// `[limits]` rate defaults for tokens without their own `rate_limit`.
    default_rate: u64,
    burst: u64,
}

impl TokenCache {
    /// Loads the tokens of `data_dir`; a missing file means no token is accepted yet.
    pub fn load(data_dir: &Path) -> Result<Self, TokenError> {
        Self::load_with_limits(data_dir, &Limits::default())
    }

    /// [`Self::load`], with the rate-limit defaults of `limits`.
    pub fn load_with_limits(data_dir: &Path, limits: &Limits) -> Result<Self, TokenError> {
        crate::perms::report(crate::perms::data_dir(data_dir));
        let store = TokenStore::open(data_dir)?;
        if let Some(refusal) = crate::perms::report(crate::perms::token_file(store.path())) {
            return Err(TokenError::Insecure(refusal));
        }
        let cache = TokenCache {
            data_dir: data_dir.to_owned(),
            path: store.path().to_owned(),
            state: RwLock::new(State::default()),
            epoch: Instant::now(),
            last_check_ms: AtomicU64::new(0),
            default_rate: limits.max_samples_per_second_per_token,
            burst: limits.rate_limit_burst_samples,
        };
        let fingerprint = fingerprint(&cache.path);
        cache.install(store, fingerprint);
        Ok(cache)
    }

    /// The number of tokens currently accepted.
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks an `Authorization` header value.
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Arc<Credential>, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let header = std::str::from_utf8(header).map_err(|_| AuthError::NotBearer)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        let token = token.trim();
        let id = tokens::token_id(token).ok_or(AuthError::Malformed)?;
        self.maybe_reload();
        let known = |cache: &Self| cache.read().by_id.get(id).cloned();
        // An unknown id may be a token created a moment ago: look at the file now (a stat;
        // it is re-read only when it changed), so a new agent is accepted at once.
        let credential = known(self)
            .or_else(|| {
                self.check_file();
                known(self)
            })
            .ok_or(AuthError::Invalid)?;
        if tokens::hash_matches(token, &credential.hash) {
            Ok(credential)
        } else {
            Err(AuthError::Invalid)
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn maybe_reload(&self) {
        let now = self.epoch.elapsed().as_millis() as u64 + RELOAD_CHECK_MS;
        let last = self.last_check_ms.load(Ordering::Relaxed);
        if now < last + RELOAD_CHECK_MS
            || self
                .last_check_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.check_file();
    }

    /// Re-reads the token file if it changed since it was last read.
    fn check_file(&self) {
        let current = fingerprint(&self.path);
        if current == self.read().fingerprint {
            return;
        }
        // A token file that vanished or was emptied is an accident until proven otherwise
        // (`token revoke` leaves a file with no tokens, never no file): keep the tokens.
        if current.is_none_or(|f| f.len == 0) {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            tracing::error!(
                path = %self.path.display(),
                tokens = state.by_id.len(),
                "the token file is missing or empty: keeping the previous tokens until it is back \
                 (revoke tokens with `peeper-server token revoke`)"
            );
            state.fingerprint = current;
            return;
        }
        if let Some(refusal) = crate::perms::report(crate::perms::token_file(&self.path)) {
            tracing::error!("keeping the previous tokens: {refusal}");
            self.state
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .fingerprint = current;
            return;
        }
        match TokenStore::open(&self.data_dir) {
            Ok(store) => {
                self.install(store, current);
                tracing::info!(path = %self.path.display(), tokens = self.len(), "token file reloaded");
            }
            Err(e) => {
                tracing::error!("keeping the previous tokens: {e}");
                self.state
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .fingerprint = current;
            }
        }
    }

    fn install(&self, store: TokenStore, fingerprint: Option<Fingerprint>) {
        let previous = self.read().by_id.clone();
        let mut by_id = HashMap::new();
        for entry in store.list() {
            let Some(hash) = tokens::unhex(&entry.sha256).filter(|h| h.len() == 32) else {
                tracing::error!(id = %entry.id, path = %self.path.display(), "token entry has a malformed sha256; it is ignored");
                continue;
            };
            // Stored entries were validated when created; a hand-edited bad one is skipped.
            let Ok(allow) = net::parse_cidrs(&entry.allow) else {
                tracing::error!(id = %entry.id, path = %self.path.display(), "token entry has an invalid allow list; it is ignored");
                continue;
            };
            // A token's own rate gets a two-second burst; the default rate the configured one.
            let (rate, burst, source) = match entry.rate_limit {
                Some(rate) => (rate, 0, RateSource::Token),
                None => (self.default_rate, self.burst, RateSource::Default),
            };
            // Keep the bucket's level across reloads unless the rate changed.
            let limiter = previous
                .get(&entry.id)
                .map(|c| Arc::clone(&c.limiter))
                .filter(|l| l.rate() == rate)
                .unwrap_or_else(|| Arc::new(RateLimiter::new(&entry.id, rate, burst, source)));
            by_id.insert(
                entry.id.clone(),
                Arc::new(Credential {
                    id: entry.id.clone(),
                    tenant: Arc::from(entry.tenant.as_str()),
                    allow,
                    limiter,
                    hash,
                }),
            );
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        *state = State { fingerprint, by_id };
    }
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        mtime: meta.modified().ok(),
        ino: meta.ino(),
        len: meta.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    #[test]
    fn a_token_created_a_moment_ago_is_accepted_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (_, first) = TokenStore::open(dir.path())
            .unwrap()
            .create("acme", &[])
            .unwrap();
        let cache = TokenCache::load(dir.path()).unwrap();
        assert!(cache.authenticate(Some(&bearer(&first))).is_ok());
        // Within the second in which the file is otherwise not looked at again.
        let (_, second) = TokenStore::open(dir.path())
            .unwrap()
            .create("acme", &[])
            .unwrap();
        let credential = cache.authenticate(Some(&bearer(&second))).unwrap();
        assert_eq!(&*credential.tenant, "acme");
        let unknown = second.replacen(tokens::token_id(&second).unwrap(), "0000ffff", 1);
        assert!(matches!(
            cache.authenticate(Some(&bearer(&unknown))),
            Err(AuthError::Invalid)
        ));
    }
}
