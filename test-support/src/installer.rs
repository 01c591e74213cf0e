//! `setup.sh` as a user runs it: a copy of the repository holding what a clone gives (the
//! installer, env examples, compose files, scripts; no generated certificates, no live env
//! files), env files filled in line by line, and `./setup.sh ...` run in it with this build's
//! binaries (`PEEPER_BIN_DIR`) so no test rebuilds. Every port is a free loopback port and every
//! file the installer writes outside the copy (Grafana provisioning, the cron entry) is
//! redirected into the test's temp dir.

use crate::{free_port, repo_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One copy of the repository, as a user unpacked it on one host.
pub struct Copy {
    pub root: PathBuf,
    /// The directory holding this build's `peeper-agent` and `peeper-server`
    /// (`PEEPER_BIN_DIR` of every run).
    bin_dir: PathBuf,
}

impl Copy {
    /// Copies the installer's files into `parent/name`; `setup.sh` will run the binaries of
    /// `bin_dir` (the directory of `env!("CARGO_BIN_EXE_peeper-agent")`).
    pub fn new(parent: &Path, name: &str, bin_dir: &Path) -> Copy {
        let root = parent.join(name);
        std::fs::create_dir_all(&root).unwrap();
        for item in ["setup.sh", "compose", "env", "scripts", "certs", "http"] {
            let status = Command::new("cp")
                .arg("-r")
                .arg(repo_root().join(item))
                .arg(&root)
                .status()
                .unwrap();
            assert!(status.success(), "copy {item}");
        }
        // Only the examples: a developer's own env files must not leak into the test.
        for entry in std::fs::read_dir(root.join("env")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "example") {
                std::fs::remove_file(path).unwrap();
            }
        }
        for generated in ["crt", "ca", "dev"] {
            let _ = std::fs::remove_dir_all(root.join("certs").join(generated));
        }
        Copy {
            root,
            bin_dir: bin_dir.to_owned(),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Fills in `env/<file>` from its example as a user does: `NAME=value` lines appended
    /// (a later line wins), on top of what the file holds already.
    pub fn fill(&self, file: &str, values: &[(&str, String)]) {
        let live = self.path(&format!("env/{file}"));
        let mut out = std::fs::read_to_string(&live).unwrap_or_else(|_| {
            std::fs::read_to_string(self.path(&format!("env/{file}.example"))).unwrap()
        });
        for (name, value) in values {
            out.push_str(&format!("{name}={value}\n"));
        }
        std::fs::write(live, out).unwrap();
    }

    /// `./setup.sh ARGS` in this copy.
    pub fn setup(&self, args: &[&str]) -> Output {
        self.setup_with(args, &[])
    }

    /// `./setup.sh ARGS` with extra variables in its environment (they win over env files).
    pub fn setup_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(self.path("setup.sh"));
        command
            .args(args)
            .current_dir(&self.root)
            .env("PEEPER_BIN_DIR", &self.bin_dir)
            .env_remove("PEEPER_CONFIG");
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("run setup.sh")
    }

    /// `./setup.sh --token TENANT`: the new token (its only stdout line).
    pub fn token(&self, tenant: &str) -> String {
        let out = self.setup(&["--token", tenant]);
        assert!(out.status.success(), "--token {tenant}:\n{}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The process groups of the components running now (each supervisor leads its own;
    /// the component runs inside it).
    pub fn process_groups(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.path("run")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|pid| pid.trim().to_owned())
            .collect()
    }

    /// Live processes whose command line mentions this copy, plus any still in `groups`
    /// (zombies waiting for their reaper are not running anything).
    pub fn processes(&self, groups: &[String]) -> String {
        let out = Command::new("ps")
            .args(["-e", "-o", "pid=,pgid=,stat=,args="])
            .output()
            .unwrap();
        let root = self.root.display().to_string();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (Some(pgid), Some(stat)) = (fields.get(1), fields.get(2)) else {
                    return false;
                };
                !stat.starts_with('Z') && (line.contains(&root) || groups.iter().any(|g| g == pgid))
            })
            .map(|line| format!("{line}\n"))
            .collect()
    }
}

/// A test that failed half-way leaves no supervised component running.
impl Drop for Copy {
    fn drop(&mut self) {
        for group in self.process_groups() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .status();
        }
    }
}

/// stdout and stderr of a run, for messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `./setup.sh ARGS` and fails the test with its output unless it succeeded.
pub fn must(copy: &Copy, args: &[&str]) -> String {
    let out = copy.setup(args);
    let log = text(&out);
    assert!(
        out.status.success(),
        "./setup.sh {}:\n{log}",
        args.join(" ")
    );
    log
}

/// Runs `./setup.sh ARGS`, which must fail with exactly one error line naming `expected`.
pub fn refused(copy: &Copy, args: &[&str], env: &[(&str, &str)], expected: &str) -> String {
    let out = copy.setup_with(args, env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "./setup.sh {} should fail:\n{}",
        args.join(" "),
        text(&out)
    );
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("setup.sh:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{stderr}");
    assert!(
        errors[0].contains(expected),
        "{expected:?} not in:\n{stderr}"
    );
    stderr
}

/// env/.env of a server install on free loopback ports, writing Grafana's files and the
/// backup schedule under `outside` (standing in for /etc and /var/lib).
pub fn server_env(outside: &Path) -> Vec<(&'static str, String)> {
    let port = || free_port().to_string();
    vec![
        ("PEEPER_HOST", "localhost".to_owned()),
        ("PEEPER_PROXY_PORT", port()),
        ("PEEPER_SERVER_PORT", port()),
        ("PEEPER_SERVER_METRICS_PORT", port()),
        ("PEEPER_VM_PORT", port()),
        ("PEEPER_VMALERT_PORT", port()),
        ("PEEPER_ALERTMANAGER_PORT", port()),
        ("PEEPER_HAPROXY_STATS_PORT", port()),
        ("PEEPER_INTERVAL", "1s".to_owned()),
        (
            "PEEPER_GRAFANA_PROVISIONING_DIR",
            outside
                .join("etc/grafana/provisioning")
                .display()
                .to_string(),
        ),
        (
            "PEEPER_GRAFANA_DASHBOARDS_DIR",
            outside
                .join("var/lib/grafana/dashboards")
                .display()
                .to_string(),
        ),
        (
            "PEEPER_CRON_FILE",
            outside
                .join("etc/cron.d/peeper-backup")
                .display()
                .to_string(),
        ),
    ]
}

/// The value of `name` in a filled env list.
pub fn setting<'a>(env: &'a [(&str, String)], name: &str) -> &'a str {
    env.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{name} not set"))
}

/// Every file under `dir`, relative, sorted (what an install left behind).
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}
