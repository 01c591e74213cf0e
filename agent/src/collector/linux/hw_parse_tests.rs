//! The pure parsers and name rules of the hardware and storage areas, on the cases where
//! node_exporter's regular expressions and procfs' checks decide.

use super::fixtures::hw_root;
use super::*;
use std::collections::HashMap;

fn fixture(path: &str) -> String {
    std::fs::read_to_string(hw_root().join(path)).unwrap()
}

#[test]
fn sensor_file_names_split_as_node_exporters_regex() {
    use hwmon::explode_sensor_filename as explode;
    assert_eq!(explode("temp1_crit_alarm"), Some(("temp", 1, "crit_alarm")));
    assert_eq!(explode("in0_input"), Some(("in", 0, "input")));
    assert_eq!(explode("pwm1"), Some(("pwm", 1, "")));
    assert_eq!(explode("beep_enable"), Some(("beep_enable", 0, "")));
    assert_eq!(explode("temp01_max"), Some(("temp", 1, "max")));
    assert_eq!(
        explode("power1_average_interval"),
        Some(("power", 1, "average_interval"))
    );
    // The regex backtracks to the last `_` of the type when the rest cannot follow digits.
    assert_eq!(explode("temp_x1y"), Some(("temp", 0, "x1y")));
    assert_eq!(explode("temp1x"), None);
    assert_eq!(explode("temp1_"), None);
    assert_eq!(explode("1temp"), None);
    assert_eq!(explode("temp99999999999999999999_input"), None);
}

#[test]
fn names_are_cleaned_and_sanitized_as_node_exporter_does() {
    assert_eq!(hwmon::clean_metric_name("Weird Name!\n"), "weird_name");
    assert_eq!(hwmon::clean_metric_name("coretemp.0"), "coretemp_0");
    assert_eq!(hwmon::clean_metric_name("__"), "");
    assert_eq!(rapl::sanitize_metric_name("package"), "package");
    assert_eq!(rapl::sanitize_metric_name("a-b"), "a_b");
    assert_eq!(rapl::sanitize_metric_name("a__-._b"), "a_b");
    assert_eq!(rapl::sanitize_metric_name("a-_-b"), "a__b");
    assert_eq!(rapl::sanitize_metric_name("psys_"), "psys_");
}

#[test]
fn rapl_zones_are_indexed_by_suffix_or_by_count() {
    let mut seen = HashMap::new();
    assert_eq!(rapl::index_and_name(&seen, "package-1"), (1, "package"));
    assert_eq!(rapl::index_and_name(&seen, "dram"), (0, "dram"));
    seen.insert("dram".to_owned(), 1);
    assert_eq!(rapl::index_and_name(&seen, "dram"), (1, "dram"));
    assert_eq!(rapl::index_and_name(&seen, "a-b-1"), (0, "a-b-1"));
    assert_eq!(rapl::index_and_name(&seen, "psys-x"), (0, "psys-x"));
}

#[test]
fn power_supply_numbers_take_go_prefixes_and_refuse_text() {
    let mut supply = power_supply::Supply::default();
    power_supply::apply(&mut supply, "capacity_alert_min", "0x5").unwrap();
    power_supply::apply(&mut supply, "status", "Charging").unwrap();
    power_supply::apply(&mut supply, "health", "").unwrap();
    power_supply::apply(&mut supply, "uevent", "POWER_SUPPLY_NAME=BAT0").unwrap();
    assert_eq!(supply.values.len(), 1);
    assert_eq!(supply.values[0].1, 5);
    assert_eq!(supply.strings.len(), 1, "empty strings are no labels");
    assert!(power_supply::apply(&mut supply, "capacity", "full").is_err());
    // Parsed though not exported: a bad value still fails.
    assert!(power_supply::apply(&mut supply, "current_avg", "n/a").is_err());
}

#[test]
fn mdstat_states_disks_and_sync() {
    let stats = mdadm::parse_mdstat(&fixture("proc/mdstat")).unwrap();
    let md = |name: &str| stats.iter().find(|md| md.name == name).unwrap();
    assert_eq!(stats.len(), 12);
    assert_eq!((md("md3").disks_active, md("md3").disks_total), (8, 8));
    assert_eq!((md("md3").disks_spare, md("md3").disks_failed), (2, 0));
    assert_eq!(md("md6").state, "recovering");
    assert_eq!(md("md6").blocks_synced, 16775552);
    assert_eq!(md("md8").state, "resyncing");
    assert_eq!(md("md201").state, "checking");
    assert_eq!(
        (md("md9").state.as_str(), md("md9").blocks_synced),
        ("resyncing", 0)
    );
    assert_eq!(md("md7").state, "active", "the bitmap line is no sync line");
    assert_eq!(md("md7").disks_active, 3);
    assert_eq!((md("md12").disks_active, md("md12").disks_total), (2, 2));
    assert_eq!(md("md120").disks_total, 2, "linear counts its disks");
    assert_eq!(
        (md("md219").state.as_str(), md("md219").disks_total),
        ("inactive", 0)
    );
    assert_eq!(md("md11").state, "resyncing");

    assert!(
        mdadm::parse_mdstat("md0 : active raid1 sda[0]\n").is_err(),
        "too few lines"
    );
    let bad_status = "md0 : active raid1 sda[0] sdb[1]\n      many blocks [2/2] [UU]\n\n\n";
    assert!(mdadm::parse_mdstat(bad_status).is_err());
    let no_counts = "md0 : active raid1 sda[0] sdb[1]\n      100 blocks [2/2]\n\n\n";
    assert!(mdadm::parse_mdstat(no_counts).is_err());
    let bad_sync = "md0 : active raid1 sda[0]\n      100 blocks [2/2] [UU]\n      resync = x\n\n";
    assert!(mdadm::parse_mdstat(bad_sync).is_err());
    assert!(
        mdadm::parse_mdstat("md0 : \n\n\n\n").is_err(),
        "fewer than 3 fields"
    );
    assert_eq!(
        mdadm::parse_mdstat("Personalities : [raid1]\nunused devices: <none>\n").unwrap(),
        []
    );
}

#[test]
fn xfs_lines_are_checked_as_procfs_checks_them() {
    let text = fixture("sys/fs/xfs/sda1/stats/stats");
    let values = xfs::parse_stats(&text).unwrap();
    assert_eq!(values[0], 92447, "extent_alloc's first value");
    assert!(xfs::parse_stats("abt 1 2 3\n").is_err(), "abt has 4 values");
    assert!(
        xfs::parse_stats("fibt2 4294967296\n").is_err(),
        "32-bit values"
    );
    assert!(
        xfs::parse_stats("xpc 4294967296 1 2\n").is_ok(),
        "64-bit on xpc"
    );
    assert!(
        xfs::parse_stats("vnodes 1 2 3 4 5 6 7\n").is_ok(),
        "without `free`"
    );
    assert!(xfs::parse_stats("qm 1 2 3 4 5 6 7 8 9 10\n").is_err());
    assert!(xfs::parse_stats("label\nunknown x\n").is_err());
    assert!(
        xfs::parse_stats("lonely\n\n").is_ok(),
        "a line without values is skipped"
    );
}

#[test]
fn nfs_client_lines() {
    let stats = nfs::parse_client(&fixture("proc/net/rpc/nfs")).unwrap();
    assert_eq!(stats.network, [18628, 0, 18628, 6]);
    assert_eq!(stats.v2, [0; 18], "no proc2 line on this kernel");
    assert_eq!(
        stats.v4[58], 158,
        "the 59th of 69 values; the rest are not exported"
    );
    // An older kernel counts fewer NFSv4 procedures: the missing ones are zero.
    let old = nfs::parse_client("proc4 3 7 8 9\n").unwrap();
    assert_eq!(&old.v4[..4], &[7, 8, 9, 0]);
    assert!(
        nfs::parse_client("proc3 3 1 2 3\n").is_err(),
        "NFSv3 needs 22"
    );
    assert!(
        nfs::parse_client("proc4 3 1 2\n").is_err(),
        "count and values differ"
    );
    assert!(
        nfs::parse_client("net 1 2 3 4\n\nrpc 1 2 3\n").is_err(),
        "an empty line"
    );
    assert!(nfs::parse_client("rpc 1 2\n").is_err());
    assert!(nfs::parse_client("rpc 1 2 -3\n").is_err());
    assert_eq!(nfs::parse_client("").unwrap(), nfs::ClientStats::default());
}

#[test]
fn nfs_server_lines() {
    let stats = nfsd::parse_server(&fixture("proc/net/rpc/nfsd")).unwrap();
    assert_eq!(
        stats.threads,
        [8, 0],
        "th's fractional histogram is ignored"
    );
    assert_eq!(stats.io, [157286400, 72864]);
    assert_eq!(stats.v4_ops[37], 37 * 7, "RelLockOwner is operation 39");
    assert!(nfsd::parse_server("th 8\n").is_err());
    assert!(
        nfsd::parse_server("proc4 3 1 2 3\n").is_err(),
        "NFSv4 has 2 procedures"
    );
    assert!(
        nfsd::parse_server("proc4ops 2 1 2\n").is_err(),
        "at least 39 operations"
    );
    assert!(nfsd::parse_server("ra 32 0\n").is_err());
    assert!(
        nfsd::parse_server("wdeleg_getattr 0\n").is_err(),
        "a line procfs 0.8 lacks"
    );
}

#[test]
fn zfs_kstat_files() {
    let mut rows = Vec::new();
    zfs::parse_kstats(&fixture("proc/spl/kstat/zfs/abdstats"), |name, value| {
        rows.push((name.to_owned(), value));
    })
    .unwrap();
    assert_eq!(rows[0], ("struct_size".to_owned(), 2520));
    assert!(
        zfs::parse_kstats("hits 4 1\n", |_, _| {}).is_err(),
        "no header"
    );
    let bad = "name type data\nhits 4 many\n";
    assert!(zfs::parse_kstats(bad, |_, _| {}).is_err());
    let typed = "name type data\nname 7 text\nsigned 3 -4\nhits 4 9\n";
    let mut count = 0;
    zfs::parse_kstats(typed, |_, _| count += 1).unwrap();
    assert_eq!(count, 1, "only uint64 kstats");

    let io = fixture("proc/spl/kstat/zfs/pool1/io");
    let mut columns = Vec::new();
    zfs::parse_pool_io(&io, |name, value| columns.push((name, value))).unwrap();
    assert_eq!(columns.len(), 12);
    assert_eq!(columns[1], ("nwritten", 3206144));
    let short = "nread a b c d e f g h i j k\n1 2\n";
    assert!(zfs::parse_pool_io(short, |_, _| {}).is_err());

    let mut datasets = Vec::new();
    let objset = "name type data\nwrites 4 1\ndataset_name 7 pool/a b\nreads 4 2\n";
    zfs::parse_objset(objset, |dataset, name, value| {
        datasets.push((dataset, name, value))
    })
    .unwrap();
    assert_eq!(
        datasets,
        [(None, "writes", 1), (Some("pool/a"), "reads", 2)]
    );
}
