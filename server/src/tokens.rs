//! Agent tokens in `<data-dir>/tokens.json`: each entry holds the token's id, its tenant, the
//! SHA-256 of the token (never the token), when it was created and its allow list.
//!
//! A token reads `peeper_<8 hex id>_<43 base64url chars of 32 random bytes>`. It is shown
//! once, when created. The file is rewritten atomically (temporary file, then rename) with
//! mode 0600.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The token file's name inside the data directory.
pub const TOKENS_FILE: &str = "tokens.json";
const PREFIX: &str = "peeper_";
const ID_HEX_LEN: usize = 8;
const SECRET_LEN: usize = 43;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the token file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write the token file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "tenant name {0:?} is not valid: use 1 to 64 characters from A-Z, a-z, 0-9, `_`, `.` \
         and `-`"
    )]
    InvalidTenant(String),
    #[error("--allow {0:?} is not an IP address or CIDR block (like 10.0.0.0/8 or 2001:db8::/32)")]
    InvalidCidr(String),
    #[error("no token with id {0:?}: `peeper-server token list` shows the ids")]
    UnknownId(String),
    #[error("the system random number generator failed")]
    Random,
    #[error("{0}")]
    Insecure(String),
}

/// One token as stored (and listed): everything but the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// 8 hex characters, also embedded in the token.
    pub id: String,
    pub tenant: String,
    /// Hex SHA-256 of the whole token.
    pub sha256: String,
    /// Unix seconds.
    pub created: u64,
    /// Addresses or CIDR blocks the token may be used from; empty = anywhere. The client's
    /// address is the TCP peer, or `X-Forwarded-For` behind a trusted proxy.
    #[serde(default)]
    pub allow: Vec<String>,
    /// This token's ingestion rate in samples a second (0 = unlimited); absent = the
    /// server's `[limits] max_samples_per_second_per_token`. Files written before this
    /// field existed read as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    tokens: Vec<TokenEntry>,
}

/// The token file of one data directory.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    file: TokenFile,
}

impl TokenStore {
    /// Opens the store of `data_dir`; a missing file is an empty store.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, TokenError> {
        let path = data_dir.as_ref().join(TOKENS_FILE);
        let file = read_file(&path)?;
        Ok(TokenStore { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn list(&self) -> &[TokenEntry] {
        &self.file.tokens
    }

    /// Creates a token for `tenant`, stores its hash and returns `(id, token)`. The token is
    /// not kept anywhere: show it to the operator once.
    pub fn create(
        &mut self,
        tenant: &str,
        allow: &[String],
    ) -> Result<(String, String), TokenError> {
        self.create_with(tenant, allow, None)
    }

    /// [`Self::create`] with the token's own ingestion rate (`--rate-limit`, samples/s).
    pub fn create_with(
        &mut self,
        tenant: &str,
        allow: &[String],
        rate_limit: Option<u64>,
    ) -> Result<(String, String), TokenError> {
        validate_tenant(tenant)?;
        for cidr in allow {
            validate_cidr(cidr)?;
        }
        // Re-read so a concurrent change made since `open` is not lost.
        self.file = read_file(&self.path)?;
        let rng = SystemRandom::new();
        let id = loop {
            let mut raw = [0u8; ID_HEX_LEN / 2];
            rng.fill(&mut raw).map_err(|_| TokenError::Random)?;
            let id = hex(&raw);
            if !self.file.tokens.iter().any(|t| t.id == id) {
                break id;
            }
        };
        let mut secret = [0u8; 32];
        rng.fill(&mut secret).map_err(|_| TokenError::Random)?;
        let token = format!("{PREFIX}{id}_{}", base64url(&secret));
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.file.tokens.push(TokenEntry {
            id: id.clone(),
            tenant: tenant.to_owned(),
            sha256: hex(&sha256(token.as_bytes())),
            created,
            allow: allow.to_vec(),
            rate_limit,
        });
        self.save()?;
        Ok((id, token))
    }

    /// Removes the token `id`; running servers notice within about a second.
    pub fn revoke(&mut self, id: &str) -> Result<TokenEntry, TokenError> {
        self.file = read_file(&self.path)?;
        let index = self
            .file
            .tokens
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| TokenError::UnknownId(id.to_owned()))?;
        let entry = self.file.tokens.remove(index);
        self.save()?;
        Ok(entry)
    }

    /// Finds the entry a presented token belongs to, comparing hashes in constant time.
    pub fn verify(&self, token: &str) -> Option<&TokenEntry> {
        let id = token_id(token)?;
        let entry = self.file.tokens.iter().find(|t| t.id == id)?;
        let stored = unhex(&entry.sha256)?;
        hash_matches(token, &stored).then_some(entry)
    }

    fn save(&self) -> Result<(), TokenError> {
        let write_err = |source| TokenError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(write_err)?;
        let mut text = serde_json::to_string_pretty(&self.file).expect("token file serializes");
        text.push('\n');
        let tmp = dir.join(format!(".{TOKENS_FILE}.tmp.{}", std::process::id()));
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            give_to_dir_owner(&f, dir)?;
            std::fs::rename(&tmp, &self.path)?;
            std::fs::File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(write_err)
    }
}

fn read_file(path: &Path) -> Result<TokenFile, TokenError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| TokenError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(source) => Err(TokenError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Checks a tenant name: 1 to 64 of `[A-Za-z0-9_.-]`.
pub fn validate_tenant(tenant: &str) -> Result<(), TokenError> {
    let ok = (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::InvalidTenant(tenant.to_owned()))
    }
}

fn validate_cidr(cidr: &str) -> Result<(), TokenError> {
    cidr.parse::<crate::net::Cidr>()
        .map(drop)
        .map_err(|_| TokenError::InvalidCidr(cidr.to_owned()))
}

/// The id a token carries, if it has the token shape.
pub(crate) fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == ID_HEX_LEN && id.bytes().all(|b| b.is_ascii_hexdigit());
    let secret_ok = secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then_some(id)
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Whether `token` hashes to `stored`, compared in constant time.
pub(crate) fn hash_matches(token: &str, stored: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(&sha256(token.as_bytes()), stored).is_ok()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Unpadded base64url (RFC 4648 §5).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// The file belongs to whoever owns the data directory: `token create` run as root in the
/// service's directory (`/var/lib/peeper-server`, owned by `peeper`) must leave a file the
/// service can read. Only root can give a file away; anyone else writes their own.
fn give_to_dir_owner(file: &std::fs::File, dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(dir)?;
    let mine = file.metadata()?;
    if rustix::process::geteuid().is_root()
        && (mine.uid(), mine.gid()) != (owner.uid(), owner.gid())
    {
        rustix::fs::fchown(
            file,
            Some(rustix::fs::Uid::from_raw(owner.uid())),
            Some(rustix::fs::Gid::from_raw(owner.gid())),
        )?;
    }
    Ok(())
}
