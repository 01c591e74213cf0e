//! The `KEY=value` syntax node_exporter reads os-release with (the envparse library it
//! uses): whitespace around keys and values trimmed, `export ` dropped, `#` lines skipped,
//! 'single' and "double" quotes (JSON escapes inside double quotes), and an unquoted `#`
//! starting a comment that ends the value.

/// One line: `None` for a blank line, a comment or an empty value (the library skips those
/// too), else the key and the unquoted value; `Err` names what is wrong with the line.
pub fn parse_line(line: &str) -> Result<Option<(&str, String)>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (key, value) = line.split_once('=').ok_or("missing =")?;
    let (key, value) = (key.trim(), value.trim());
    let key = match key.strip_prefix("export ") {
        Some(rest) if !rest.is_empty() => rest,
        _ => key,
    };
    check_key(key)?;
    let value = unquote(value.as_bytes())?;
    if value.is_empty() {
        return Ok(None);
    }
    Ok(Some((key, String::from_utf8_lossy(&value).into_owned())))
}

fn check_key(key: &str) -> Result<(), String> {
    let mut bytes = key.bytes();
    match bytes.next() {
        None => return Err("empty key".into()),
        Some(first) if first.is_ascii_alphabetic() || first == b'_' => {}
        Some(first) => {
            return Err(format!(
                "key must start with [A-Za-z_] but found {:?}",
                first as char
            ));
        }
    }
    match bytes.find(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/'))) {
        Some(bad) => Err(format!(
            "key characters must be [A-Za-z0-9/_.] but found {:?}",
            bad as char
        )),
        None => Ok(()),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    Double,
    Single,
    Escape,
}

/// The value without its quotes and escapes, byte for byte as the library builds it.
fn unquote(value: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(value.len());
    // Where the value ends if a comment follows: after the last character that is not
    // unquoted whitespace.
    let mut significant = 0;
    let mut mode = Mode::Normal;
    let mut i = 0;
    while i < value.len() {
        let byte = value[i];
        i += 1;
        if byte < 32 {
            return Err(format!("0x{byte:02x} is an invalid value character"));
        }
        if byte > 127 {
            if mode == Mode::Escape {
                return Err("multibyte characters disallowed in escape sequences".into());
            }
            // The library marks the end before the byte here, not after it.
            significant = out.len();
            out.push(byte);
            continue;
        }
        match (mode, byte) {
            (Mode::Normal, b'"') => mode = Mode::Double,
            (Mode::Normal, b'\'') => mode = Mode::Single,
            (Mode::Normal, b'#') => {
                out.truncate(significant);
                return Ok(out);
            }
            (Mode::Normal, b' ' | b'\t') => out.push(byte),
            (Mode::Double, b'"') | (Mode::Single, b'\'') => mode = Mode::Normal,
            (Mode::Double, b'\\') => mode = Mode::Escape,
            (Mode::Escape, _) => {
                i = unescape(value, i, byte, &mut out)?;
                significant = out.len();
                mode = Mode::Double;
            }
            _ => {
                out.push(byte);
                significant = out.len();
            }
        }
    }
    match mode {
        Mode::Normal => Ok(out),
        Mode::Double => Err("unmatched \"".into()),
        Mode::Single => Err("unmatched '".into()),
        Mode::Escape => Err("incomplete escape sequence".into()),
    }
}

/// Appends the character escaped by `\<byte>` (whose next byte is at `i`); returns the index
/// after the escape.
fn unescape(value: &[u8], i: usize, byte: u8, out: &mut Vec<u8>) -> Result<usize, String> {
    let simple = match byte {
        b'"' | b'\\' | b'/' => byte,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'r' => b'\r',
        b'n' => b'\n',
        b't' => b'\t',
        b'u' => {
            let (c, next) = unicode_escape(value, i)?;
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            return Ok(next);
        }
        _ => return Err(format!("invalid escape sequence: {:?}", byte as char)),
    };
    out.push(simple);
    Ok(i)
}

/// `XXXX` at `i` (after `\u`), or a surrogate pair `XXXX\uXXXX`.
fn unicode_escape(value: &[u8], i: usize) -> Result<(char, usize), String> {
    let first = hex4(value.get(i..).unwrap_or_default())?;
    let mut next = i + 4;
    let unit = if (0xD800..0xE000).contains(&first) {
        if value.len() < next + 6 || &value[next..next + 2] != b"\\u" {
            return Err("incomplete Unicode surrogate pair".into());
        }
        let second = hex4(&value[next + 2..])?;
        next += 6;
        // Go's utf16.DecodeRune: a pair that is not high then low gives U+FFFD.
        if (0xD800..0xDC00).contains(&first) && (0xDC00..0xE000).contains(&second) {
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            0xFFFD
        }
    } else {
        first
    };
    Ok((char::from_u32(unit).unwrap_or('\u{FFFD}'), next))
}

fn hex4(bytes: &[u8]) -> Result<u32, String> {
    let digits = bytes.get(..4).ok_or("incomplete hex sequence")?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let digit = (d as char)
            .to_digit(16)
            .ok_or_else(|| format!("invalid hex character: {:?}", d as char))?;
        Ok(acc * 16 + digit)
    })
}
