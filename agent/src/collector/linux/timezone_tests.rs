//! The local time zone as Go finds it: TZif files built here, the host's zone files, and the
//! same instants through the C library (`date`).

use super::timezone::{Location, posix_rule_zone};
use std::path::Path;
use std::process::Command;

/// 2026-01-15 and 2026-07-15, 12:00 UTC.
const WINTER: i64 = 1_768_478_400;
const SUMMER: i64 = 1_784_116_800;

/// A version 2 TZif file: no 32-bit data, then `zones` (offset, is_dst, abbreviation) and
/// `transitions` (instant, zone index) in 64-bit data, then `footer`.
fn tzif(zones: &[(i32, bool, &str)], transitions: &[(i64, u8)], footer: &str) -> Vec<u8> {
    let mut chars = Vec::new();
    let mut infos = Vec::new();
    for (offset, dst, name) in zones {
        infos.extend_from_slice(&offset.to_be_bytes());
        infos.push(u8::from(*dst));
        infos.push(u8::try_from(chars.len()).unwrap());
        chars.extend_from_slice(name.as_bytes());
        chars.push(0);
    }
    let header = |times: usize, types: usize, chars: usize| {
        let mut h = b"TZif2".to_vec();
        h.extend_from_slice(&[0; 15]);
        for count in [0, 0, 0, times, types, chars] {
            h.extend_from_slice(&u32::try_from(count).unwrap().to_be_bytes());
        }
        h
    };
    let mut data = header(0, 0, 0);
    data.extend(header(transitions.len(), zones.len(), chars.len()));
    for (at, _) in transitions {
        data.extend_from_slice(&at.to_be_bytes());
    }
    data.extend(transitions.iter().map(|(_, index)| *index));
    data.extend(infos);
    data.extend(chars);
    data.extend(format!("\n{footer}\n").into_bytes());
    data
}

fn zone(name: &str, offset: i64) -> (String, i64) {
    (name.to_owned(), offset)
}

#[test]
fn a_daylight_saving_zone_changes_with_the_seasons() {
    let berlin = tzif(&[(3600, false, "CET")], &[], "CET-1CEST,M3.5.0,M10.5.0/3");
    let berlin = Location::parse(&berlin).unwrap();
    assert_eq!(berlin.lookup(WINTER), zone("CET", 3600));
    assert_eq!(berlin.lookup(SUMMER), zone("CEST", 7200));
    // 2026-03-29 01:00 UTC (02:00 CET) and 2026-10-25 01:00 UTC (03:00 CEST).
    assert_eq!(berlin.lookup(1_774_746_000 - 1), zone("CET", 3600));
    assert_eq!(berlin.lookup(1_774_746_000), zone("CEST", 7200));
    assert_eq!(berlin.lookup(1_792_890_000 - 1), zone("CEST", 7200));
    assert_eq!(berlin.lookup(1_792_890_000), zone("CET", 3600));

    // The southern hemisphere: daylight time spans the new year.
    let sydney = "AEST-10AEDT,M10.1.0,M4.1.0/3";
    assert_eq!(posix_rule_zone(sydney, WINTER), Some(zone("AEDT", 39600)));
    assert_eq!(posix_rule_zone(sydney, SUMMER), Some(zone("AEST", 36000)));
    // Negative daylight saving time: Irish standard time is the summer one.
    let dublin = "IST-1GMT0,M10.5.0,M3.5.0/1";
    assert_eq!(posix_rule_zone(dublin, WINTER), Some(zone("GMT", 0)));
    assert_eq!(posix_rule_zone(dublin, SUMMER), Some(zone("IST", 3600)));
}

#[test]
fn posix_rules_parse_as_go_parses_them() {
    assert_eq!(posix_rule_zone("UTC0", SUMMER), Some(zone("UTC", 0)));
    assert_eq!(posix_rule_zone("<+03>-3", SUMMER), Some(zone("+03", 10800)));
    assert_eq!(
        posix_rule_zone("<+0530>-5:30", SUMMER),
        Some(zone("+0530", 19800))
    );
    assert_eq!(posix_rule_zone("EST5", SUMMER), Some(zone("EST", -18000)));
    // No rule: tzcode's US default (second Sunday of March to first of November), and the
    // daylight offset one hour east of standard.
    assert_eq!(
        posix_rule_zone("EST5EDT", SUMMER),
        Some(zone("EDT", -14400))
    );
    assert_eq!(
        posix_rule_zone("EST5EDT", WINTER),
        Some(zone("EST", -18000))
    );
    // Julian and zero-based day rules.
    assert_eq!(
        posix_rule_zone("XST0XDT,J60,J300", SUMMER),
        Some(zone("XDT", 3600))
    );
    assert_eq!(
        posix_rule_zone("XST0XDT,59,299", WINTER),
        Some(zone("XST", 0))
    );
    for bad in [
        "",
        "AB1",
        "CET",
        "CET-1CEST,M3.5.0",
        "CET-1CEST,M13.5.0,M10.5.0",
        "<CET",
    ] {
        assert_eq!(posix_rule_zone(bad, SUMMER), None, "{bad:?}");
    }
}

#[test]
fn transitions_come_before_the_footer() {
    // A zone that left daylight saving time in 2016: two transitions, then a fixed footer.
    let zones = [
        (7200, false, "EET"),
        (10800, true, "EEST"),
        (10800, false, "+03"),
    ];
    let data = tzif(&zones, &[(1_459_040_400, 1), (1_477_789_200, 2)], "<+03>-3");
    let location = Location::parse(&data).unwrap();
    assert_eq!(
        location.lookup(1_400_000_000),
        zone("EET", 7200),
        "before any transition"
    );
    assert_eq!(location.lookup(1_470_000_000), zone("EEST", 10800));
    assert_eq!(location.lookup(SUMMER), zone("+03", 10800));
    // Malformed files are refused (and Go then uses UTC).
    assert!(Location::parse(b"TZif2 short").is_none());
    assert!(
        Location::parse(&tzif(&[], &[], "UTC0")).is_none(),
        "no zones"
    );
    assert!(Location::parse(b"JUNK").is_none());
    assert_eq!(Location::utc().lookup(SUMMER), zone("UTC", 0));
}

#[test]
fn tz_selects_the_zone_as_go_does() {
    let berlin = Location::local(Some("Europe/Berlin"));
    assert_eq!(
        berlin.lookup(SUMMER),
        zone("CEST", 7200),
        "needs Debian's tzdata"
    );
    assert_eq!(Location::local(Some(":Europe/Berlin")), berlin);
    assert_eq!(
        Location::local(Some("/usr/share/zoneinfo/Europe/Berlin")),
        berlin
    );
    assert_eq!(Location::local(Some("")), Location::utc());
    assert_eq!(Location::local(Some("UTC")), Location::utc());
    assert_eq!(Location::local(Some("No/Such_Zone")), Location::utc());
    // Go does not read POSIX rules from TZ itself.
    assert_eq!(
        Location::local(Some("CET-1CEST,M3.5.0,M10.5.0/3")),
        Location::utc()
    );
}

/// Zones with daylight saving time in both hemispheres, negative DST, half hours, and
/// transitions listed far ahead (Casablanca), compared with the C library over 2000-2040.
const ZONES: [&str; 10] = [
    "Europe/Berlin",
    "Australia/Sydney",
    "America/New_York",
    "America/Santiago",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Kolkata",
];

#[test]
fn the_host_zone_files_give_what_the_c_library_gives() {
    let start = 946_684_800; // 2000-01-01
    let instants: Vec<i64> = (0..2000).map(|i| start + i * 631_139).collect();
    let input: String = instants.iter().map(|s| format!("@{s}\n")).collect();
    let input_path = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input_path.path(), input).unwrap();
    for name in ZONES {
        let file = Path::new("/usr/share/zoneinfo").join(name);
        let data = std::fs::read(&file).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; install Debian's zone files: apt-get install tzdata",
                file.display()
            )
        });
        let location = Location::parse(&data).unwrap();
        let output = Command::new("date")
            .env("TZ", name)
            .args(["-f"])
            .arg(input_path.path())
            .arg("+%Z %z")
            .output()
            .expect("run date (coreutils)");
        assert!(output.status.success(), "{output:?}");
        let lines = String::from_utf8(output.stdout).unwrap();
        for (sec, line) in instants.iter().zip(lines.lines()) {
            let (abbreviation, numeric) = line.split_once(' ').unwrap();
            let sign = if numeric.starts_with('-') { -1 } else { 1 };
            let hours: i64 = numeric[1..3].parse().unwrap();
            let minutes: i64 = numeric[3..5].parse().unwrap();
            let expected = zone(abbreviation, sign * (hours * 3600 + minutes * 60));
            assert_eq!(location.lookup(*sec), expected, "{name} at {sec}");
        }
    }
}
