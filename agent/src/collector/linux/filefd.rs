//! `node_filefd_allocated` and `node_filefd_maximum` from `/proc/sys/fs/file-nr` (node_exporter
//! filefd_linux.go).

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// The allocated and the maximum number of file handles. The middle column (free handles)
/// is always 0 since Linux 2.6 and is skipped, as node_exporter skips it.
pub fn parse_file_nr(text: &str) -> Result<[f64; 2], LinuxError> {
    let mut parts = text.trim().split('\t');
    let (Some(allocated), Some(_), Some(maximum)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(LinuxError::parse(
            "/proc/sys/fs/file-nr",
            format!("unexpected number of file stats in {text:?}"),
        ));
    };
    let number = |value: &str| {
        value.parse::<f64>().map_err(|_| {
            LinuxError::parse("/proc/sys/fs/file-nr", format!("invalid value {value:?}"))
        })
    };
    Ok([number(allocated)?, number(maximum)?])
}

pub fn families([allocated, maximum]: [f64; 2], out: &mut Vec<MetricFamily>) {
    out.push(
        MetricFamily::gauge(
            "node_filefd_allocated",
            "File descriptor statistics: allocated.",
        )
        .with(&[], allocated),
    );
    out.push(
        MetricFamily::gauge(
            "node_filefd_maximum",
            "File descriptor statistics: maximum.",
        )
        .with(&[], maximum),
    );
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    super::read_into(&paths.file_nr, buf)?;
    families(parse_file_nr(buf)?, out);
    Ok(())
}
