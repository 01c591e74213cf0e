#!/usr/bin/env bash
# Builds the Debian packages of peeper-agent and peeper-server with cargo-deb and prints the
# path of each .deb on stdout, one a line (progress goes to stderr).
#
#   scripts/deb.sh              release build (the one setup.sh makes; a no-op when fresh), then package
#   scripts/deb.sh --no-build   package the release binaries already in target/release
#
# cargo-deb is installed from crates.io (`cargo install`, no root needed) when missing.
# Packaging: agent/debian/ and server/debian/, `[package.metadata.deb]` in each Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
PACKAGES=(peeper-agent peeper-server)
TARGET_DIR=${CARGO_TARGET_DIR:-target}

usage() {
  sed -n '2,9s/^# \{0,1\}//p' "$0"
}

say() {
  echo "==> $*" >&2
}

die() {
  echo "deb.sh: $*" >&2
  exit 1
}

ensure_cargo_deb() {
  if cargo deb --version >/dev/null 2>&1; then
    return 0
  fi
  say "installing cargo-deb $CARGO_DEB_VERSION (cargo install cargo-deb --locked)"
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION" >&2 ||
    die "cannot install cargo-deb: run 'cargo install cargo-deb --locked --version $CARGO_DEB_VERSION' (needs crates.io)"
}

# The same build as setup.sh's, so either reuses the other's.
build() {
  say "cargo build --release --locked -p peeper-agent -p peeper-server"
  cargo build --release --locked -p peeper-agent -p peeper-server >&2
}

require_binaries() {
  local package
  for package in "${PACKAGES[@]}"; do
    [ -x "$TARGET_DIR/release/$package" ] ||
      die "--no-build: $TARGET_DIR/release/$package is missing; run scripts/deb.sh without --no-build"
  done
}

# Packages one crate; prints the .deb's path.
package() {
  local package=$1 output
  say "cargo deb -p $package"
  output=$(cargo deb --no-build -p "$package")
  [ -f "$output" ] || die "cargo deb -p $package printed no package path (got: $output)"
  echo "$output"
}

main() {
  local no_build=false package
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-build) no_build=true ;;
      -h | --help)
        usage
        return 0
        ;;
      *) die "unknown argument '$1' (see scripts/deb.sh --help)" ;;
    esac
    shift
  done
  command -v cargo >/dev/null || die "cargo is missing: install Rust 1.95 (rustup) first"
  ensure_cargo_deb
  if [ "$no_build" = true ]; then
    require_binaries
  else
    build
  fi
  for package in "${PACKAGES[@]}"; do
    package "$package"
  done
}

main "$@"
