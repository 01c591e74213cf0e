//! The Compose stacks (`compose/server/`, `compose/agent/`) as Debian's `docker-compose`
//! reads them: `scripts/compose-check.sh` validates every module combination (the backup
//! profile × the blackbox override × the external-network override, and the agent's file),
//! checks each module took effect and that every file they mount exists in the repository.
//! Images cannot be pulled here, so nothing is started (README, "Compose").

mod support;

use std::process::Command;
use support::repo_root;
use support::require_binary;

#[test]
fn every_module_combination_of_the_compose_files_is_valid() {
    require_binary("docker-compose", "docker-compose");
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/compose-check.sh"))
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run scripts/compose-check.sh");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("ok ")).count(),
        9,
        "{log}"
    );
}

#[test]
fn the_image_builds_from_this_repository_only() {
    // What `docker build` sends: the Dockerfile's COPY sources must exist, and no secret an
    // install writes may be in the build context.
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    for line in dockerfile.lines().map(str::trim) {
        let Some(args) = line.strip_prefix("COPY ") else {
            continue;
        };
        if args.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = args
            .split_whitespace()
            .filter(|p| !p.starts_with("--"))
            .collect();
        for source in &parts[..parts.len() - 1] {
            assert!(
                repo_root().join(source).exists(),
                "Dockerfile copies {source}, which is not in the repository"
            );
        }
    }
    let ignore = std::fs::read_to_string(repo_root().join(".dockerignore")).unwrap();
    for secret in ["data", "run", "env/.env", "certs", "peeper-token"] {
        assert!(
            ignore.lines().any(|l| l
                .trim_start_matches("**/")
                .trim_end_matches('/')
                .starts_with(secret)),
            ".dockerignore must keep {secret} out of the image:\n{ignore}"
        );
    }
}
