#!/usr/bin/env bash
# Whole-process benchmarks of Peeper against the peer tools from Debian packages, run side by
# side in one run and reported as medians and ratios (bench/README.md explains every number).
#
#   scripts/bench.sh [agent|relay|alert|fleet [N ...]|all]        (default: all)
#
#   agent  peeper-agent (linux+apache+mysql+postgres, 15 s) against node, apache, mysqld and
#          postgres exporters scraped by vmagent, both pushing to one VictoriaMetrics, for the
#          same wall time: RSS, peak RSS, CPU-s per minute, series per cycle.
#   relay  peeper-server (plaintext, token, tenant label) against vmagent relaying the same
#          remote-write load to VictoriaMetrics: CPU-s per million samples.
#   alert  the time from an agent's death to the Telegram message, production defaults
#          (bench/alert.sh).
#   fleet  N real peeper-agent processes (Linux collector, 2 s) pushing to peeper-server, then
#          to vmagent, for each N given (default 10 60 200): the receiver's CPU-s per million
#          samples, CPU per request, RSS (bench/fleet.sh).
#
# Settings (environment): BENCH_RUNS (3), BENCH_MINUTES (3, measured minutes a run),
# BENCH_WARMUP_SECONDS (20), BENCH_RELAY_RUNS (5), BENCH_RELAY_REQUESTS (200 requests of
# 10 000 samples a run), BENCH_FLEET_SIZES ("10 60 200"), BENCH_FLEET_RUNS (3),
# BENCH_FLEET_SECONDS (60), BENCH_FLEET_INTERVAL (2s), BENCH_FLEET_WARMUP_SECONDS (15). As root, installs the Debian packages it needs. Everything listens on
# free loopback ports, lives in one temp dir, and is stopped (by pid) and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() {
  [ -z "${1:-}" ] || echo "bench: $1" >&2
  echo "usage: $0 [agent|relay|alert|fleet [N ...]|all]" >&2
  exit 2
}
PART=${1:-all}
[ $# = 0 ] || shift
case "$PART" in agent | relay | alert | all) [ $# = 0 ] || usage "only fleet takes arguments" ;; fleet) ;; *) usage ;; esac
read -ra FLEET_SIZES <<<"${*:-${BENCH_FLEET_SIZES:-10 60 200}}"
for n in "${FLEET_SIZES[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || usage "fleet sizes are agent counts, positive integers: not '$n'"
done
[ ${#FLEET_SIZES[@]} -gt 0 ] || usage "no fleet sizes"
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_MINUTES=${BENCH_MINUTES:-3}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-20}
BENCH_RELAY_RUNS=${BENCH_RELAY_RUNS:-5}
BENCH_RELAY_REQUESTS=${BENCH_RELAY_REQUESTS:-200}
RELAY_WARMUP=10
PY=/usr/bin/python3 # Debian's, for python3-snappy
RESULTS=$ROOT/bench/results
STARTED=$(date +%s)

log() { echo "==> $*" >&2; }
die() {
  echo "bench: $*" >&2
  exit 1
}

# --- packages -------------------------------------------------------------------------------
PACKAGES=(victoria-metrics apache2 mariadb-server postgresql prometheus-node-exporter
  prometheus-apache-exporter prometheus-mysqld-exporter prometheus-postgres-exporter
  python3 python3-snappy curl prometheus-alertmanager)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing Debian packages: ${missing[*]}; run as root or 'apt-get install ${missing[*]}'"
  fi
fi
[ "$(id -u)" = 0 ] || die "run as root (apache2, mariadbd and postgres are started as in the tests)"

# --- build ----------------------------------------------------------------------------------
log "cargo build --release -p peeper-agent -p peeper-server"
cargo build --release -p peeper-agent -p peeper-server >&2
TARGET=$(cargo metadata --format-version 1 --no-deps | $PY -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

WORK=$(mktemp -d /tmp/peeper-bench.XXXXXX)
chmod 755 "$WORK" # www-data and postgres must enter it
mkdir -p "$WORK/bin" "$WORK/log" "$RESULTS"
# Copies: the shared target dir may be rebuilt by someone else while this runs.
cp "$TARGET/release/peeper-agent" "$TARGET/release/peeper-server" "$WORK/bin/"
AGENT=$WORK/bin/peeper-agent
SERVER=$WORK/bin/peeper-server

# --- processes ------------------------------------------------------------------------------
PIDS=()
CLEANUPS=()
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local pid c
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: runs CMD in the background, logs to $WORK/log/NAME.log, sets $PID.
start() {
  local name=$1
  shift
  "$@" >"$WORK/log/$name.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
}
stop() {
  stop_pid "$1"
  local kept=() pid
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  PIDS=("${kept[@]}")
}
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_http URL SECONDS [PID NAME]: until URL answers 2xx.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
      cat "$WORK/log/$4.log" >&2
      die "$4 exited before $url answered"
    fi
    sleep 0.2
  done
  die "$url did not answer in $2 s"
}
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / t}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
alive() {
  kill -0 "$1" 2>/dev/null || {
    cat "$WORK/log/$2.log" >&2
    die "$2 (pid $1) died"
  }
}

# --- services -------------------------------------------------------------------------------
start_vm() {
  VM_PORT=$(free_port)
  VM=http://127.0.0.1:$VM_PORT
  mkdir -p "$WORK/vm"
  start victoria-metrics victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" \
    -storageDataPath="$WORK/vm" -search.latencyOffset=1s -retentionPeriod=1
  VM_PID=$PID
  wait_http "$VM/health" 30 "$VM_PID" victoria-metrics
}

start_apache() {
  APACHE_PORT=$(free_port)
  local dir=$WORK/apache m=/usr/lib/apache2/modules
  mkdir -p "$dir/www"
  chmod 755 "$dir" "$dir/www"
  echo hello >"$dir/www/index.html"
  cat >"$dir/httpd.conf" <<EOF
ServerRoot $dir
ServerName 127.0.0.1
Listen 127.0.0.1:$APACHE_PORT
PidFile $dir/httpd.pid
DefaultRuntimeDir $dir
ErrorLog $dir/error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule authz_host_module $m/mod_authz_host.so
LoadModule status_module $m/mod_status.so
ExtendedStatus On
DocumentRoot $dir/www
<Location /server-status>
  SetHandler server-status
  Require ip 127.0.0.1 ::1
</Location>
EOF
  apache2 -f "$dir/httpd.conf" -k start || die "apache2 did not start: $(cat "$dir/error.log")"
  CLEANUPS+=("apache2 -f '$dir/httpd.conf' -k stop")
  APACHE_STATUS="http://127.0.0.1:$APACHE_PORT/server-status?auto"
  wait_http "$APACHE_STATUS" 20
}

MON_PASSWORD=bench-monitor-password
start_mariadb() {
  MYSQL_PORT=$(free_port)
  local dir=$WORK/mariadb
  mkdir -p "$dir/tmp"
  MYSQL_SOCKET=$dir/mysqld.sock
  mariadb-install-db --no-defaults --datadir="$dir/data" --user=root \
    --auth-root-authentication-method=socket --skip-test-db >"$WORK/log/mariadb-install-db.log" 2>&1 ||
    die "mariadb-install-db failed: $(cat "$WORK/log/mariadb-install-db.log")"
  start mariadbd mariadbd --no-defaults --datadir="$dir/data" --socket="$MYSQL_SOCKET" \
    --port="$MYSQL_PORT" --pid-file="$dir/mariadbd.pid" --tmpdir="$dir/tmp" \
    --bind-address=127.0.0.1 --user=root
  local pid=$PID deadline=$((SECONDS + 60))
  until mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    alive "$pid" mariadbd
    [ $SECONDS -lt $deadline ] || die "mariadbd did not accept connections in 60 s"
    sleep 0.3
  done
  local sql="mariadb --no-defaults --socket=$MYSQL_SOCKET -uroot -N -B -e" host
  for host in $($sql "SELECT Host FROM mysql.user WHERE User = ''"); do
    $sql "DROP USER ''@'$host'"
  done
  $sql "CREATE USER 'peeper'@'%' IDENTIFIED BY '$MON_PASSWORD' WITH MAX_USER_CONNECTIONS 3; GRANT PROCESS, REPLICATION CLIENT, SELECT, SLAVE MONITOR ON *.* TO 'peeper'@'%'"
}

start_postgres() {
  PG_PORT=$(free_port)
  local dir=$WORK/postgres bin
  bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$dir/sock"
  chown -R postgres:postgres "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 >"$WORK/log/initdb.log" 2>&1 || die "initdb failed: $(cat "$WORK/log/initdb.log")"
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $dir/sock -c listen_addresses=127.0.0.1" start >/dev/null ||
    die "pg_ctl start failed: $(cat "$dir/server.log")"
  CLEANUPS+=("runuser -u postgres -- '$bin/pg_ctl' -D '$dir/data' -m fast -w stop")
  local psql="runuser -u postgres -- $bin/psql -X -q -h $dir/sock -p $PG_PORT -U postgres -d postgres -c"
  $psql "CREATE ROLE peeper LOGIN PASSWORD '$MON_PASSWORD'"
  $psql "GRANT pg_monitor TO peeper"
}

# --- part 1: agent --------------------------------------------------------------------------
PEER_NAMES=(node_exporter apache_exporter mysqld_exporter postgres_exporter vmagent)

bench_agent() {
  local part_start=$SECONDS
  log "agent: starting VictoriaMetrics, apache2, MariaDB, PostgreSQL"
  start_vm
  start_apache
  start_mariadb
  start_postgres
  local dir=$WORK/agent
  mkdir -p "$dir"
  echo "$MON_PASSWORD" >"$dir/password"
  chmod 600 "$dir/password"
  printf '[client]\nuser=peeper\npassword=%s\nhost=127.0.0.1\nport=%s\n' "$MON_PASSWORD" "$MYSQL_PORT" >"$dir/my.cnf"
  chmod 600 "$dir/my.cnf"
  local raw=$RESULTS/agent-raw.tsv run
  printf 'run\tkind\tside\tprocess\trss_kb\thwm_kb\tcpu_s\twindow_s\tvalue\n' >"$raw"
  for run in $(seq "$BENCH_RUNS"); do
    log "agent: run $run of $BENCH_RUNS ($BENCH_WARMUP_SECONDS s warm-up + $BENCH_MINUTES min)"
    rm -rf "$dir/buffer" "$dir/vmagent"
    mkdir -p "$dir/buffer" "$dir/vmagent"
    local ports=()
    for _ in 0 1 2 3 4; do ports+=("$(free_port)"); done
    cat >"$dir/scrape.yml" <<EOF
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: node
    static_configs: [{targets: ["127.0.0.1:${ports[0]}"]}]
  - job_name: apache
    static_configs: [{targets: ["127.0.0.1:${ports[1]}"]}]
  - job_name: mysql
    static_configs: [{targets: ["127.0.0.1:${ports[2]}"]}]
  - job_name: postgres
    static_configs: [{targets: ["127.0.0.1:${ports[3]}"]}]
EOF
    declare -A pid=()
    start peeper-agent env -i PATH="$PATH" \
      PEEPER_SERVER_URL="$VM/api/v1/write?extra_label=bench=peeper" \
      PEEPER_INSTANCE=bench-host PEEPER_INTERVAL=15s PEEPER_BUFFER_DIR="$dir/buffer" \
      PEEPER_APACHE_ENABLED=true PEEPER_APACHE_URL="$APACHE_STATUS" \
      PEEPER_MYSQL_ENABLED=true PEEPER_MYSQL_HOST=127.0.0.1 PEEPER_MYSQL_PORT="$MYSQL_PORT" \
      PEEPER_MYSQL_USER=peeper PEEPER_MYSQL_PASSWORD_FILE="$dir/password" \
      PEEPER_POSTGRES_ENABLED=true PEEPER_POSTGRES_HOST=127.0.0.1 PEEPER_POSTGRES_PORT="$PG_PORT" \
      PEEPER_POSTGRES_USER=peeper PEEPER_POSTGRES_PASSWORD_FILE="$dir/password" \
      PEEPER_POSTGRES_SSLMODE=disable \
      "$AGENT"
    pid[peeper-agent]=$PID
    start node_exporter prometheus-node-exporter --web.listen-address="127.0.0.1:${ports[0]}"
    pid[node_exporter]=$PID
    start apache_exporter prometheus-apache-exporter --telemetry.address="127.0.0.1:${ports[1]}" \
      --scrape_uri="$APACHE_STATUS"
    pid[apache_exporter]=$PID
    start mysqld_exporter prometheus-mysqld-exporter --web.listen-address="127.0.0.1:${ports[2]}" \
      --config.my-cnf="$dir/my.cnf"
    pid[mysqld_exporter]=$PID
    start postgres_exporter env \
      DATA_SOURCE_NAME="postgresql://peeper:$MON_PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
      prometheus-postgres-exporter --web.listen-address="127.0.0.1:${ports[3]}"
    pid[postgres_exporter]=$PID
    start vmagent vmagent -httpListenAddr="127.0.0.1:${ports[4]}" -promscrape.config="$dir/scrape.yml" \
      -remoteWrite.url="$VM/api/v1/write" -remoteWrite.tmpDataPath="$dir/vmagent" \
      -remoteWrite.label=bench=peers
    pid[vmagent]=$PID
    sleep "$BENCH_WARMUP_SECONDS"
    declare -A cpu0=()
    local name t0 t1
    for name in peeper-agent "${PEER_NAMES[@]}"; do
      alive "${pid[$name]}" "$name"
      cpu0[$name]=$(cpu_s "${pid[$name]}")
    done
    t0=$(date +%s.%N)
    sleep $((BENCH_MINUTES * 60))
    t1=$(date +%s.%N)
    for name in peeper-agent "${PEER_NAMES[@]}"; do
      alive "${pid[$name]}" "$name"
      local side=peers
      [ "$name" = peeper-agent ] && side=peeper
      printf '%s\tproc\t%s\t%s\t%s\t%s\t%s\t%s\t\n' "$run" "$side" "$name" \
        "$(status_kb "${pid[$name]}" VmRSS)" "$(status_kb "${pid[$name]}" VmHWM)" \
        "$(awk -v a="${cpu0[$name]}" -v b="$(cpu_s "${pid[$name]}")" 'BEGIN{printf "%.2f", b - a}')" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')" >>"$raw"
    done
    curl -fsS "$VM/internal/force_flush" >/dev/null
    local job n
    for side in peeper peers; do
      while IFS=$'\t' read -r job n; do
        printf '%s\tseries\t%s\t%s\t\t\t\t\t%s\n' "$run" "$side" "$job" "$n" >>"$raw"
      done < <($PY "$ROOT/bench/report.py" series "$VM" "{bench=\"$side\"}")
    done
    grep -q "^$run"$'\tseries\tpeeper\t' "$raw" || die "no series of peeper-agent in VictoriaMetrics: $(tail -20 "$WORK/log/peeper-agent.log")"
    grep -q "^$run"$'\tseries\tpeers\t' "$raw" || die "no series of vmagent in VictoriaMetrics: $(tail -20 "$WORK/log/vmagent.log")"
    for name in peeper-agent "${PEER_NAMES[@]}"; do stop "${pid[$name]}"; done
    unset pid cpu0
  done
  {
    echo "# agent: peeper-agent vs exporters + vmagent"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), shared machine."
    echo "peeper-agent $("$AGENT" --version 2>/dev/null | awk '{print $NF}') (release) with linux, apache, mysql, postgres at 15 s,"
    echo "pushing to VictoriaMetrics (victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics));"
    echo "peers: prometheus-node-exporter $(dpkg-query -W -f='${Version}' prometheus-node-exporter),"
    echo "prometheus-apache-exporter $(dpkg-query -W -f='${Version}' prometheus-apache-exporter),"
    echo "prometheus-mysqld-exporter $(dpkg-query -W -f='${Version}' prometheus-mysqld-exporter),"
    echo "prometheus-postgres-exporter $(dpkg-query -W -f='${Version}' prometheus-postgres-exporter), scraped every 15 s by vmagent."
    echo "Targets: apache2 $(dpkg-query -W -f='${Version}' apache2), MariaDB $(dpkg-query -W -f='${Version}' mariadb-server), PostgreSQL $(dpkg-query -W -f='${Version}' postgresql)."
    echo
    $PY "$ROOT/bench/report.py" agent "$raw"
    echo
    echo "This part took $((SECONDS - part_start)) s (\`BENCH_RUNS=$BENCH_RUNS BENCH_MINUTES=$BENCH_MINUTES BENCH_WARMUP_SECONDS=$BENCH_WARMUP_SECONDS scripts/bench.sh agent\`). Raw rows: \`agent-raw.tsv\`."
  } >"$RESULTS/agent.md"
  stop "$VM_PID"
  cat "$RESULTS/agent.md"
}

# --- part 2: relay --------------------------------------------------------------------------
bench_relay() {
  local part_start=$SECONDS
  log "relay: starting VictoriaMetrics, generating $((RELAY_WARMUP + BENCH_RELAY_REQUESTS)) bodies"
  start_vm
  local dir=$WORK/relay bodies=$WORK/relay/bodies
  mkdir -p "$dir/server" "$bodies"
  $PY "$ROOT/bench/relay_load.py" gen --dir "$bodies" --requests $((RELAY_WARMUP + BENCH_RELAY_REQUESTS))
  local raw=$RESULTS/relay-raw.tsv run relay out port
  printf 'run\trelay\ttenant\tcpu_seconds\tsamples\texpected_in_vm\tdelivered\tcpu_s_per_million\tsend_seconds\tdeliver_seconds\n' >"$raw"
  local order
  for run in $(seq "$BENCH_RELAY_RUNS"); do
    # Alternate who goes first, so neither always meets a fresher VictoriaMetrics.
    if [ $((run % 2)) = 1 ]; then order="peeper-server vmagent peeper-server-rewrite"; else order="vmagent peeper-server-rewrite peeper-server"; fi
    for relay in $order; do
      log "relay: run $run of $BENCH_RELAY_RUNS, $relay"
      local tenant=relay-${relay}-r$run args=()
      port=$(free_port)
      case "$relay" in
      peeper-server*)
        local mode=extra-label
        [ "$relay" = peeper-server-rewrite ] && mode=rewrite
        "$SERVER" token create --tenant "$tenant" --data-dir "$dir/server" >"$dir/token" 2>/dev/null
        start "relay-$relay" "$SERVER" --plaintext --listen "127.0.0.1:$port" --data-dir "$dir/server" \
          --metrics-listen "127.0.0.1:$(free_port)" --remote-write-url "$VM/api/v1/write" --forward-mode "$mode"
        args=(--token-file "$dir/token")
        ;;
      vmagent)
        rm -rf "$dir/vmagent"
        start "relay-$relay" vmagent -httpListenAddr="127.0.0.1:$port" -remoteWrite.url="$VM/api/v1/write" \
          -remoteWrite.tmpDataPath="$dir/vmagent" -remoteWrite.label=tenant="$tenant" \
          -httpAuth.username=bench -httpAuth.password=bench-relay-password
        args=(--basic-auth bench:bench-relay-password)
        ;;
      esac
      local relay_pid=$PID
      wait_http "http://127.0.0.1:$port/health" 30 "$relay_pid" "relay-$relay"
      out=$($PY "$ROOT/bench/relay_load.py" run --dir "$bodies" --url "http://127.0.0.1:$port/api/v1/write" \
        "${args[@]}" --pid "$relay_pid" --vm "$VM" --tenant "$tenant" --warmup "$RELAY_WARMUP" \
        --requests "$BENCH_RELAY_REQUESTS" --timeout 120) || die "$relay run $run failed: $(tail -5 "$WORK/log/relay-$relay.log" 2>/dev/null)"
      echo "$out" | $PY -c '
import json, sys
d = json.loads(sys.stdin.read())
print("\t".join(str(x) for x in [sys.argv[1], sys.argv[2], d["tenant"], d["cpu_seconds"], d["samples"], d["expected_in_vm"], d["delivered"], round(d["cpu_s_per_million"], 4), d["send_seconds"], d["deliver_seconds"]]))
' "$run" "$relay" >>"$raw"
      stop "$relay_pid"
    done
  done
  {
    echo "# relay: peeper-server vs vmagent relaying remote-write to VictoriaMetrics"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), shared machine."
    echo "peeper-server $("$SERVER" --version 2>/dev/null | awk '{print $NF}') (release) --plaintext with a bearer token, tenant label (extra-label: forwarded to"
    echo "\`/api/v1/write?extra_label=tenant=...\`; rewrite: decoded, relabelled, re-encoded); vmagent (victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics))"
    echo "with \`-httpAuth.*\` basic auth and \`-remoteWrite.label=tenant=...\`; both into one VictoriaMetrics."
    echo
    $PY "$ROOT/bench/report.py" relay "$raw"
    echo
    echo "This part took $((SECONDS - part_start)) s (\`BENCH_RELAY_RUNS=$BENCH_RELAY_RUNS BENCH_RELAY_REQUESTS=$BENCH_RELAY_REQUESTS scripts/bench.sh relay\`). Raw rows: \`relay-raw.tsv\`."
  } >"$RESULTS/relay.md"
  stop "$VM_PID"
  cat "$RESULTS/relay.md"
}

# shellcheck source=bench/alert.sh
. "$ROOT/bench/alert.sh"
# shellcheck source=bench/fleet.sh
. "$ROOT/bench/fleet.sh"

case "$PART" in
agent) bench_agent ;;
relay) bench_relay ;;
alert) bench_alert ;;
fleet) bench_fleet ;;
all)
  bench_agent
  echo
  bench_relay
  echo
  bench_alert
  echo
  bench_fleet
  ;;
esac
log "done in $(($(date +%s) - STARTED)) s; results in bench/results/"
