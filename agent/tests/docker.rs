//! The Docker collector against a private real engine (Debian package `docker.io`) started
//! by the harness with its own socket, data root and exec root, no bridge (containers run
//! with `--network none`), and a busybox image built by `docker import`; and the real agent
//! binary's `--once --print` with the collector switched on by its environment variables.

mod support;

use peeper_agent::collector::docker::{DockerCollector, DockerConfig};
use peeper_proto::model::family;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::docker::{Dockerd, IMAGE};
use support::{collect, process_cpu_seconds, value};

fn config(socket: &Path) -> DockerConfig {
    DockerConfig {
        enabled: true,
        socket: socket.to_path_buf(),
        container_labels: vec!["com.example.team".to_owned()],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_a_real_engine() {
    let engine = Dockerd::start();
    let sleeper = engine.run_detached(
        "peeper-sleeper",
        &[
            "--label",
            "com.example.team=core",
            "--memory",
            "64m",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
        ],
        &["sh", "-c", "cat /bin/busybox > /dev/null; exec sleep 300"],
    );
    engine.run_detached("peeper-exit", &[], &["sh", "-c", "exit 3"]);
    assert_eq!(engine.docker(&["wait", "peeper-exit"]), "3");
    support::wait_until("the health check to pass", Duration::from_secs(30), || {
        engine.docker(&[
            "inspect",
            "-f",
            "{{.State.Health.Status}}",
            "peeper-sleeper",
        ]) == "healthy"
    });

    let mut collector = DockerCollector::new(&config(&engine.socket));
    let families = collect(&mut collector).await;
    assert_eq!(
        value(&families, "docker_up", &[]),
        1.0,
        "dockerd log:\n{}",
        engine.log()
    );
    let me = [("name", "peeper-sleeper"), ("image", IMAGE)];
    let series = family(&families, "container_memory_usage_bytes")
        .unwrap()
        .find(&me)
        .expect("the running container with its name and image");
    assert!(series.value > 0.0, "memory usage {}", series.value);
    assert_eq!(
        series.label("container_label_com_example_team"),
        Some("core")
    );
    let id = series.label("id").unwrap();
    assert!(
        id.contains(&sleeper),
        "id {id} names the container {sleeper}"
    );
    assert!(value(&families, "container_memory_working_set_bytes", &me) > 0.0);
    value(&families, "container_memory_rss", &me);
    value(&families, "container_memory_cache", &me);
    value(&families, "container_memory_failcnt", &me);
    assert_eq!(
        value(&families, "container_spec_memory_limit_bytes", &me),
        64.0 * 1024.0 * 1024.0
    );
    assert!(
        value(
            &families,
            "container_cpu_usage_seconds_total",
            &[("name", "peeper-sleeper"), ("cpu", "total")]
        ) > 0.0
    );
    value(&families, "container_cpu_user_seconds_total", &me);
    value(&families, "container_cpu_system_seconds_total", &me);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value(&families, "container_start_time_seconds", &me);
    assert!(
        started <= now + 1.0 && started > now - 300.0,
        "started {started}, now {now}"
    );
    assert!((value(&families, "container_last_seen", &me) - now).abs() < 60.0);
    assert_eq!(value(&families, "container_restart_count", &me), 0.0);
    assert_eq!(
        value(
            &families,
            "container_state",
            &[("name", "peeper-sleeper"), ("state", "running")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &families,
            "container_state",
            &[("name", "peeper-sleeper"), ("state", "exited")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &families,
            "container_health_status",
            &[("name", "peeper-sleeper"), ("status", "healthy")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &families,
            "container_health_status",
            &[("name", "peeper-sleeper"), ("status", "unhealthy")]
        ),
        0.0
    );
    // --network none: no interface but loopback, which the engine does not report.
    assert!(
        family(&families, "container_network_receive_bytes_total")
            .is_none_or(|f| f.find(&me).is_none())
    );

    // The stopped container: its state and exit code, no usage.
    let exited = [("name", "peeper-exit")];
    assert_eq!(value(&families, "container_exit_code", &exited), 3.0);
    assert_eq!(
        value(
            &families,
            "container_state",
            &[("name", "peeper-exit"), ("state", "exited")]
        ),
        1.0
    );
    assert!(
        family(&families, "container_memory_usage_bytes")
            .unwrap()
            .find(&exited)
            .is_none()
    );
    assert!(
        family(&families, "container_exit_code")
            .unwrap()
            .find(&me)
            .is_none()
    );

    // The engine's totals.
    assert_eq!(
        value(&families, "docker_containers", &[("state", "running")]),
        1.0
    );
    assert_eq!(
        value(&families, "docker_containers", &[("state", "exited")]),
        1.0
    );
    assert_eq!(
        value(&families, "docker_containers", &[("state", "paused")]),
        0.0
    );
    assert!(value(&families, "docker_images", &[]) >= 1.0);
    assert_eq!(
        family(&families, "docker_engine_info")
            .unwrap()
            .series
            .len(),
        1
    );

    // Cost of a cycle in this process (agent side only), over many cycles.
    let cycles = 10;
    let (cpu, wall) = (process_cpu_seconds(), Instant::now());
    for _ in 0..cycles {
        collect(&mut collector).await;
    }
    let per_cycle = (process_cpu_seconds() - cpu) / f64::from(cycles);
    eprintln!(
        "docker collector: {:.2} ms CPU and {:.1} ms wall per cycle with 2 containers (1 running)",
        per_cycle * 1000.0,
        wall.elapsed().as_secs_f64() * 1000.0 / f64::from(cycles)
    );
    assert!(per_cycle < 0.02, "a cycle costs {per_cycle} CPU-s");

    // The real binary, switched on by its environment.
    let output = Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .env_remove("PEEPER_CONFIG")
        .env_remove("PEEPER_SERVER_URL")
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_DOCKER_ENABLED", "true")
        .env("PEEPER_DOCKER_SOCKET", &engine.socket)
        .env("PEEPER_DOCKER_CONTAINER_LABELS", "com.example.team")
        .args(["--once", "--print", "--instance", "docker-host"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        r#"docker_up{job="docker",instance="docker-host"} 1"#,
        "# TYPE container_cpu_usage_seconds_total counter",
        "# TYPE container_memory_working_set_bytes gauge",
        r#"container_memory_usage_bytes{name="peeper-sleeper",image="peeper-test/busybox:1",id="#,
        r#"container_label_com_example_team="core""#,
        r#"container_exit_code{name="peeper-exit""#,
        r#"docker_containers{state="running""#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}

#[tokio::test]
async fn a_missing_socket_is_docker_up_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut collector = DockerCollector::new(&config(&dir.path().join("docker.sock")));
    for _ in 0..2 {
        let families = collect(&mut collector).await;
        assert_eq!(value(&families, "docker_up", &[]), 0.0);
        assert_eq!(families.len(), 1);
    }
    // A socket file nobody serves (a stopped engine): also 0, not an error.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let mut collector = DockerCollector::new(&config(&stale));
    assert_eq!(value(&collect(&mut collector).await, "docker_up", &[]), 0.0);
}
