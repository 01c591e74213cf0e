# shellcheck shell=bash
# Peeper's own programs on a native install. With PEEPER_BIN_DIR (a build tree: developers,
# the tests) they run from there. Otherwise, as root, setup.sh builds Peeper's Debian packages
# (scripts/deb.sh) and installs them with apt: where systemd runs, the packages' hardened
# units run peeper-server and peeper-agent with the system layout below (their sandbox cannot
# read a repository under /root); without systemd, setup.sh supervises /usr/bin's programs
# with the repository's layout. Not root and no PEEPER_BIN_DIR: a release build.

# The paths the server and the agent use, by layout.
choose_layout() {
  SYSTEM_LAYOUT=0
  if [ -z "${PEEPER_BIN_DIR:-}" ] && [ "$(id -u)" = 0 ] && use_systemd; then
    SYSTEM_LAYOUT=1
    SERVER_DATA=/var/lib/peeper-server
    AGENT_TOKEN=/etc/peeper/agent.token
    AGENT_BUFFER=/var/lib/peeper-agent
    AGENT_CA=/etc/peeper/ca.crt
    PROBES_DIR=/etc/peeper/probes
    AGENT_ENV=/etc/default/peeper-agent
  else
    SERVER_DATA=$DATA_DIR/server
    AGENT_TOKEN=$DATA_DIR/agent/agent.token
    AGENT_BUFFER=$DATA_DIR/agent/buffer
    AGENT_CA=$ROOT/certs/ca/ca.crt
    PROBES_DIR=$ROOT/http
    AGENT_ENV=$RUN_DIR/env/peeper-agent.env
  fi
}

# prepare_programs PACKAGE...: peeper-server and/or peeper-agent built and ready to run
# from $BIN (the build's, for the checks before anything is installed); as root and without
# PEEPER_BIN_DIR, also their .debs, which install_programs installs.
PREPARED_DEBS=()
prepare_programs() {
  if [ -n "${PEEPER_BIN_DIR:-}" ] || [ "$(id -u)" != 0 ]; then
    build
    return
  fi
  need_package dpkg-shlibdeps dpkg-dev
  command -v cargo >/dev/null || die "cargo is missing: install Rust 1.95 (rustup) first"
  mkdir -p "$ROOT/target"
  say "building Peeper's Debian packages (scripts/deb.sh; log target/setup-deb.log)"
  local built package deb
  built=$("$ROOT/scripts/deb.sh" 2>"$ROOT/target/setup-deb.log") ||
    die "building the packages failed; see $ROOT/target/setup-deb.log"
  for package in "$@"; do
    deb=$(grep "/${package}_[^/]*\.deb$" <<<"$built" | head -n 1)
    [ -n "$deb" ] || die "scripts/deb.sh made no $package package; see $ROOT/target/setup-deb.log"
    PREPARED_DEBS+=("$(cd "$ROOT" && realpath "$deb")")
  done
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
}

# install_programs: the prepared packages installed with apt, BIN=/usr/bin. Those this run
# installed (not there before) are listed in RUN_DIR/installed-packages, for -u.
install_programs() {
  [ ${#PREPARED_DEBS[@]} -gt 0 ] || return 0
  local deb package names=()
  for deb in "${PREPARED_DEBS[@]}"; do
    package=$(basename "$deb")
    package=${package%%_*}
    names+=("$package")
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      echo "$package" >>"$RUN_DIR/installed-packages"
  done
  say "installing ${names[*]} (apt-get install ./target/debian/...)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PREPARED_DEBS[@]}" >"$ROOT/target/setup-apt.log" 2>&1 ||
    die "apt-get install of ${names[*]} failed; see $ROOT/target/setup-apt.log"
  BIN=/usr/bin
}

# The packages' units run these two under the system layout.
packaged_unit() {
  [ "$SYSTEM_LAYOUT" = 1 ] && case "$1" in peeper-server | peeper-agent) true ;; *) false ;; esac
}

# start_packaged NAME BINARY ARGS...: the package's unit, configured through its
# /etc/default file (the server: its flags and environment; the agent: AGENT_ENV already is
# that file), then enabled and (re)started.
start_packaged() {
  local name=$1 arg args=""
  shift 2
  if [ "$name" = peeper-server ]; then
    for arg in "$@"; do args+=" $arg"; done
    {
      echo "# Written by Peeper's setup.sh ($ROOT): the flags of its server install."
      echo "PEEPER_SERVER_ARGS=\"${args# }\""
      cat "$RUN_DIR/env/peeper-server.env" 2>/dev/null
    } >/etc/default/peeper-server
  fi
  systemctl daemon-reload
  systemctl enable "$name.service" >/dev/null 2>&1
  systemctl restart "$name.service" || die "$name did not start: journalctl -u $name says why"
  say "started $name (the package's systemd unit)"
}

# The agent's token, CA and probe targets where the packaged agent (user peeper) reads them.
place_agent_files() {
  [ "$SYSTEM_LAYOUT" = 1 ] || return 0
  local token=$1
  [ "$token" != "$AGENT_TOKEN" ] || chown root:peeper "$AGENT_TOKEN"
  [ "$token" != "$AGENT_TOKEN" ] || chmod 0640 "$AGENT_TOKEN"
  [ ! -f "$ROOT/certs/ca/ca.crt" ] || install -m 0644 "$ROOT/certs/ca/ca.crt" "$AGENT_CA"
  if [ "${PEEPER_PROBES_ENABLED:-}" = true ] && [ -d "$ROOT/http" ]; then
    install -d -m 0755 "$PROBES_DIR"
    find "$ROOT/http" -maxdepth 1 -name 'blackbox_*.yaml' -exec install -m 0644 -t "$PROBES_DIR" {} +
  fi
}

# -u: the packages this copy's -i installed (dpkg -r; dpkg -P with --purge).
remove_programs() {
  local purge=$1 list=$RUN_DIR/installed-packages packages=()
  [ -f "$list" ] || return 0
  mapfile -t packages < <(sort -u "$list")
  [ ${#packages[@]} -gt 0 ] || return 0
  if [ "$purge" = 1 ]; then
    dpkg -P "${packages[@]}" >/dev/null 2>&1 || say "dpkg -P ${packages[*]} failed"
  else
    dpkg -r "${packages[@]}" >/dev/null 2>&1 || say "dpkg -r ${packages[*]} failed"
  fi
  say "removed the packages ${packages[*]}"
}
