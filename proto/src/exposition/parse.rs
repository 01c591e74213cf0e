//! Reading the text exposition format 0.0.4: what exporters serve and what node_exporter's
//! textfile collector reads from `*.prom` files. It accepts and refuses what Prometheus'
//! own parser (`expfmt.TextParser`) does, and refuses a series that appears twice, which
//! Prometheus' registry refuses when it gathers.

use std::collections::HashSet;

/// The type a `# TYPE` line gives a family (untyped without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl TextType {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "counter" => TextType::Counter,
            "gauge" => TextType::Gauge,
            "histogram" => TextType::Histogram,
            "summary" => TextType::Summary,
            "untyped" => TextType::Untyped,
            _ => return None,
        })
    }
}

/// One sample line. Histograms and summaries keep their samples' own names (`x_bucket`,
/// `x_sum`, `x_count`, `x`) inside the family `x`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSample {
    pub name: String,
    /// In the order written; empty values kept as written.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// The optional timestamp after the value, in milliseconds.
    pub timestamp_ms: Option<i64>,
}

impl TextSample {
    /// The value of label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric family as the text declares it: `# HELP`, `# TYPE` and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFamily {
    pub name: String,
    /// `None` without a `# HELP` line.
    pub help: Option<String>,
    pub kind: TextType,
    pub samples: Vec<TextSample>,
}

/// Why a text is not valid exposition, with the line (from 1) that shows it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TextError {
    pub line: usize,
    pub message: String,
}

/// Parses a whole text; families in the order they first appear.
pub fn parse_text(text: &str) -> Result<Vec<TextFamily>, TextError> {
    let mut parser = Parser::default();
    for (index, line) in text.split('\n').enumerate() {
        parser
            .line(line.trim_start_matches([' ', '\t']))
            .map_err(|message| TextError {
                line: index + 1,
                message,
            })?;
    }
    Ok(parser.families)
}

#[derive(Default)]
struct Parser {
    families: Vec<TextFamily>,
    /// Families given a `# TYPE` line.
    typed: HashSet<String>,
    /// Every series seen: the sample name and its sorted labels.
    series: HashSet<String>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), String> {
        if line.is_empty() {
            return Ok(());
        }
        match line.strip_prefix('#') {
            Some(comment) => self.comment(comment.trim_start_matches([' ', '\t'])),
            None => self.sample(line),
        }
    }

    /// `# HELP name text`, `# TYPE name type`, or any other comment (ignored).
    fn comment(&mut self, comment: &str) -> Result<(), String> {
        let (keyword, rest) = split_word(comment);
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let (name, rest) = split_word(rest);
        if !is_metric_name(name) {
            return Err(format!("{keyword} line: {name:?} is not a metric name"));
        }
        let index = self.family_named(name);
        if keyword == "HELP" {
            let family = &mut self.families[index];
            if family.help.is_some() {
                return Err(format!("a second HELP line for {name}"));
            }
            family.help = Some(unescape_help(rest)?);
            return Ok(());
        }
        let kind = TextType::from_word(rest.trim_end_matches([' ', '\t']))
            .ok_or_else(|| format!("TYPE line for {name}: unknown type {rest:?}"))?;
        if !self.typed.insert(name.to_owned()) {
            return Err(format!("a second TYPE line for {name}"));
        }
        let family = &mut self.families[index];
        if !family.samples.is_empty() {
            return Err(format!("the TYPE line for {name} comes after its samples"));
        }
        family.kind = kind;
        Ok(())
    }

    fn sample(&mut self, line: &str) -> Result<(), String> {
        let sample = read_sample(line)?;
        let index = self.family_of(&sample.name);
        let family = &self.families[index];
        check_kind(family, &sample)?;
        let mut labels: Vec<_> = sample.labels.iter().collect();
        labels.sort();
        let mut key = sample.name.clone();
        for (name, value) in labels {
            key.push('\0');
            key.push_str(name);
            key.push('\0');
            key.push_str(value);
        }
        if !self.series.insert(key) {
            return Err(format!(
                "the series {}{:?} appears twice",
                sample.name, sample.labels
            ));
        }
        self.families[index].samples.push(sample);
        Ok(())
    }

    /// The family a sample belongs to: the histogram or summary its suffix names, else the
    /// family of its own name (created untyped).
    fn family_of(&mut self, sample: &str) -> usize {
        for suffix in ["_bucket", "_sum", "_count"] {
            let Some(base) = sample.strip_suffix(suffix) else {
                continue;
            };
            let found = self.families.iter().position(|f| {
                f.name == base
                    && (f.kind == TextType::Histogram
                        || (f.kind == TextType::Summary && suffix != "_bucket"))
            });
            if let Some(index) = found {
                return index;
            }
        }
        self.family_named(sample)
    }

    fn family_named(&mut self, name: &str) -> usize {
        if let Some(index) = self.families.iter().position(|f| f.name == name) {
            return index;
        }
        self.families.push(TextFamily {
            name: name.to_owned(),
            help: None,
            kind: TextType::Untyped,
            samples: Vec::new(),
        });
        self.families.len() - 1
    }
}

/// A histogram's buckets need `le`, a summary's quantiles `quantile`, both numbers.
fn check_kind(family: &TextFamily, sample: &TextSample) -> Result<(), String> {
    let suffix = &sample.name[family.name.len()..];
    let required = match (family.kind, suffix) {
        (TextType::Histogram, "_bucket") => "le",
        (TextType::Histogram, "") => {
            return Err(format!(
                "histogram {} has a sample without _bucket, _sum or _count",
                family.name
            ));
        }
        (TextType::Summary, "") => "quantile",
        _ => return Ok(()),
    };
    match sample.label(required).map(parse_float) {
        Some(Some(_)) => Ok(()),
        Some(None) => Err(format!(
            "{}: label {required} must be a number",
            sample.name
        )),
        None => Err(format!("{}: label {required} is missing", sample.name)),
    }
}

/// `name{label="value",...} value [timestamp]`.
fn read_sample(line: &str) -> Result<TextSample, String> {
    let end = line
        .find(|c: char| !is_name_char(c, true))
        .unwrap_or(line.len());
    let name = &line[..end];
    if !is_metric_name(name) {
        return Err(format!("{line:?} does not start with a metric name"));
    }
    let mut rest = line[end..].trim_start_matches([' ', '\t']);
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        rest = read_labels(name, inside, &mut labels)?;
    }
    let (value, rest) = split_word(rest);
    let value = parse_float(value).ok_or_else(|| format!("{name}: {value:?} is not a number"))?;
    let (timestamp, rest) = split_word(rest);
    let timestamp_ms = match timestamp {
        "" => None,
        t => Some(
            t.parse::<i64>()
                .map_err(|_| format!("{name}: {t:?} is not a timestamp"))?,
        ),
    };
    if !rest.is_empty() {
        return Err(format!("{name}: {rest:?} after the timestamp"));
    }
    Ok(TextSample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

/// Reads `label="value",...}` into `labels`; returns what follows the `}`.
fn read_labels<'a>(
    metric: &str,
    mut rest: &'a str,
    labels: &mut Vec<(String, String)>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after.trim_start_matches([' ', '\t']));
        }
        let end = rest
            .find(|c: char| !is_name_char(c, false))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if !is_label_name(name) {
            return Err(format!("{metric}: invalid label name at {rest:?}"));
        }
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("{metric}: label {name} appears twice"));
        }
        rest = rest[end..].trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('=')
            .map(|r| r.trim_start_matches([' ', '\t']))
            .and_then(|r| r.strip_prefix('"'))
            .ok_or_else(|| format!("{metric}: label {name} needs =\"value\""))?;
        let (value, after) =
            read_quoted(rest).map_err(|e| format!("{metric}: label {name}: {e}"))?;
        labels.push((name.to_owned(), value));
        rest = after.trim_start_matches([' ', '\t']);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("{metric}: expected , or }} at {rest:?}"));
        }
    }
}

/// A label value after its opening quote, up to the closing one: `\\`, `\"` and `\n` are
/// the only escapes.
fn read_quoted(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[at + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                other => return Err(format!("invalid escape {other:?}")),
            },
            c => value.push(c),
        }
    }
    Err("the value has no closing quote".to_owned())
}

/// A HELP text: `\\` and `\n` are the only escapes.
fn unescape_help(text: &str) -> Result<String, String> {
    let mut help = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            help.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => help.push('\\'),
            Some('n') => help.push('\n'),
            other => return Err(format!("HELP text: invalid escape {other:?}")),
        }
    }
    Ok(help)
}

/// A value as Go's `strconv.ParseFloat` reads it (`NaN`, `+Inf`, `-Inf`, `1e3`, ...).
pub fn parse_float(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// The first blank-separated word and what follows it (leading blanks skipped).
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start_matches([' ', '\t']);
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    (&text[..end], text[end..].trim_start_matches([' ', '\t']))
}

fn is_name_char(c: char, colon: bool) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':')
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && name.chars().all(|c| is_name_char(c, true))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, but not the reserved `__name__`.
pub fn is_label_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && name.chars().all(|c| is_name_char(c, false))
        && name != "__name__"
}

#[cfg(test)]
mod tests;
