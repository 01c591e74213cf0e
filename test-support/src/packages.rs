//! The Debian packages of `peeper-agent` and `peeper-server` (cargo-deb, `scripts/deb.sh`):
//! building them, installing them system-wide with dpkg under a lock (purged again when
//! dropped, also when a test fails), and the systemd tools that judge their units offline.

use crate::repo_root;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The packages, in install order.
pub const PACKAGES: [&str; 2] = ["peeper-agent", "peeper-server"];

/// Taken by every test that installs the packages system-wide (one dpkg state per host).
pub const LOCK_FILE: &str = "/run/lock/peeper-packages.lock";

/// Fails the test unless it runs as root: it installs packages system-wide.
pub fn require_root() {
    let uid = run(Command::new("id").arg("-u"));
    assert!(
        uid.status.success() && text(&uid.stdout).trim() == "0",
        "this test installs Debian packages with dpkg and must run as root: run the README's \
         test command (`./scripts/test.sh`) as root"
    );
}

/// Fails the test, saying how to get it, unless `cargo deb` works.
pub fn require_cargo_deb() {
    let ok = Command::new("cargo")
        .args(["deb", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`cargo deb` is not installed. This test builds the Debian packages with cargo-deb: \
         install it with `cargo install cargo-deb --locked --version 3.8.0` (no root needed), or \
         run the README's test command (`./scripts/test.sh`), which installs it."
    );
}

/// An exclusive lock on [`LOCK_FILE`], held until dropped.
pub struct PackageLock {
    _locked: File,
}

impl PackageLock {
    pub fn take() -> Self {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK_FILE)
            .unwrap_or_else(|e| panic!("open {LOCK_FILE}: {e}"));
        file.lock()
            .unwrap_or_else(|e| panic!("lock {LOCK_FILE}: {e}"));
        PackageLock { _locked: file }
    }
}

/// Runs `scripts/deb.sh` (a release build, a no-op when fresh, then `cargo deb` for each
/// package) and returns the .deb files in [`PACKAGES`] order.
pub fn build_debs() -> Vec<PathBuf> {
    let root = repo_root();
    let mut command = Command::new(root.join("scripts/deb.sh"));
    command.current_dir(&root);
    // The variables cargo sets for this test binary are not meant for the inner build.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" && name != "CARGO_TARGET_DIR" {
            command.env_remove(name.as_ref());
        }
    }
    let output = run(&mut command);
    assert!(
        output.status.success(),
        "scripts/deb.sh failed:\n{}",
        text(&output.stderr)
    );
    let debs: Vec<PathBuf> = text(&output.stdout)
        .lines()
        .filter(|l| l.ends_with(".deb"))
        .map(|l| root.join(l.trim()))
        .collect();
    for (package, deb) in PACKAGES.iter().zip(&debs) {
        let name = deb.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with(&format!("{package}_")) && deb.is_file(),
            "scripts/deb.sh printed {deb:?} for {package}"
        );
    }
    assert_eq!(debs.len(), PACKAGES.len(), "{}", text(&output.stdout));
    debs
}

/// The packages installed with `dpkg -i`; purged when dropped.
pub struct Installed {
    purged: bool,
}

impl Installed {
    /// Purges what an earlier, killed run left, then installs `debs`.
    pub fn install(debs: &[PathBuf]) -> Self {
        let installed = Installed { purged: false };
        if PACKAGES.iter().any(|p| is_installed(p)) {
            purge_all();
        }
        let output = run(Command::new("dpkg").arg("-i").args(debs));
        assert!(
            output.status.success(),
            "dpkg -i failed:\n{}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        installed
    }

    /// `dpkg --purge` of both; returns dpkg's output.
    pub fn purge(mut self) -> String {
        self.purged = true;
        purge_all()
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.purged {
            let out = purge_all();
            eprintln!("purged the packages:\n{out}");
        }
    }
}

fn purge_all() -> String {
    let output = run(Command::new("dpkg").arg("--purge").args(PACKAGES));
    let out = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(output.status.success() || std::thread::panicking(), "{out}");
    out
}

/// Whether dpkg has `package` installed (not merely its conffiles).
pub fn is_installed(package: &str) -> bool {
    let output = run(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]));
    output.status.success() && text(&output.stdout).contains("install ok installed")
}

/// `dpkg-query --control-show PACKAGE conffiles`: the conffiles' paths.
pub fn conffiles(package: &str) -> Vec<String> {
    let output = run(Command::new("dpkg-query").args(["--control-show", package, "conffiles"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// `systemd-analyze verify UNIT_FILE`: everything it printed (nothing when the unit is clean).
pub fn verify(unit_file: &Path) -> String {
    let output = run(Command::new("systemd-analyze").arg("verify").arg(unit_file));
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    if output.status.success() {
        printed
    } else {
        format!("exit {}: {printed}", output.status)
    }
}

/// `systemd-analyze security --offline=true UNIT_FILE`: the overall exposure level, and the
/// whole report.
pub fn exposure(unit_file: &Path) -> (f64, String) {
    let output = run(Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(unit_file));
    let report = format!("{}{}", text(&output.stdout), text(&output.stderr));
    let level = report
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for "))
        .and_then(|(_, rest)| rest.split_once(": "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{report}"));
    (level, report)
}

/// The command line of a unit's `ExecStart=`.
pub fn exec_start(unit_file: &Path) -> String {
    let unit = std::fs::read_to_string(unit_file)
        .unwrap_or_else(|e| panic!("read {}: {e}", unit_file.display()));
    unit.lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart= in {}", unit_file.display()))
        .trim()
        .to_owned()
}

/// A unit's command line run as its user: `runuser -u USER --` with the variables of its
/// `EnvironmentFile=` (`env_file`) and nothing else of the caller's environment, from `/`,
/// as systemd would start it (minus the sandbox). `extra` is appended to the command line.
pub fn as_unit_user(user: &str, env_file: &str, command_line: &str, extra: &str) -> Command {
    let script = format!("set -a; . {env_file}; set +a; exec {command_line} {extra}");
    let mut command = Command::new("runuser");
    command
        .args(["-u", user, "--", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C.UTF-8")
        .current_dir("/");
    command
}

/// A long-running process in its own process group (so `runuser` and its child both stop).
pub struct Service {
    child: Child,
    pub log: PathBuf,
}

impl Service {
    pub fn spawn(mut command: Command, log: &Path) -> Self {
        use std::os::unix::process::CommandExt;
        let file = File::create(log).expect("service log");
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("spawn service");
        Service {
            child,
            log: log.to_owned(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Runs `command` to its end, or kills it after `timeout`: (exit code, stdout + stderr).
pub fn run_for(command: &mut Command, timeout: Duration) -> (Option<i32>, String) {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = out.join().unwrap_or_default() + &err.join().unwrap_or_default();
    (status.and_then(|s| s.code()), text)
}

/// (uid, gid, shell) of a user, from `getent passwd`.
pub fn user(name: &str) -> Option<(u32, u32, String)> {
    let output = run(Command::new("getent").args(["passwd", name]));
    if !output.status.success() {
        return None;
    }
    let line = text(&output.stdout);
    let fields: Vec<&str> = line.trim().split(':').collect();
    Some((
        fields.get(2)?.parse().ok()?,
        fields.get(3)?.parse().ok()?,
        (*fields.get(6)?).to_owned(),
    ))
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
