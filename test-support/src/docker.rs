//! A private Docker engine (Debian package `docker.io`): `dockerd --iptables=false
//! --bridge=none` with its own data root, exec root, pid file and socket in a temporary
//! directory. It never creates a bridge network: containers run with `--network none`.
//! The test image is `docker import` of a tar holding a static busybox and its applet links
//! (Debian package `busybox-static`), since there is no registry here.

use crate::{require_binary, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The image every test container runs.
pub const IMAGE: &str = "peeper-test/busybox:1";

pub struct Dockerd {
    dir: tempfile::TempDir,
    docker: PathBuf,
    child: Option<Child>,
    pub socket: PathBuf,
}

fn output_text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A busybox that runs inside an empty image: the static one of `busybox-static`.
fn static_busybox() -> PathBuf {
    let path = require_binary("busybox", "busybox-static");
    let bytes = std::fs::read(&path).expect("read busybox");
    assert!(
        !has_interpreter(&bytes),
        "{} is dynamically linked; the test image needs the static one: \
         `apt-get install busybox-static`",
        path.display()
    );
    path
}

/// Whether a 64-bit little-endian ELF file names a dynamic loader (a `PT_INTERP` header).
fn has_interpreter(elf: &[u8]) -> bool {
    let read = |at: usize, len: usize| -> usize {
        elf.get(at..at + len)
            .map(|b| {
                b.iter()
                    .rev()
                    .fold(0usize, |acc, byte| acc << 8 | usize::from(*byte))
            })
            .unwrap_or(0)
    };
    if elf.get(..4) != Some(b"\x7fELF".as_slice()) || elf.get(4) != Some(&2) {
        return true;
    }
    let (offset, size, count) = (read(0x20, 8), read(0x36, 2), read(0x38, 2));
    (0..count).any(|i| read(offset + i * size, 4) == 3)
}

impl Dockerd {
    /// Starts the engine, waits for its API and imports the test image.
    pub fn start() -> Self {
        let dockerd = require_binary("dockerd", "docker.io");
        let docker = require_binary("docker", "docker.io");
        let busybox = static_busybox();
        let dir = tempfile::tempdir().expect("temp dir for dockerd");
        let socket = dir.path().join("docker.sock");
        let log = std::fs::File::create(dir.path().join("dockerd.log")).expect("dockerd log");
        let child = Command::new(dockerd)
            .args(["--iptables=false", "--bridge=none"])
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let mut engine = Dockerd {
            dir,
            docker,
            child: Some(child),
            socket,
        };
        wait_until("dockerd to answer", Duration::from_secs(60), || {
            engine.socket.exists() && engine.try_docker(&["version"]).status.success()
        });
        engine.import_image(&busybox);
        engine
    }

    fn import_image(&mut self, busybox: &Path) {
        let root = self.dir.path().join("image");
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).expect("image dir");
        std::fs::copy(busybox, bin.join("busybox")).expect("copy busybox");
        let list = Command::new(busybox)
            .arg("--list")
            .output()
            .expect("busybox --list");
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if !applet.is_empty() && applet != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
            }
        }
        let tar = self.dir.path().join("image.tar");
        let status = Command::new(require_binary("tar", "tar"))
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .expect("tar");
        assert!(status.success(), "tar of the test image failed");
        self.docker(&["import", &tar.to_string_lossy(), IMAGE]);
    }

    fn try_docker(&self, args: &[&str]) -> Output {
        Command::new(&self.docker)
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .output()
            .expect("run docker")
    }

    /// Runs the docker CLI against this engine; panics with its output on failure.
    pub fn docker(&self, args: &[&str]) -> String {
        let output = self.try_docker(args);
        assert!(
            output.status.success(),
            "docker {args:?} failed: {}",
            output_text(&output)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// `docker run -d --network none` of the test image; returns the container's id.
    pub fn run_detached(&self, name: &str, extra: &[&str], command: &[&str]) -> String {
        let mut args = vec!["run", "-d", "--network", "none", "--name", name];
        args.extend_from_slice(extra);
        args.push(IMAGE);
        args.extend_from_slice(command);
        self.docker(&args)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let ids = self.try_docker(&["ps", "-aq"]);
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = self.try_docker(&args);
        }
        if let Some(mut child) = self.child.take() {
            // SIGTERM lets dockerd stop its containerd and unmount; SIGKILL only if it hangs.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            for _ in 0..150 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
