//! Metric names and help texts that node_exporter derives from a file's own field names
//! (`node_vmstat_<field>`, `node_netstat_<Protocol>_<Name>`, `node_sockstat_<PROTO>_<key>`),
//! built once and kept between cycles instead of formatted again every cycle.

use peeper_proto::{MetricFamily, MetricKind};
use std::collections::HashMap;

/// One derived name, keyed by the (group, field) it was made from.
#[derive(Debug)]
struct Entry {
    group: String,
    field: String,
    name: String,
    help: String,
}

#[derive(Debug, Default)]
pub struct NameCache {
    entries: Vec<Entry>,
    /// Where the next lookup of this cycle most likely is: files keep their order, so the
    /// entries are met in the order they were made.
    next: usize,
}

impl NameCache {
    /// Starts a cycle's lookups from the first entry.
    pub fn rewind(&mut self) {
        self.next = 0;
    }

    /// The name and help of `group`/`field`, made by `make` the first time they are met.
    pub fn get(
        &mut self,
        group: &str,
        field: &str,
        make: impl FnOnce() -> (String, String),
    ) -> (&str, &str) {
        let hit = |entry: &Entry| entry.field == field && entry.group == group;
        let position = match self.entries.get(self.next) {
            Some(entry) if hit(entry) => Some(self.next),
            _ => self.entries.iter().position(hit),
        };
        let position = position.unwrap_or_else(|| {
            let (name, help) = make();
            self.entries.push(Entry {
                group: group.to_owned(),
                field: field.to_owned(),
                name,
                help,
            });
            self.entries.len() - 1
        });
        self.next = position + 1;
        let entry = &self.entries[position];
        (&entry.name, &entry.help)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The families of one cycle by name, for areas whose names come from what they read
/// (hwmon's sensors, power supplies' attributes, ZFS kstats): however often a name is met,
/// its series go to one family, as node_exporter's registry merges them.
#[derive(Debug, Default)]
pub struct Families {
    list: Vec<MetricFamily>,
    index: HashMap<String, usize>,
}

impl Families {
    /// Adds a series to the family `name`, made with `help` and `kind` when first met (a
    /// later, different help is ignored).
    pub fn push(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricKind,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let position = match self.index.get(name) {
            Some(position) => *position,
            None => {
                self.list.push(MetricFamily::new(name, help, kind));
                self.index.insert(name.to_owned(), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        self.list[position].push(labels, value);
    }

    /// Moves this cycle's families to `out`, leaving the set empty for the next cycle.
    pub fn drain_into(&mut self, out: &mut Vec<MetricFamily>) {
        self.index.clear();
        out.append(&mut self.list);
    }
}
