//! The local time zone as Go's `time.Local` has it, for node_exporter's
//! `node_time_zone_offset_seconds{time_zone}` (`time.Now().Zone()`): the zone abbreviation and
//! offset in effect now, daylight saving time included (`CET` 3600 in winter, `CEST` 7200 in
//! summer). Go 1.19's rules (zoneinfo_unix.go, zoneinfo_read.go, zoneinfo.go): `TZ` unset
//! reads `/etc/localtime`, `TZ=""` is UTC, `TZ=/path` or `TZ=:/path` reads that file,
//! `TZ=Name` reads `/usr/share/zoneinfo/Name`; a file that is missing or not TZif is UTC. The
//! instant is looked up in the file's transitions, and after the last one in the rule of its
//! footer (`CET-1CEST,M3.5.0,M10.5.0/3`).

const SECONDS_PER_DAY: i64 = 86_400;

/// Where Go looks for a zone named by `TZ`, in order.
const ZONE_SOURCES: [&str; 3] = [
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
];

/// One local time type of a TZif file.
#[derive(Debug, Clone, PartialEq)]
struct Zone {
    name: String,
    offset: i64,
    is_dst: bool,
}

/// A zone file's time types, transitions (instant, type index) and footer rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    zones: Vec<Zone>,
    transitions: Vec<(i64, usize)>,
    extend: String,
}

/// Reads big-endian numbers off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

impl Location {
    /// Go's UTC: no zones at all.
    pub fn utc() -> Self {
        Location {
            zones: Vec::new(),
            transitions: Vec::new(),
            extend: String::new(),
        }
    }

    /// Go's `LoadLocationFromTZData`: `None` where Go refuses the data.
    pub fn parse(data: &[u8]) -> Option<Self> {
        let mut d = Reader(data);
        if d.take(4)? != b"TZif" {
            return None;
        }
        let version = match d.take(16)?[0] {
            0 => 1,
            b'2' => 2,
            b'3' => 3,
            _ => return None,
        };
        let mut counts = [0usize; 6];
        let read_counts = |d: &mut Reader<'_>, counts: &mut [usize; 6]| -> Option<()> {
            for count in counts.iter_mut() {
                *count = usize::try_from(d.u32()?).ok()?;
            }
            Some(())
        };
        read_counts(&mut d, &mut counts)?;
        // Counts: UT/local and standard/wall indicators, leap seconds, transitions, zones,
        // abbreviation characters.
        let [utc_local, std_wall, leap, times, zones, chars] = counts;
        let mut size = 4;
        if version > 1 {
            // Skip the 32-bit data and the second header, then read the 64-bit data.
            let skip = times * 5 + zones * 6 + chars + leap * 8 + std_wall + utc_local + 20;
            d.take(skip)?;
            read_counts(&mut d, &mut counts)?;
            size = 8;
        }
        let [utc_local, std_wall, leap, times, zones, chars] = counts;
        let mut when = Reader(d.take(times * size)?);
        let indices = d.take(times)?;
        let mut zone_data = Reader(d.take(zones * 6)?);
        let abbreviations = d.take(chars)?;
        d.take(leap * (size + 4) + std_wall + utc_local)?;
        let rest = d.0;
        let extend = match rest {
            [b'\n', footer @ .., b'\n'] if rest.len() > 2 => {
                String::from_utf8_lossy(footer).into_owned()
            }
            _ => String::new(),
        };
        if zones == 0 {
            return None;
        }
        let mut zone_list = Vec::with_capacity(zones);
        for _ in 0..zones {
            let offset = i64::from(zone_data.u32()? as i32);
            let info = zone_data.take(2)?;
            let start = usize::from(info[1]);
            if start >= abbreviations.len() {
                return None;
            }
            let name = &abbreviations[start..];
            let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
            zone_list.push(Zone {
                name: String::from_utf8_lossy(&name[..end]).into_owned(),
                offset,
                is_dst: info[0] != 0,
            });
        }
        let mut transitions = Vec::with_capacity(times.max(1));
        for &index in indices {
            let at = if size == 4 {
                i64::from(when.u32()? as i32)
            } else {
                when.i64()?
            };
            let index = usize::from(index);
            if index >= zones {
                return None;
            }
            transitions.push((at, index));
        }
        if transitions.is_empty() {
            // A fixed zone: one transition at the beginning of time.
            transitions.push((i64::MIN, 0));
        }
        Some(Location {
            zones: zone_list,
            transitions,
            extend,
        })
    }

    /// Go's `initLocal`: the local zone as `TZ` (the value of the variable, `None` when
    /// unset) selects it.
    pub fn local(tz: Option<&str>) -> Self {
        let load = |path: &str| std::fs::read(path).ok().and_then(|d| Self::parse(&d));
        let found = match tz {
            None => load("/etc/localtime"),
            Some(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(tz);
                if tz.starts_with('/') {
                    load(tz)
                } else if !tz.is_empty() && tz != "UTC" {
                    ZONE_SOURCES
                        .iter()
                        .find_map(|dir| load(&format!("{dir}/{tz}")))
                } else {
                    None
                }
            }
        };
        found.unwrap_or_else(Self::utc)
    }

    /// Go's `Location.lookup`: the abbreviation and offset east of UTC (seconds) in effect
    /// at `sec`, seconds since the epoch.
    pub fn lookup(&self, sec: i64) -> (String, i64) {
        if self.zones.is_empty() {
            return ("UTC".to_owned(), 0);
        }
        let first = self.transitions[0].0;
        if sec < first {
            let zone = &self.zones[self.first_zone()];
            return (zone.name.clone(), zone.offset);
        }
        // The last transition at or before `sec`.
        let last = self.transitions.partition_point(|(at, _)| *at <= sec) - 1;
        let zone = &self.zones[self.transitions[last].1];
        if last == self.transitions.len() - 1
            && !self.extend.is_empty()
            && let Some(found) = posix_rule_zone(&self.extend, sec)
        {
            return found;
        }
        (zone.name.clone(), zone.offset)
    }

    /// Go's `lookupFirstZone`: the zone before the first transition.
    fn first_zone(&self) -> usize {
        if !self.transitions.iter().any(|(_, index)| *index == 0) {
            return 0;
        }
        let first = self.transitions[0].1;
        if self.zones[first].is_dst
            && let Some(index) = (0..first).rev().find(|i| !self.zones[*i].is_dst)
        {
            return index;
        }
        self.zones.iter().position(|z| !z.is_dst).unwrap_or(0)
    }
}

/// A transition rule of a POSIX TZ string.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// `Jn`: day 1..=365, February 29th never counted.
    Julian(i64),
    /// `n`: day 0..=365, counting February 29th.
    DayOfYear(i64),
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    MonthWeekDay { month: i64, week: i64, day: i64 },
}

/// A number between `min` and `max` at the start of `s`, and the rest (Go's `tzsetNum`).
fn number(s: &str, min: i64, max: i64) -> Option<(i64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let mut value = 0i64;
    for digit in s[..end].bytes() {
        value = value * 10 + i64::from(digit - b'0');
        if value > max {
            return None;
        }
    }
    (value >= min).then_some((value, &s[end..]))
}

/// A zone name (`CET`, `<+03>`) at the start of `s` (Go's `tzsetName`).
fn name(s: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = s.strip_prefix('<') {
        let end = quoted.find('>')?;
        return Some((&quoted[..end], &quoted[end + 1..]));
    }
    let end = s
        .find(|c: char| c.is_ascii_digit() || matches!(c, ',' | '-' | '+'))
        .unwrap_or(s.len());
    (end >= 3).then(|| (&s[..end], &s[end..]))
}

/// `[+-]hh[:mm[:ss]]` in seconds at the start of `s` (Go's `tzsetOffset`).
fn offset(s: &str) -> Option<(i64, &str)> {
    let (negative, s) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let (hours, mut rest) = number(s, 0, 24 * 7)?;
    let mut seconds = hours * 3600;
    for unit in [60, 1] {
        let Some(more) = rest.strip_prefix(':') else {
            break;
        };
        let (value, after) = number(more, 0, 59)?;
        seconds += value * unit;
        rest = after;
    }
    Some((if negative { -seconds } else { seconds }, rest))
}

/// A rule and its time of day (default 02:00) at the start of `s` (Go's `tzsetRule`).
fn rule(s: &str) -> Option<(Rule, i64, &str)> {
    let (rule, rest) = if let Some(day) = s.strip_prefix('J') {
        let (day, rest) = number(day, 1, 365)?;
        (Rule::Julian(day), rest)
    } else if let Some(month) = s.strip_prefix('M') {
        let (month, rest) = number(month, 1, 12)?;
        let (week, rest) = number(rest.strip_prefix('.')?, 1, 5)?;
        let (day, rest) = number(rest.strip_prefix('.')?, 0, 6)?;
        (Rule::MonthWeekDay { month, week, day }, rest)
    } else {
        let (day, rest) = number(s, 0, 365)?;
        (Rule::DayOfYear(day), rest)
    };
    match rest.strip_prefix('/') {
        Some(time) => {
            let (time, rest) = offset(time)?;
            Some((rule, time, rest))
        }
        None => Some((rule, 2 * 3600, rest)),
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days before each month in a common year.
const DAYS_BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

fn days_in(month: i64, year: i64) -> i64 {
    if month == 2 && is_leap(year) {
        return 29;
    }
    DAYS_BEFORE[month as usize] - DAYS_BEFORE[month as usize - 1]
}

/// Seconds from the start of `year` (UTC) to the moment `rule` takes effect, with `off` the
/// offset in effect before it (Go's `tzruleTime`).
fn rule_time(year: i64, rule: Rule, time: i64, off: i64) -> i64 {
    let day = match rule {
        Rule::Julian(day) => day - 1 + i64::from(is_leap(year) && day >= 60),
        Rule::DayOfYear(day) => day,
        Rule::MonthWeekDay { month, week, day } => {
            // Zeller's congruence: the weekday of the month's first day.
            let m1 = (month + 9) % 12 + 1;
            let yy0 = if month <= 2 { year - 1 } else { year };
            let (yy1, yy2) = (yy0 / 100, yy0 % 100);
            let dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1).rem_euclid(7);
            let mut d = (day - dow).rem_euclid(7);
            for _ in 1..week {
                if d + 7 >= days_in(month, year) {
                    break;
                }
                d += 7;
            }
            d + DAYS_BEFORE[month as usize - 1] + i64::from(is_leap(year) && month > 2)
        }
    };
    day * SECONDS_PER_DAY + time - off
}

/// The civil year of a day counted from 1970-01-01, and that day's index within its year.
fn year_and_day(days: i64) -> (i64, i64) {
    // Howard Hinnant's days_from_civil, inverted for the year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let before = DAYS_BEFORE[month as usize - 1] + i64::from(is_leap(year) && month > 2);
    let day_of_month = doy - (153 * mp + 2) / 5;
    (year, before + day_of_month)
}

/// The zone a POSIX TZ string (a TZif footer) puts `sec` in (Go's `tzset`): `None` where Go
/// cannot parse it.
pub fn posix_rule_zone(s: &str, sec: i64) -> Option<(String, i64)> {
    let (std_name, rest) = name(s)?;
    let (std_offset, rest) = offset(rest)?;
    // POSIX offsets are west of UTC; Go's are east.
    let std_offset = -std_offset;
    if rest.is_empty() || rest.starts_with(',') {
        return Some((std_name.to_owned(), std_offset));
    }
    let (dst_name, rest) = name(rest)?;
    let (dst_offset, rest) = if rest.is_empty() || rest.starts_with(',') {
        (std_offset + 3600, rest)
    } else {
        let (dst, rest) = offset(rest)?;
        (-dst, rest)
    };
    // tzcode's default rules, and its ';' as well as ','.
    let rest = if rest.is_empty() {
        ",M3.2.0,M11.1.0"
    } else {
        rest
    };
    let rest = rest.strip_prefix([',', ';'])?;
    let (start_rule, start_time, rest) = rule(rest)?;
    let (end_rule, end_time, rest) = rule(rest.strip_prefix(',')?)?;
    if !rest.is_empty() {
        return None;
    }
    let (year, day) = year_and_day(sec.div_euclid(SECONDS_PER_DAY));
    // As Go: the UTC second of the year, compared with each rule's moment in UTC.
    let second_of_year = day * SECONDS_PER_DAY + sec % SECONDS_PER_DAY;
    let mut start = rule_time(year, start_rule, start_time, std_offset);
    let mut end = rule_time(year, end_rule, end_time, dst_offset);
    let (mut std, mut dst) = ((std_name, std_offset), (dst_name, dst_offset));
    // Southern hemisphere: daylight time spans the new year.
    if end < start {
        std::mem::swap(&mut start, &mut end);
        std::mem::swap(&mut std, &mut dst);
    }
    let (zone, zone_offset) = if second_of_year < start || second_of_year >= end {
        std
    } else {
        dst
    };
    Some((zone.to_owned(), zone_offset))
}
