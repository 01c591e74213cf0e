# shellcheck shell=bash
# setup.sh's shared pieces: messages, settings from the env files, module switches, packages.

say() {
  if [ -t 1 ]; then printf '\033[1m==>\033[0m %s\n' "$*"; else printf '==> %s\n' "$*"; fi
}
die() {
  printf 'setup.sh: %s\n' "$*" >&2
  exit 1
}

# Variables set in the shell before setup.sh ran: they win over the env files.
declare -A FROM_SHELL=()
while IFS= read -r name; do FROM_SHELL[$name]=1; done < <(compgen -e)

# load_env_file FILE: VAR=value lines (comments, blanks and `export` allowed; quotes
# stripped; a later line wins over an earlier one); a variable set in the shell is kept.
# Nothing in the file runs.
load_env_file() {
  local file=$1 line name value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line#"${line%%[![:space:]]*}"}
    case "$line" in '' | '#'*) continue ;; esac
    line=${line#export }
    name=${line%%=*}
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$file: cannot read line '$line': write NAME=value"
    value=${line#*=}
    value=${value%%[[:space:]]#*}
    value=${value%"${value##*[![:space:]]}"}
    case "$value" in \"*\") value=${value:1:-1} ;; \'*\') value=${value:1:-1} ;; esac
    [ -n "${FROM_SHELL[$name]:-}" ] || export "$name=$value"
  done <"$file"
}

# Every env file, in this order (module files after the main one).
ENV_FILES=(.env .env.telegram .env.email .env.backup .env.blackbox .env.mysql .env.postgres
  .env.apache .env.nginx .env.docker .env.certs)

load_settings() {
  local file
  for file in "${ENV_FILES[@]}"; do load_env_file "env/$file"; done
  RUN_DIR=${PEEPER_RUN_DIR:-$ROOT/run}
  DATA_DIR=${PEEPER_DATA_DIR:-$ROOT/data}
  HOST=${PEEPER_HOST:-localhost}
  PROXY_PORT=${PEEPER_PROXY_PORT:-443}
  SERVER_PORT=${PEEPER_SERVER_PORT:-8480}
  SERVER_METRICS_PORT=${PEEPER_SERVER_METRICS_PORT:-9480}
  VM_PORT=${PEEPER_VM_PORT:-8428}
  VMALERT_PORT=${PEEPER_VMALERT_PORT:-8880}
  ALERTMANAGER_PORT=${PEEPER_ALERTMANAGER_PORT:-9093}
  HAPROXY_STATS_PORT=${PEEPER_HAPROXY_STATS_PORT:-8404}
  GRAFANA_PORT=${PEEPER_GRAFANA_PORT:-3000}
  TENANT=${PEEPER_TENANT:-default}
  INTERVAL=${PEEPER_INTERVAL:-15s}
  EVAL_INTERVAL=${PEEPER_ALERT_EVAL_INTERVAL:-15s}
  GRAFANA_PROVISIONING=${PEEPER_GRAFANA_PROVISIONING_DIR:-/etc/grafana/provisioning}
  GRAFANA_DASHBOARDS=${PEEPER_GRAFANA_DASHBOARDS_DIR:-/var/lib/grafana/dashboards/peeper}
  CRON_FILE=${PEEPER_CRON_FILE:-/etc/cron.d/peeper-backup}
  # PEEPER_BIN_DIR: prebuilt binaries (the tests' build), instead of `cargo build --release`.
  BIN=${PEEPER_BIN_DIR:-$ROOT/target/release}
  VM_URL=http://127.0.0.1:$VM_PORT
  ALERTMANAGER_URL=http://127.0.0.1:$ALERTMANAGER_PORT
}

truthy() {
  case "$(printf '%s' "${1:-}" | tr '[:upper:]' '[:lower:]')" in
  true | 1 | yes | on) return 0 ;;
  *) return 1 ;;
  esac
}

# module_on FLAG PEEPER_VAR [OLD_VAR]: a module is on by its flag, its PEEPER_*_ENABLED
# variable, or its Peeper 0.7 name.
module_on() {
  [ "$1" = 1 ] || truthy "${!2:-}" || { [ -n "${3:-}" ] && truthy "${!3:-}"; }
}

# require VAR FILE WHY: stops the install with one line when VAR is empty.
require() {
  [ -n "${!1:-}" ] || die "$1 is not set: $3 (in env/$2; copy env/$2.example to start)"
}

# require_secret VAR FILE WHY: VAR or VAR_FILE.
require_secret() {
  local file_var="${1}_FILE"
  [ -n "${!1:-}" ] || [ -n "${!file_var:-}" ] ||
    die "$1 (or $file_var) is not set: $3 (in env/$2; copy env/$2.example to start)"
}

need_package() { # need_package BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 && return
  [ "$(id -u)" = 0 ] || die "$1 is missing: run 'apt-get install $2' as root, or run this script as root"
  say "installing $2 from Debian packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null ||
    die "apt-get install $2 failed; install it by hand and run ./setup.sh again"
  # Under systemd the package starts its own default instance (victoria-metrics on :8428,
  # Alertmanager on :9093); Peeper runs its own, configured one instead.
  case "$2" in
  victoria-metrics | prometheus-alertmanager)
    if use_systemd && systemctl is-enabled --quiet "$2.service" 2>/dev/null; then
      systemctl disable --now "$2.service" >/dev/null 2>&1 || true
      say "stopped the package's default $2 service: Peeper runs its own instance"
    fi
    ;;
  esac
}

build() {
  if [ -n "${PEEPER_BIN_DIR:-}" ]; then
    if [ ! -x "$BIN/peeper-server" ] || [ ! -x "$BIN/peeper-agent" ]; then
      die "PEEPER_BIN_DIR=$BIN holds no peeper-server and peeper-agent binaries: build them or unset it"
    fi
    return
  fi
  command -v cargo >/dev/null || die "cargo is missing: install Rust 1.95 (rustup) first"
  say "building release binaries (cargo build --release)"
  mkdir -p "$ROOT/target"
  cargo build --release --locked -p peeper-agent -p peeper-server >"$ROOT/target/setup-build.log" 2>&1 ||
    die "the build failed; see $ROOT/target/setup-build.log"
}

# wait_http NAME URL SECONDS: until URL answers, or stop naming the component and its log.
wait_http() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    curl -fsk -o /dev/null --max-time 2 "$2" && return 0
    running "$1" || die "$1 exited; its log ($(log_of "$1")) ends with: $(log_tail "$1")"
    sleep 0.2
  done
  die "$1 did not answer on $2 within $3 s; see $(log_of "$1")"
}
