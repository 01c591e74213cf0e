//! Reading and parsing as node_exporter's Go code does, for the hardware areas: procfs'
//! `SysReadFile` (one `read` of at most 128 bytes), Go's `strings.TrimSpace`, `strconv`'s
//! integer rules, `strings.ToValidUTF8`, and the sorted listings of `os.ReadDir` and
//! `filepath.Glob`. Small differences here become different series, so they are kept in one
//! place.

use super::LinuxError;
use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{self, Read};
use std::path::Path;

/// procfs' and node_exporter's `SysReadFile` buffer: longer attributes are cut.
pub const ATTR_MAX: usize = 128;

/// The [`LinuxError`] of a failed read of `path`.
pub fn io_error(path: &Path, source: io::Error) -> LinuxError {
    LinuxError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `error` is Go's `os.ErrNotExist` (ENOENT).
pub fn is_not_found(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::NotFound
}

/// Whether `error` is Go's `os.ErrPermission` (EACCES, EPERM).
pub fn is_permission(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::PermissionDenied
}

/// Whether `error` carries errno `errno`.
pub fn is_errno(error: &io::Error, errno: rustix::io::Errno) -> bool {
    error.raw_os_error() == Some(errno.raw_os_error())
}

/// `SysReadFile` without the trimming: opens `path` and reads once into `buf`. Sysfs hands out
/// an attribute in one read, and a broken driver answering `EAGAIN` fails at once instead of
/// being polled.
pub fn read_attr<'a>(path: &Path, buf: &'a mut [u8; ATTR_MAX]) -> io::Result<&'a [u8]> {
    let mut file = std::fs::File::open(path)?;
    let read = file.read(buf)?;
    Ok(&buf[..read])
}

/// Go's `os.ReadFile` into `buf` (bytes: sysfs text need not be UTF-8).
pub fn read_bytes(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    std::fs::File::open(path)?.read_to_end(buf)?;
    Ok(())
}

/// Go's `bytes.TrimSpace`: Unicode white space at both ends.
pub fn trim_space(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.trim().as_bytes(),
        // Invalid UTF-8 is no space to Go either; only ASCII space is met at the ends then.
        Err(_) => {
            let space = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
            let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
            let end = bytes
                .iter()
                .rposition(|b| !space(b))
                .map_or(start, |i| i + 1);
            &bytes[start..end]
        }
    }
}

/// Go's `strings.ToValidUTF8(text, "\u{FFFD}")`: each run of invalid bytes becomes one
/// replacement character (Rust's lossy conversion writes one per invalid sequence).
pub fn valid_utf8(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(bytes.len() + 2);
    let mut in_invalid_run = false;
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            out.push_str(chunk.valid());
            in_invalid_run = false;
        }
        if !chunk.invalid().is_empty() && !in_invalid_run {
            out.push('\u{FFFD}');
            in_invalid_run = true;
        }
    }
    Cow::Owned(out)
}

/// Go's `strconv.ParseUint(text, 10, 64)`: digits only (Rust's parser also takes a `+`).
pub fn parse_uint(text: &str) -> Option<u64> {
    if text.starts_with('+') {
        return None;
    }
    text.parse().ok()
}

/// Go's `strconv.ParseInt(text, 10, 64)` (and `Atoi`): an optional sign, then digits.
pub fn parse_int(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// Go's `strconv.ParseUint(text, 10, 32)`.
pub fn parse_u32(text: &str) -> Option<u32> {
    parse_uint(text).and_then(|value| u32::try_from(value).ok())
}

/// Go's `strconv.ParseFloat(text, 64)` for the decimal forms sysfs writes.
pub fn parse_float(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// Go's `os.ReadFile` plus `strconv.ParseUint(strings.TrimSpace(…), 10, 64)`, as
/// node_exporter's `readUintFromFile` and procfs' `ReadUintFromFile` do.
pub fn read_uint_file(path: &Path, buf: &mut Vec<u8>) -> Result<u64, UintFileError> {
    read_bytes(path, buf).map_err(UintFileError::Io)?;
    let text = std::str::from_utf8(trim_space(buf)).unwrap_or("");
    parse_uint(text).ok_or_else(|| UintFileError::Parse(valid_utf8(trim_space(buf)).into_owned()))
}

/// Why [`read_uint_file`] failed: Go callers tell a missing file from a bad number.
#[derive(Debug)]
pub enum UintFileError {
    Io(io::Error),
    Parse(String),
}

impl UintFileError {
    pub fn into_linux(self, path: &Path) -> LinuxError {
        match self {
            UintFileError::Io(source) => io_error(path, source),
            UintFileError::Parse(text) => LinuxError::Parse {
                file: "a sysfs value",
                reason: format!("{}: not a number: {text:?}", path.display()),
            },
        }
    }
}

/// The names in `dir`, sorted bytewise as Go's `os.ReadDir` returns them.
pub fn sorted_names(dir: &Path, names: &mut Vec<OsString>) -> io::Result<()> {
    names.clear();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name());
    }
    names.sort_unstable();
    Ok(())
}

/// Go's `filepath.Glob(dir + "/" + prefix + "[0-9]*")`: the sorted names in `dir` made of
/// `prefix` and a digit, then anything. As Glob, a directory that cannot be listed matches
/// nothing.
pub fn glob_numbered(dir: &Path, prefix: &str, names: &mut Vec<OsString>) {
    if sorted_names(dir, names).is_err() {
        names.clear();
    }
    names.retain(|name| {
        name.as_encoded_bytes()
            .strip_prefix(prefix.as_bytes())
            .is_some_and(|rest| rest.first().is_some_and(u8::is_ascii_digit))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_runs_become_one_replacement_character() {
        assert_eq!(valid_utf8(b"LNV-45N1\xff\xfe"), "LNV-45N1\u{FFFD}");
        assert_eq!(valid_utf8(b"a\xffb\xfe\xfdc"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(valid_utf8(b"plain"), "plain");
    }

    #[test]
    fn trimming_and_numbers_follow_go() {
        assert_eq!(trim_space(b" \t 38109\n\x0b"), b"38109");
        assert_eq!(trim_space(b" a\xff \n"), b"a\xff");
        assert_eq!(trim_space(b"\n\n"), b"");
        assert_eq!(parse_uint("+5"), None);
        assert_eq!(parse_uint("5"), Some(5));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_float("1.5"), Some(1.5));
    }
}
