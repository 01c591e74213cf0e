//! The agent modules of `setup.sh`, without installing anything: each env example's agent
//! settings reach the agent (setup.sh reads the file and hands the variables on, natively and
//! in Compose), and a module's flag or its `PEEPER_<MODULE>_ENABLED` switches it on for the
//! check push that comes before any install (which fails here: no server listens).

mod support;

use std::collections::BTreeSet;
use support::installer::{Copy, refused};
use support::repo_root;

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_root().join(relative)).unwrap()
}

/// The words of a bash array `NAME=(...)` in `text`.
fn bash_array(text: &str, name: &str) -> BTreeSet<String> {
    let start = text
        .find(&format!("{name}=("))
        .unwrap_or_else(|| panic!("no {name}=( )"));
    let body = &text[start + name.len() + 2..];
    let end = body.find(')').unwrap();
    body[..end].split_whitespace().map(str::to_owned).collect()
}

/// The agent's modules, by the second word of their variables.
const AGENT_MODULES: [&str; 9] = [
    "LINUX", "TEXTFILE", "APACHE", "NGINX", "MYSQL", "POSTGRES", "DOCKER", "CERTS", "PROBES",
];

#[test]
fn every_agent_setting_of_the_env_examples_reaches_the_agent() {
    let env_files = bash_array(&read("scripts/setup/common.sh"), "ENV_FILES");
    let agent_vars = bash_array(&read("scripts/setup/agent.sh"), "AGENT_VARS");
    let compose = read("compose/agent/compose.yml");
    let mut checked = 0;
    for entry in std::fs::read_dir(repo_root().join("env")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(live) = name.strip_suffix(".example") else {
            continue;
        };
        assert!(
            env_files.contains(live),
            "setup.sh does not read env/{live}"
        );
        let text = read(&format!("env/{name}"));
        for line in text.lines() {
            let line = line.trim_start_matches(['#', ' ']);
            let Some((variable, _)) = line.split_once('=') else {
                continue;
            };
            let module = variable.split('_').nth(1).unwrap_or_default();
            if !variable.starts_with("PEEPER_") || !AGENT_MODULES.contains(&module) {
                continue;
            }
            assert!(
                agent_vars.contains(variable),
                "{name}: {variable} is not in AGENT_VARS (scripts/setup/agent.sh)"
            );
            assert!(
                compose.contains(&format!("      - {variable}")),
                "{name}: {variable} is not passed to the agent in compose/agent/compose.yml"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 30,
        "only {checked} agent settings in env/*.example"
    );
}

/// A case: its name, the flags, a switch set in an env file, the modules the check push names.
type Case = (
    &'static str,
    &'static [&'static str],
    Option<(&'static str, &'static str)>,
    &'static str,
);

#[test]
fn a_module_is_on_by_its_flag_or_its_switch() {
    let dir = tempfile::tempdir().unwrap();
    // Each case in a copy of its own, all at once: the check push takes a few seconds to fail.
    let cases: [Case; 4] = [
        ("nginx-flag", &["--nginx"], None, "linux nginx"),
        (
            "nginx-switch",
            &[],
            Some((".env.nginx", "PEEPER_NGINX_ENABLED")),
            "linux nginx",
        ),
        ("apache-flag", &["-a"], None, "linux apache"),
        (
            "all",
            &["-a", "--nginx", "-d"],
            None,
            "linux apache nginx docker",
        ),
    ];
    std::thread::scope(|scope| {
        for (name, flags, switch, modules) in cases {
            let dir = dir.path();
            scope.spawn(move || {
                let copy = Copy::new(dir, name, support::bin_dir());
                // Port 9: nothing listens, so the check push fails and nothing is installed.
                copy.fill(
                    ".env",
                    &[
                        ("PEEPER_HOST", "localhost".to_owned()),
                        ("PEEPER_PROXY_PORT", "9".to_owned()),
                    ],
                );
                if let Some((file, variable)) = switch {
                    copy.fill(file, &[(variable, "true".to_owned())]);
                }
                std::fs::write(copy.path("peeper-token"), "peeper_00000000_none\n").unwrap();
                let args: Vec<&str> = ["-i", "agent"].iter().chain(flags).copied().collect();
                let out = copy.setup(&args);
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(
                    stdout.contains(&format!("(one push: {modules})")),
                    "{name}: {stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    !out.status.success() && !copy.path("run").exists(),
                    "{name}"
                );
            });
        }
    });
}

#[test]
fn agent_module_flags_are_refused_on_a_server_install() {
    let dir = tempfile::tempdir().unwrap();
    let copy = Copy::new(dir.path(), "server", support::bin_dir());
    for flag in ["--nginx", "-a"] {
        refused(&copy, &["-i", flag], &[], "go with ./setup.sh -i agent");
    }
}
