use super::*;
use crate::collector::{CollectError, CollectFuture, CollectorConfig, Cycle};
use crate::settings::{ConfigError, EnvLookup};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many times the collector below was built.
static BUILT: AtomicUsize = AtomicUsize::new(0);

/// A collector whose first instance panics in its first cycle.
#[derive(Debug, Clone, PartialEq)]
struct Flaky;

impl CollectorConfig for Flaky {
    const SECTION: &'static str = "flaky";
    type File = ();

    fn resolve(_: Option<()>, _: EnvLookup<'_>) -> Result<Self, ConfigError> {
        Ok(Flaky)
    }

    fn enabled(&self) -> bool {
        true
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(FlakyCollector {
            instance: BUILT.fetch_add(1, Ordering::SeqCst),
        })
    }
}

#[derive(Debug)]
struct FlakyCollector {
    instance: usize,
}

impl Collector for FlakyCollector {
    fn job(&self) -> &'static str {
        "flaky"
    }

    fn collect(&mut self, _: Cycle) -> CollectFuture<'_> {
        Box::pin(async move {
            assert!(self.instance > 0, "a bug in the first instance");
            let family = MetricFamily::gauge("flaky_up", "Up.").with(&[], 1.0);
            Ok::<_, CollectError>(vec![family])
        })
    }
}

#[tokio::test]
async fn a_collector_that_panics_is_counted_and_built_anew_for_its_next_cycle() {
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
        "peeper-agent",
        "--once",
        "--print",
        "--instance",
        "test",
    ])
    .unwrap();
    let config = Arc::new(AgentConfig::try_new(&cli, &|_| None, false).unwrap());
    let stats = Arc::new(AgentStats::default());
    let spec: Arc<dyn Spec> = Arc::new(Flaky);

    let (idle, families) = run_cycle(None, &spec, &config, &stats).await;
    assert!(
        idle.is_none() && families.families.is_empty(),
        "the panicking cycle"
    );
    let (idle, families) = run_cycle(idle, &spec, &config, &stats).await;
    assert!(idle.is_some(), "the new collector works");
    assert_eq!(families.families[0].name, "flaky_up");
    assert_eq!(BUILT.load(Ordering::SeqCst), 2);

    let panics = stats
        .families()
        .into_iter()
        .find(|f| f.name == "peeper_agent_collector_panics_total")
        .unwrap();
    assert_eq!(panics.find(&[("collector", "flaky")]).unwrap().value, 1.0);
}

#[test]
fn loops_of_one_agent_tick_at_the_same_phase_whenever_they_start() {
    let interval = Duration::from_secs(15);
    let phase = 0.4; // 6 s into every 15 s
    let at = |secs: f64| phase_delay(interval, phase, Duration::from_secs_f64(secs));
    // Started at 1 000 000 010 s (10 s into a period): the next 6 s mark is 11 s away.
    assert_eq!(at(999_999_990.0 + 10.0).as_secs_f64().round(), 11.0);
    // Started 3 s later, the loop still lands on the same instants.
    let first = 999_999_990.0 + 10.0 + at(999_999_990.0 + 10.0).as_secs_f64();
    let second = 999_999_990.0 + 13.0 + at(999_999_990.0 + 13.0).as_secs_f64();
    assert!((first - second).abs() < 1e-3, "{first} {second}");
    assert!(at(999_999_990.0 + 5.0) < interval);
    assert_eq!(
        phase_delay(Duration::ZERO, phase, Duration::from_secs(5)),
        Duration::ZERO
    );
}
