#!/usr/bin/env bash
# Two peeper-server configurations side by side: each gets its own fleet of N real agents
# (Linux collector, 2 s, plain HTTP), both write into one VictoriaMetrics, and both are
# measured over the same windows, so the machine's noise hits both alike. Prints each
# server's CPU per request (from /proc/PID/stat) and the ratio B/A for every window.
#
#   bench/fleet_ab.sh "A's extra flags" "B's extra flags"
#
# Settings (environment): AB_AGENTS (60 a server), AB_WINDOWS (4), AB_SECONDS (45),
# AB_SERVER_A / AB_SERVER_B (binaries; default the release build of this tree), AB_AGENT.
# Needs victoria-metrics and a release build (cargo build --release -p peeper-agent
# -p peeper-server).
set -euo pipefail
cd "$(dirname "$0")/.."

A_FLAGS=${1:-}
B_FLAGS=${2:-}
AGENTS=${AB_AGENTS:-60}
WINDOWS=${AB_WINDOWS:-4}
SECONDS_PER_WINDOW=${AB_SECONDS:-45}
SERVER_A=${AB_SERVER_A:-$PWD/target/release/peeper-server}
SERVER_B=${AB_SERVER_B:-$PWD/target/release/peeper-server}
AGENT=${AB_AGENT:-$PWD/target/release/peeper-agent}
WORK=$(mktemp -d /tmp/peeper-ab.XXXXXX)
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

die() {
  echo "fleet_ab: $*" >&2
  exit 1
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() {
  local url=$1 tries=100
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || die "nothing answers at $url (logs in $WORK)"
    sleep 0.1
  done
}

# start_server NAME BINARY FLAGS: prints "PID PORT METRICS_PORT".
start_server() {
  local name=$1 binary=$2 flags=$3 port metrics
  local -a extra
  read -ra extra <<<"$flags"
  port=$(free_port)
  metrics=$(free_port)
  mkdir -p "$WORK/$name"
  "$binary" token create --tenant "$name" --data-dir "$WORK/$name" >"$WORK/$name.token" 2>/dev/null
  "$binary" --plaintext --listen "127.0.0.1:$port" --data-dir "$WORK/$name" \
    --metrics-listen "127.0.0.1:$metrics" --remote-write-url "$VM/api/v1/write" \
    "${extra[@]}" >"$WORK/$name.log" 2>&1 &
  echo "$! $port $metrics"
}

start_agents() {
  local name=$1 port=$2 i
  for i in $(seq "$AGENTS"); do
    env -i PATH="$PATH" PEEPER_SERVER_URL="http://127.0.0.1:$port/api/v1/write" \
      PEEPER_TOKEN_FILE="$WORK/$name.token" PEEPER_INSTANCE="$name-$i" PEEPER_INTERVAL=2s \
      PEEPER_BUFFER_DIR="$WORK/agents/$name-$i" "$AGENT" >"$WORK/agents/$name-$i.log" 2>&1 &
    PIDS+=("$!")
    sleep 0.01
  done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

requests() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk '/^peeper_server_requests_total\{code="2/ {s += $NF} END {print s + 0}'
}

store_writes() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk '/^peeper_server_store_writes_total / {print $NF}'
}

main() {
  local binary
  for binary in "$SERVER_A" "$SERVER_B" "$AGENT"; do
    [ -x "$binary" ] || die "no $binary: build first (cargo build --release -p peeper-agent -p peeper-server)"
  done
  command -v victoria-metrics >/dev/null || die "victoria-metrics is missing: apt-get install victoria-metrics"
  local vm_port a b
  vm_port=$(free_port)
  VM=http://127.0.0.1:$vm_port
  victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" -storageDataPath="$WORK/vm" \
    -retentionPeriod=1 >"$WORK/vm.log" 2>&1 &
  PIDS+=("$!")
  wait_http "$VM/health"
  mkdir -p "$WORK/agents"
  read -r -a a <<<"$(start_server a "$SERVER_A" "$A_FLAGS")"
  PIDS+=("${a[0]}")
  read -r -a b <<<"$(start_server b "$SERVER_B" "$B_FLAGS")"
  PIDS+=("${b[0]}")
  wait_http "http://127.0.0.1:${a[1]}/health"
  wait_http "http://127.0.0.1:${b[1]}/health"
  start_agents a "${a[1]}"
  start_agents b "${b[1]}"
  sleep 15
  echo "A: $SERVER_A $A_FLAGS"
  echo "B: $SERVER_B $B_FLAGS"
  local window ca cb ra rb wa wb
  for window in $(seq "$WINDOWS"); do
    ca=$(cpu_ticks "${a[0]}") cb=$(cpu_ticks "${b[0]}")
    ra=$(requests "${a[2]}") rb=$(requests "${b[2]}")
    wa=$(store_writes "${a[2]}") wb=$(store_writes "${b[2]}")
    sleep "$SECONDS_PER_WINDOW"
    ca=$(($(cpu_ticks "${a[0]}") - ca)) cb=$(($(cpu_ticks "${b[0]}") - cb))
    ra=$(($(requests "${a[2]}") - ra)) rb=$(($(requests "${b[2]}") - rb))
    wa=$(($(store_writes "${a[2]}") - wa)) wb=$(($(store_writes "${b[2]}") - wb))
    if [ "$ra" = 0 ] || [ "$rb" = 0 ]; then die "a server took no requests (logs in $WORK)"; fi
    awk -v w="$window" -v ca="$ca" -v cb="$cb" -v ra="$ra" -v rb="$rb" -v wa="$wa" -v wb="$wb" \
      -v hz="$(getconf CLK_TCK)" 'BEGIN {
      a = ca * 1e6 / hz / ra; b = cb * 1e6 / hz / rb
      printf "window %d: A %d requests, %.0f µs CPU each, %.2f store writes each | B %d requests, %.0f µs each, %.2f writes each | B/A %.2f\n", w, ra, a, wa / ra, rb, b, wb / rb, b / a
    }'
  done
}

main
