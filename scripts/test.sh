#!/usr/bin/env bash
# The one test command. As root it installs the Debian packages the tests run against;
# the tests start those services themselves on free loopback ports in temporary dirs and
# stop them when done. Then: rustfmt check, clippy, shellcheck, and every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(victoria-metrics curl haproxy apache2 nginx mariadb-server postgresql docker.io busybox-static
  prometheus prometheus-alertmanager python3-aiosmtpd docker-compose shellcheck
  prometheus-nginx-exporter prometheus-node-exporter prometheus-postgres-exporter
  prometheus-mysqld-exporter dpkg-dev systemd adduser)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]}; run this script as root or 'apt-get install ${missing[*]}'" >&2
    exit 1
  fi
fi

# Every temp dir of this run lives under one parent, so whatever a killed test left
# running (its command line names that dir) is stopped and removed at the end.
TMPDIR=$(mktemp -d /tmp/peeper-test.XXXXXX)
# apache2 serves from a temp dir as www-data, and postgres runs as postgres: both must be
# able to traverse the parent (mktemp makes it 0700).
chmod 755 "$TMPDIR"
export TMPDIR
cleanup() {
  pkill -f "$TMPDIR" 2>/dev/null || true
  rm -rf "$TMPDIR"
}
trap cleanup EXIT

# The package test (server/tests/packages.rs) builds the .debs with cargo-deb, a cargo
# subcommand from crates.io (no root needed); dpkg-dev gives it dpkg-shlibdeps.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "==> cargo install cargo-deb --locked --version 3.8.0"
  cargo install cargo-deb --locked --version 3.8.0
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> shellcheck"
shellcheck -x setup.sh scripts/*.sh compose/server/*.sh
echo "==> cargo test"
cargo test --workspace --locked
