#!/usr/bin/env bash
# Peeper installer.
#   ./setup.sh -i --native   build, then start VictoriaMetrics + peeper-server + a local agent on this host
#   ./setup.sh -s            status of what -i started
#   ./setup.sh -u            stop and remove what -i started (keeps certs/ and the build)
# Settings come from env/.env when present (see env/.env.example), then the environment.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")" && pwd)
cd "$ROOT"
[ -f env/.env ] && { set -a; . env/.env; set +a; }

RUN_DIR=${PEEPER_RUN_DIR:-$ROOT/run}
VM_PORT=${PEEPER_VM_PORT:-8428}
SERVER_PORT=${PEEPER_SERVER_PORT:-8443}
HOST=${PEEPER_HOST:-localhost}
TENANT=${PEEPER_TENANT:-default}
INTERVAL=${PEEPER_INTERVAL:-15s}
BIN=$ROOT/target/release

say()  { printf '\033[1m==>\033[0m %s\n' "$*"; }
die()  { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

# start NAME CMD...: runs CMD in the background unless NAME already runs; logs to run/NAME.log.
start() {
  local name=$1; shift
  if running "$name"; then say "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"; return; fi
  nohup "$@" >>"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  say "started $name (pid $!, log $RUN_DIR/$name.log)"
}

# wait_http NAME URL SECONDS
wait_http() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    curl -fsk -o /dev/null "$2" && return 0
    running "$1" || die "$1 exited; see $RUN_DIR/$1.log: $(tail -n 3 "$RUN_DIR/$1.log" 2>/dev/null)"
    sleep 0.2
  done
  die "$1 did not answer on $2 within $3 s; see $RUN_DIR/$1.log"
}

need_package() {  # need_package BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 && return
  [ "$(id -u)" = 0 ] || die "$1 is missing: run 'apt-get install $2' as root, or run this script as root"
  say "installing $2 from Debian packages"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

install_native() {
  command -v cargo >/dev/null || die "cargo is missing: install Rust 1.95 (rustup) first"
  need_package curl curl
  need_package victoria-metrics victoria-metrics
  say "building release binaries"
  cargo build --release --locked -p peeper-agent -p peeper-server
  mkdir -p "$RUN_DIR/vm" "$RUN_DIR/server" "$RUN_DIR/agent"

  if [ ! -f "certs/crt/$HOST.pem" ]; then
    say "generating self-signed certificates for $HOST under certs/"
    "$BIN/peeper-server" certs init --dir certs --host "$HOST"
  fi

  start victoria-metrics victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" \
    -storageDataPath="$RUN_DIR/vm" -search.latencyOffset=1s
  wait_http victoria-metrics "http://127.0.0.1:$VM_PORT/health" 30

  start peeper-server "$BIN/peeper-server" --listen "127.0.0.1:$SERVER_PORT" \
    --tls-cert "certs/dev/$HOST.crt" --tls-key "certs/dev/$HOST.key" \
    --remote-write-url "http://127.0.0.1:$VM_PORT/api/v1/write" --data-dir "$RUN_DIR/server"
  wait_http peeper-server "https://127.0.0.1:$SERVER_PORT/health" 30

  if [ ! -s "$RUN_DIR/agent.token" ]; then
    say "creating a token for tenant $TENANT"
    (umask 077; "$BIN/peeper-server" token create --tenant "$TENANT" --data-dir "$RUN_DIR/server" >"$RUN_DIR/agent.token")
  fi

  start peeper-agent "$BIN/peeper-agent" --server "https://$HOST:$SERVER_PORT" \
    --token-file "$RUN_DIR/agent.token" --ca-file certs/ca/ca.crt --interval "$INTERVAL" \
    --buffer-dir "$RUN_DIR/agent"

  say "waiting for the first samples in VictoriaMetrics"
  local query="node_memory_MemTotal_bytes{tenant=\"$TENANT\"}" i
  for ((i = 0; i < 120; i++)); do
    curl -fs "http://127.0.0.1:$VM_PORT/internal/force_flush" >/dev/null || true
    if curl -fs "http://127.0.0.1:$VM_PORT/api/v1/query" --data-urlencode "query=$query" | grep -q '"value"'; then
      cat <<MSG

Peeper is running.
  VictoriaMetrics  http://127.0.0.1:$VM_PORT/vmui
  peeper-server    https://$HOST:$SERVER_PORT  (health: /health, metrics: /metrics)
  try:             curl -s http://127.0.0.1:$VM_PORT/api/v1/query --data-urlencode 'query=$query'
  status / stop:   ./setup.sh -s   /   ./setup.sh -u
MSG
      return 0
    fi
    running peeper-agent || die "peeper-agent exited; see $RUN_DIR/peeper-agent.log"
    sleep 1
  done
  die "no samples after 120 s; see $RUN_DIR/peeper-agent.log and $RUN_DIR/peeper-server.log"
}

status() {
  local name
  for name in victoria-metrics peeper-server peeper-agent; do
    if running "$name"; then echo "$name: running (pid $(cat "$RUN_DIR/$name.pid"))"
    else echo "$name: stopped"; fi
  done
  if running victoria-metrics; then
    curl -fs "http://127.0.0.1:$VM_PORT/internal/force_flush" >/dev/null || true
    echo "series from agents: $(curl -fs "http://127.0.0.1:$VM_PORT/api/v1/query" \
      --data-urlencode 'query=count({tenant!=""})' | sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)".*/\1/p')"
  fi
}

uninstall() {
  local name pid
  for name in peeper-agent peeper-server victoria-metrics; do
    if running "$name"; then
      pid=$(cat "$RUN_DIR/$name.pid"); kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      say "stopped $name"
    fi
  done
  rm -rf "$RUN_DIR"
  say "removed $RUN_DIR"
}

case "${1:-}" in
  -i|--install)
    shift
    mode=native
    for arg in "$@"; do
      case "$arg" in
        --native) mode=native ;;
        -h|--help) usage ;;
        *) die "unknown option $arg for -i; supported now: --native" ;;
      esac
    done
    [ "$mode" = native ] && install_native ;;
  -s|--status) status ;;
  -u|--uninstall) uninstall ;;
  -h|--help) usage ;;
  *) usage 2 ;;
esac
