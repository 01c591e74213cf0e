//! `node_xfs_*_total{device}` from `/sys/fs/xfs/<device>/stats/stats`, as node_exporter 1.5's
//! xfs collector reads them through procfs (xfs/parse.go): every line of the file is checked
//! as procfs checks it, and 40 of its counters are exported.
//!
//! No XFS file system is success with no series; a file procfs cannot parse fails the area
//! before anything is exported.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::ffi::OsString;

const FILE: &str = "/sys/fs/xfs/<device>/stats/stats";

/// One exported counter: the line it is on, its column, node_exporter's name and help.
struct Counter {
    line: &'static str,
    column: usize,
    name: &'static str,
    help: &'static str,
}

const fn counter(
    line: &'static str,
    column: usize,
    name: &'static str,
    help: &'static str,
) -> Counter {
    Counter {
        line,
        column,
        name,
        help,
    }
}

#[rustfmt::skip]
const COUNTERS: [Counter; 39] = [
    counter("extent_alloc", 0, "extent_allocation_extents_allocated_total", "Number of extents allocated for a filesystem."),
    counter("extent_alloc", 1, "extent_allocation_blocks_allocated_total", "Number of blocks allocated for a filesystem."),
    counter("extent_alloc", 2, "extent_allocation_extents_freed_total", "Number of extents freed for a filesystem."),
    counter("extent_alloc", 3, "extent_allocation_blocks_freed_total", "Number of blocks freed for a filesystem."),
    counter("abt", 0, "allocation_btree_lookups_total", "Number of allocation B-tree lookups for a filesystem."),
    counter("abt", 1, "allocation_btree_compares_total", "Number of allocation B-tree compares for a filesystem."),
    counter("abt", 2, "allocation_btree_records_inserted_total", "Number of allocation B-tree records inserted for a filesystem."),
    counter("abt", 3, "allocation_btree_records_deleted_total", "Number of allocation B-tree records deleted for a filesystem."),
    counter("blk_map", 0, "block_mapping_reads_total", "Number of block map for read operations for a filesystem."),
    counter("blk_map", 1, "block_mapping_writes_total", "Number of block map for write operations for a filesystem."),
    counter("blk_map", 2, "block_mapping_unmaps_total", "Number of block unmaps (deletes) for a filesystem."),
    counter("blk_map", 3, "block_mapping_extent_list_insertions_total", "Number of extent list insertions for a filesystem."),
    counter("blk_map", 4, "block_mapping_extent_list_deletions_total", "Number of extent list deletions for a filesystem."),
    counter("blk_map", 5, "block_mapping_extent_list_lookups_total", "Number of extent list lookups for a filesystem."),
    counter("blk_map", 6, "block_mapping_extent_list_compares_total", "Number of extent list compares for a filesystem."),
    counter("bmbt", 0, "block_map_btree_lookups_total", "Number of block map B-tree lookups for a filesystem."),
    counter("bmbt", 1, "block_map_btree_compares_total", "Number of block map B-tree compares for a filesystem."),
    counter("bmbt", 2, "block_map_btree_records_inserted_total", "Number of block map B-tree records inserted for a filesystem."),
    counter("bmbt", 3, "block_map_btree_records_deleted_total", "Number of block map B-tree records deleted for a filesystem."),
    counter("dir", 0, "directory_operation_lookup_total", "Number of file name directory lookups which miss the operating systems directory name lookup cache."),
    counter("dir", 1, "directory_operation_create_total", "Number of times a new directory entry was created for a filesystem."),
    counter("dir", 2, "directory_operation_remove_total", "Number of times an existing directory entry was created for a filesystem."),
    counter("dir", 3, "directory_operation_getdents_total", "Number of times the directory getdents operation was performed for a filesystem."),
    counter("ig", 0, "inode_operation_attempts_total", "Number of times the OS looked for an XFS inode in the inode cache."),
    counter("ig", 1, "inode_operation_found_total", "Number of times the OS looked for and found an XFS inode in the inode cache."),
    counter("ig", 2, "inode_operation_recycled_total", "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled."),
    counter("ig", 3, "inode_operation_missed_total", "Number of times the OS looked for an XFS inode in the cache, but did not find it."),
    counter("ig", 4, "inode_operation_duplicates_total", "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process."),
    counter("ig", 5, "inode_operation_reclaims_total", "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose."),
    counter("ig", 6, "inode_operation_attribute_changes_total", "Number of times the OS explicitly changed the attributes of an XFS inode."),
    // The kernel writes `rw <writes> <reads>`.
    counter("rw", 1, "read_calls_total", "Number of read(2) system calls made to files in a filesystem."),
    counter("rw", 0, "write_calls_total", "Number of write(2) system calls made to files in a filesystem."),
    counter("vnodes", 0, "vnode_active_total", "Number of vnodes not on free lists for a filesystem."),
    counter("vnodes", 1, "vnode_allocate_total", "Number of times vn_alloc called for a filesystem."),
    counter("vnodes", 2, "vnode_get_total", "Number of times vn_get called for a filesystem."),
    counter("vnodes", 3, "vnode_hold_total", "Number of times vn_hold called for a filesystem."),
    counter("vnodes", 4, "vnode_release_total", "Number of times vn_rele called for a filesystem."),
    counter("vnodes", 5, "vnode_reclaim_total", "Number of times vn_reclaim called for a filesystem."),
    counter("vnodes", 6, "vnode_remove_total", "Number of times vn_remove called for a filesystem."),
];

/// The number of values procfs demands on each line it knows (one or two allowed counts);
/// other lines need only parse.
const SHAPES: [(&str, usize, usize); 22] = [
    ("extent_alloc", 4, 4),
    ("abt", 4, 4),
    ("blk_map", 7, 7),
    ("bmbt", 4, 4),
    ("dir", 4, 4),
    ("trans", 3, 3),
    ("ig", 7, 7),
    ("log", 5, 5),
    ("push_ail", 10, 10),
    ("xstrat", 2, 2),
    ("rw", 2, 2),
    ("attr", 4, 4),
    ("icluster", 3, 3),
    ("vnodes", 7, 8),
    ("buf", 9, 9),
    ("xpc", 3, 3),
    ("abtb2", 15, 15),
    ("abtc2", 15, 15),
    ("bmbt2", 15, 15),
    ("ibt2", 15, 15),
    ("qm", 8, 9),
    ("debug", 1, 1),
];

/// procfs' `ParseStats`: the [`COUNTERS`] values (0 where a line is missing). Values are
/// 32-bit but on the `xpc` line; a value out of range or a line of the wrong length fails.
pub fn parse_stats(text: &str) -> Result<[u32; COUNTERS.len()], LinuxError> {
    let mut values = [0u32; COUNTERS.len()];
    let mut numbers: Vec<u64> = Vec::with_capacity(16);
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(label), Some(_)) = (fields.next(), fields.clone().next()) else {
            continue;
        };
        numbers.clear();
        for field in fields {
            let value = if label == "xpc" {
                super::sysfs::parse_uint(field)
            } else {
                super::sysfs::parse_u32(field).map(u64::from)
            };
            let value = value.ok_or_else(|| {
                LinuxError::parse(FILE, format!("bad value {field:?} on line {label}"))
            })?;
            numbers.push(value);
        }
        if let Some((_, min, max)) = SHAPES.iter().find(|(name, _, _)| *name == label)
            && !(*min..=*max).contains(&numbers.len())
        {
            return Err(LinuxError::parse(
                FILE,
                format!("{} values on line {label}", numbers.len()),
            ));
        }
        for (value, counter) in values.iter_mut().zip(&COUNTERS) {
            if counter.line == label {
                *value = numbers[counter.column] as u32;
            }
        }
    }
    Ok(values)
}

pub fn families(filesystems: &[(String, [u32; COUNTERS.len()])], out: &mut Vec<MetricFamily>) {
    for (index, counter) in COUNTERS.iter().enumerate() {
        let mut family = MetricFamily::counter(format!("node_xfs_{}", counter.name), counter.help);
        for (device, values) in filesystems {
            family.push(&[("device", device)], f64::from(values[index]));
        }
        out.push(family);
    }
}

/// procfs' `SysStats`: Go's `filepath.Glob("/sys/fs/xfs/*/stats/stats")`, sorted by name.
pub fn collect(
    paths: &Paths,
    buf: &mut String,
    names: &mut Vec<OsString>,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let dir = &paths.hw.xfs;
    if super::sysfs::sorted_names(dir, names).is_err() {
        names.clear();
    }
    let mut filesystems = Vec::new();
    for name in names.iter() {
        let stats_dir = dir.join(name).join("stats");
        let stats = stats_dir.join("stats");
        if !stats_dir.is_dir() || std::fs::symlink_metadata(&stats).is_err() {
            continue;
        }
        super::read_into(&stats, buf)?;
        filesystems.push((name.to_string_lossy().into_owned(), parse_stats(buf)?));
    }
    families(&filesystems, out);
    Ok(())
}
