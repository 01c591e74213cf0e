//! Encoding a cycle: the job and `instance` given at encoding time come out exactly as when
//! they were copied into every series first.

use super::*;
use peeper_proto::codec::{Encoding, decode_write_request};

fn cycle() -> (Vec<MetricFamily>, Vec<MetricFamily>) {
    let linux = vec![
        MetricFamily::gauge("node_load1", "h").with(&[], 0.5),
        // A series' own `job` wins over the collector's.
        MetricFamily::gauge("m", "h").with(&[("job", "own"), ("z", "1"), ("a", "2")], 1.0),
    ];
    let agent = vec![MetricFamily::counter("peeper_agent_x_total", "h").with(&[("b", "c")], 2.0)];
    (linux, agent)
}

/// The families as they used to be labelled: `job` and `instance` added to each series.
fn labelled_by_copy(groups: [(&str, Vec<MetricFamily>); 2], instance: &str) -> Vec<MetricFamily> {
    let mut all = Vec::new();
    for (job, mut families) in groups {
        for family in &mut families {
            family.add_label("job", job);
            family.add_label("instance", instance);
        }
        all.extend(families);
    }
    all
}

#[test]
fn batches_carry_job_and_instance_as_if_copied_into_every_series() {
    let (linux, agent) = cycle();
    let groups = [
        JobFamilies::new("linux", linux.clone()),
        JobFamilies::new("agent", agent.clone()),
    ];
    let batches = make_batches(&groups, "h1");
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].samples, 3);
    let sent = decode_write_request(&batches[0].body, Encoding::Snappy, 1 << 20).unwrap();
    let timestamp = sent.timeseries[0].samples[0].timestamp;
    let copied = labelled_by_copy([("linux", linux), ("agent", agent)], "h1");
    assert_eq!(sent, to_write_request(&copied, &[], timestamp));
}

#[test]
fn printed_text_carries_job_and_instance_as_if_copied_into_every_series() {
    let (linux, agent) = cycle();
    let groups = [
        JobFamilies::new("linux", linux.clone()),
        JobFamilies::new("agent", agent.clone()),
    ];
    let copied = labelled_by_copy([("linux", linux), ("agent", agent)], "h1");
    assert_eq!(exposition(&groups, "h1"), encode_text(&copied, &[]));
}

#[test]
fn a_large_cycle_is_split_into_batches_in_order() {
    let mut family = MetricFamily::gauge("m", "h");
    for i in 0..MAX_SERIES_PER_BATCH + 1 {
        family.push(&[("i", &i.to_string())], 1.0);
    }
    let groups = [
        JobFamilies::new("linux", vec![family]),
        JobFamilies::new("agent", vec![MetricFamily::gauge("n", "h").with(&[], 1.0)]),
    ];
    let batches = make_batches(&groups, "h1");
    let samples: Vec<u64> = batches.iter().map(|b| b.samples).collect();
    assert_eq!(samples, [MAX_SERIES_PER_BATCH as u64, 2]);
}
