//! The Docker collector: cAdvisor's `container_*` families for every running container
//! (labels `name`, `image`, `id`, and `container_label_<name>` for configured labels), Peeper's
//! state families for every container (`container_state`, `container_health_status`,
//! `container_restart_count`, `container_exit_code`) and the engine's totals
//! (`docker_up`, `docker_containers`, `docker_images`, `docker_engine_info`).
//!
//! Everything comes from the engine's API over its Unix socket: one container list and one
//! `info` per cycle, then one-shot stats (`stream=false&one-shot=true`, which works on cgroup
//! v1 and v2, rootless engines and inside a container) and `inspect` per running container,
//! a few at a time.

pub mod config;
mod metrics;
mod text;

#[cfg(test)]
mod tests;

pub use config::DockerConfig;

use super::{CollectFuture, Collector, Cycle};
use bollard::Docker;
use bollard::models::{ContainerInspectResponse, ContainerStatsResponse, ContainerSummary};
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions, StatsOptions};
use futures_util::StreamExt;
use metrics::Families;
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds bollard waits for one API request.
const REQUEST_TIMEOUT_SECS: u64 = 8;
/// Containers whose stats are fetched at the same time.
const PARALLEL: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "the Docker socket {0} does not exist: is Docker installed and running here? \
         (set PEEPER_DOCKER_SOCKET / docker.socket if it lives elsewhere)"
    )]
    SocketMissing(PathBuf),
    #[error(
        "permission denied on the Docker socket {0}: add the agent's user to the `docker` \
         group (usermod -aG docker <user>, then restart the agent) or run it as root"
    )]
    PermissionDenied(PathBuf),
    #[error("the Docker engine does not answer on {path}: {source}")]
    Unreachable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Docker API request {what} failed: {source}")]
    Api {
        what: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
}

/// The Docker collector (`job="docker"`).
#[derive(Debug)]
pub struct DockerCollector {
    config: DockerConfig,
    /// The client, kept while the engine answers.
    engine: Option<Docker>,
    /// Whether the engine is out (logged when that starts and ends).
    streak: FailureStreak,
    /// Block device names by major and minor number.
    devices: Arc<Mutex<HashMap<(u64, u64), String>>>,
}

impl DockerCollector {
    pub fn new(config: &DockerConfig) -> Self {
        DockerCollector {
            config: config.clone(),
            engine: None,
            streak: FailureStreak::default(),
            devices: Arc::default(),
        }
    }

    /// Why the socket cannot be used, found by connecting to it directly.
    async fn probe(&self) -> DockerError {
        let path = self.config.socket.clone();
        match tokio::net::UnixStream::connect(&path).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DockerError::SocketMissing(path),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                DockerError::PermissionDenied(path)
            }
            Err(source) => DockerError::Unreachable { path, source },
            Ok(_) => DockerError::Unreachable {
                path,
                source: std::io::Error::other("the socket accepts connections but the API failed"),
            },
        }
    }

    async fn connect(&self) -> Result<Docker, DockerError> {
        let path = self.config.socket.to_string_lossy().into_owned();
        // Fails at once when the socket is missing: Docker is not there (yet).
        let docker =
            Docker::connect_with_unix(&path, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
                .map_err(|_| DockerError::SocketMissing(self.config.socket.clone()))?;
        // Speak the engine's API version when it is older than bollard's.
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|source| DockerError::Api {
                what: "/version",
                source,
            })?;
        Ok(docker)
    }

    async fn scrape(&mut self, out: &mut Families) -> Result<(), DockerError> {
        let engine = match self.engine.take() {
            Some(engine) => engine,
            None => self.connect().await?,
        };
        scrape_engine(&engine, &self.config.container_labels, &self.devices, out).await?;
        self.engine = Some(engine);
        Ok(())
    }

    /// Collects one cycle: always `docker_up`, the containers when the engine answered.
    pub async fn collect_now(&mut self) -> Vec<MetricFamily> {
        let mut out = Families::default();
        let up = match self.scrape(&mut out).await {
            Ok(()) => {
                let what = format_args!("the Docker engine at {}", self.config.socket.display());
                self.streak.succeeded(what, "answers again");
                1.0
            }
            Err(error) => {
                out = Families::default();
                let error = match error {
                    DockerError::Api { .. } | DockerError::SocketMissing(_) => self.probe().await,
                    other => other,
                };
                // The probe cannot tell a refused API call on a live socket from a failure.
                let what = format_args!("the Docker engine at {}", self.config.socket.display());
                self.streak
                    .failed(what, error, "reporting docker_up 0 until it answers");
                0.0
            }
        };
        let mut families = out.into_vec();
        families.retain(|family| !family.series.is_empty());
        families.push(
            MetricFamily::gauge(
                "docker_up",
                "Peeper: whether the Docker engine answered (1) or not (0).",
            )
            .with(&[], up),
        );
        families
    }
}

/// A container's labels, owned.
type Labels = Vec<(String, String)>;

/// What the engine answered for one running container, in `running`'s order.
type Usage = (
    usize,
    Option<Result<ContainerStatsResponse, bollard::errors::Error>>,
    Result<ContainerInspectResponse, bollard::errors::Error>,
);

fn borrow(labels: &[(String, String)]) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// One cycle against a connected engine.
async fn scrape_engine(
    docker: &Docker,
    wanted_labels: &[String],
    devices: &Arc<Mutex<HashMap<(u64, u64), String>>>,
    out: &mut Families,
) -> Result<(), DockerError> {
    let info = docker.info().await.map_err(|source| DockerError::Api {
        what: "/info",
        source,
    })?;
    let systemd = info
        .cgroup_driver
        .as_ref()
        .is_some_and(|d| d.to_string() == "systemd");
    let list = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .map_err(|source| DockerError::Api {
            what: "/containers/json",
            source,
        })?;

    let (states, running) = add_listed(out, &list, systemd, wanted_labels);
    metrics::add_engine(out, &states, info.images);
    if let Some(version) = &info.server_version {
        metrics::add_info(out, version);
    }

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let results = fetch_usage(docker, &running).await;
    add_usage(out, &running, results, devices, now);
    Ok(())
}

/// The state families of every listed container; returns the count per state and the
/// running (or paused) containers' ids and labels.
fn add_listed(
    out: &mut Families,
    list: &[ContainerSummary],
    systemd: bool,
    wanted_labels: &[String],
) -> (HashMap<String, usize>, Vec<(String, Labels)>) {
    let mut states: HashMap<String, usize> = HashMap::new();
    let mut running = Vec::new();
    for summary in list {
        let state = metrics::state_of(summary);
        *states.entry(state.clone()).or_default() += 1;
        let labels = metrics::container_labels(summary, systemd, wanted_labels);
        metrics::add_state(out, &borrow(&labels), summary);
        if matches!(state.as_str(), "running" | "paused")
            && let Some(id) = summary.id.clone()
        {
            running.push((id, labels));
        }
    }
    (states, running)
}

/// Stats and inspect of the running containers, all requested at once (at most
/// [`PARALLEL`] at a time): the engine answers stats on its own one-second sampling tick,
/// so sequential requests would add up. In `running`'s order.
async fn fetch_usage(docker: &Docker, running: &[(String, Labels)]) -> Vec<Usage> {
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (id, _)) in running.iter().enumerate() {
        let docker = docker.clone();
        let id = id.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire().await;
            let stats = docker
                .stats(
                    &id,
                    Some(StatsOptions {
                        stream: false,
                        one_shot: true,
                    }),
                )
                .next()
                .await;
            let inspect = docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await;
            (index, stats, inspect)
        });
    }
    let mut results = tasks.join_all().await;
    results.sort_by_key(|(index, _, _)| *index);
    results
}

/// The usage and inspect families of the running containers; `now` is their last sight.
fn add_usage(
    out: &mut Families,
    running: &[(String, Labels)],
    results: Vec<Usage>,
    devices: &Mutex<HashMap<(u64, u64), String>>,
    now: f64,
) {
    for (index, stats, inspect) in results {
        let (id, labels) = &running[index];
        let borrowed = borrow(labels);
        // A container that stopped since the list simply has no usage this cycle.
        match stats {
            Some(Ok(stats)) => {
                metrics::add_stats(out, &borrowed, &stats, |major, minor| {
                    device_name(devices, major, minor)
                });
                metrics::add_last_seen(out, &borrowed, now);
            }
            Some(Err(error)) => {
                tracing::debug!(collector = "docker", container = %id, %error, "no stats");
            }
            None => {}
        }
        if let Ok(inspect) = inspect {
            metrics::add_inspect(out, &borrowed, &inspect);
        }
    }
}

/// `/dev/<name>` of a block device, from `/sys/dev/block/MAJOR:MINOR/uevent`; `MAJOR:MINOR`
/// when unknown. Cached: devices do not change names while they exist.
fn device_name(cache: &Mutex<HashMap<(u64, u64), String>>, major: u64, minor: u64) -> String {
    let Ok(mut cache) = cache.lock() else {
        return format!("{major}:{minor}");
    };
    cache
        .entry((major, minor))
        .or_insert_with(|| {
            let path = Path::new("/sys/dev/block").join(format!("{major}:{minor}/uevent"));
            std::fs::read_to_string(path)
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix("DEVNAME=").map(|n| format!("/dev/{n}")))
                })
                .unwrap_or_else(|| format!("{major}:{minor}"))
        })
        .clone()
}

impl Collector for DockerCollector {
    fn job(&self) -> &'static str {
        "docker"
    }

    fn collect(&mut self, _cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move { Ok(self.collect_now().await) })
    }
}
