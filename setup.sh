#!/usr/bin/env bash
# Peeper installer.
#   ./setup.sh -i --native [--telegram|-t] [--email|-e]
#                          build, then start VictoriaMetrics, peeper-server, a local agent,
#                          vmalert and Alertmanager on this host's loopback
#   ./setup.sh --test-alert [TENANT]   send a test alert through the configured receivers
#   ./setup.sh -s          status of what -i started
#   ./setup.sh -u          stop and remove what -i started (keeps certs/ and the build)
#   ./setup.sh -h          this help
# Settings: env/.env, env/.env.telegram, env/.env.email (copy the *.example files); a
# variable already set in the shell wins over the files.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")" && pwd)
cd "$ROOT"

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() {
  printf 'setup.sh: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
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

load_settings() {
  local file
  for file in env/.env env/.env.telegram env/.env.email; do load_env_file "$file"; done
  RUN_DIR=${PEEPER_RUN_DIR:-$ROOT/run}
  VM_PORT=${PEEPER_VM_PORT:-8428}
  SERVER_PORT=${PEEPER_SERVER_PORT:-8443}
  SERVER_METRICS_PORT=${PEEPER_SERVER_METRICS_PORT:-9480}
  VMALERT_PORT=${PEEPER_VMALERT_PORT:-8880}
  ALERTMANAGER_PORT=${PEEPER_ALERTMANAGER_PORT:-9093}
  HOST=${PEEPER_HOST:-localhost}
  TENANT=${PEEPER_TENANT:-default}
  INTERVAL=${PEEPER_INTERVAL:-15s}
  EVAL_INTERVAL=${PEEPER_ALERT_EVAL_INTERVAL:-15s}
  # Where a Grafana on this host reads provisioning and dashboards (Debian's grafana package).
  GRAFANA_PROVISIONING=${PEEPER_GRAFANA_PROVISIONING_DIR:-/etc/grafana/provisioning}
  GRAFANA_DASHBOARDS=${PEEPER_GRAFANA_DASHBOARDS_DIR:-/var/lib/grafana/dashboards/peeper}
  # PEEPER_BIN_DIR: prebuilt binaries (the tests' build), instead of `cargo build --release`.
  BIN=${PEEPER_BIN_DIR:-$ROOT/target/release}
  VM_URL=http://127.0.0.1:$VM_PORT
  ALERTMANAGER_URL=http://127.0.0.1:$ALERTMANAGER_PORT
  COMPONENTS=(victoria-metrics peeper-server peeper-agent alertmanager vmalert)
}

pid_of() { cat "$RUN_DIR/$1.pid" 2>/dev/null; }
running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(pid_of "$1")" 2>/dev/null; }

# start NAME CMD...: runs CMD in the background unless NAME already runs; logs to run/NAME.log.
start() {
  local name=$1
  shift
  if running "$name"; then
    say "$name already running (pid $(pid_of "$name"))"
    return
  fi
  nohup "$@" >>"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  say "started $name (pid $!, log $RUN_DIR/$name.log)"
}

stop() {
  local name=$1 pid
  running "$name" || return 0
  pid=$(pid_of "$name")
  kill "$pid"
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$RUN_DIR/$name.pid"
  say "stopped $name"
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

need_package() { # need_package BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 && return
  [ "$(id -u)" = 0 ] || die "$1 is missing: run 'apt-get install $2' as root, or run this script as root"
  say "installing $2 from Debian packages"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

build() {
  if [ -n "${PEEPER_BIN_DIR:-}" ]; then
    if [ ! -x "$BIN/peeper-server" ] || [ ! -x "$BIN/peeper-agent" ]; then
      die "PEEPER_BIN_DIR=$BIN holds no peeper-server and peeper-agent binaries: build them or unset it"
    fi
    return
  fi
  command -v cargo >/dev/null || die "cargo is missing: install Rust 1.95 (rustup) first"
  say "building release binaries"
  cargo build --release --locked -p peeper-agent -p peeper-server
}

# The Alertmanager config, rendered (and checked) from env/.env.telegram and env/.env.email
# before anything starts: a missing token or chat id stops the install here.
render_alertmanager() {
  local flags=()
  [ "$WITH_TELEGRAM" = 1 ] && flags+=(--telegram)
  [ "$WITH_EMAIL" = 1 ] && flags+=(--email)
  mkdir -p "$RUN_DIR/alertmanager"
  "$BIN/peeper-server" alertmanager-config --templates "$ROOT/compose/alertmanager/templates" \
    --out "$RUN_DIR/alertmanager/alertmanager.yml" "${flags[@]}" ||
    die "the alert receivers are not configured right (see the line above); nothing was started"
}

# VictoriaMetrics' scrape config with this host's loopback ports; a job whose component
# does not run here (no "native" address) is left out.
render_scrape() {
  awk -v server="127.0.0.1:$SERVER_METRICS_PORT" -v victoriametrics="127.0.0.1:$VM_PORT" \
    -v vmalert="127.0.0.1:$VMALERT_PORT" -v alertmanager="127.0.0.1:$ALERTMANAGER_PORT" '
    function flush() { if (job != "" && keep) printf "%s", job; job = "" }
    /^  - job_name:/ { flush(); job = $0 "\n"; keep = 0; next }
    job != "" && /# native: / {
      name = $NF
      addr = (name == "server") ? server : (name == "victoriametrics") ? victoriametrics : \
        (name == "vmalert") ? vmalert : (name == "alertmanager") ? alertmanager : ""
      if (addr != "") { keep = 1; sub(/\["[^"]*"\].*/, "[\"" addr "\"]") }
      job = job $0 "\n"; next
    }
    job != "" { job = job $0 "\n"; next }
    { print }
    END { flush() }' compose/victoriametrics/scrape.yml >"$RUN_DIR/scrape.yml"
}

# Grafana's provisioning (datasources with this host's addresses, the dashboard provider) and
# the dashboards, where a Grafana installed on this host reads them. Every file written is
# listed in run/grafana-files, so -u removes exactly those.
install_grafana_files() {
  local list=$RUN_DIR/grafana-files file
  if ! mkdir -p "$GRAFANA_PROVISIONING/datasources" "$GRAFANA_PROVISIONING/dashboards" "$GRAFANA_DASHBOARDS" 2>/dev/null; then
    say "not installing Grafana files: cannot write $GRAFANA_PROVISIONING (run as root)"
    return
  fi
  sed -e "s|http://[^ ]*  # native: victoriametrics|$VM_URL|" \
    -e "s|http://[^ ]*  # native: alertmanager|$ALERTMANAGER_URL|" \
    compose/grafana/provisioning/datasources/peeper.yml >"$GRAFANA_PROVISIONING/datasources/peeper.yml"
  sed -e "s|path: .*|path: $GRAFANA_DASHBOARDS|" \
    compose/grafana/provisioning/dashboards/peeper.yml >"$GRAFANA_PROVISIONING/dashboards/peeper.yml"
  {
    echo "$GRAFANA_PROVISIONING/datasources/peeper.yml"
    echo "$GRAFANA_PROVISIONING/dashboards/peeper.yml"
    for file in compose/grafana/dashboards/*.json; do
      cp "$file" "$GRAFANA_DASHBOARDS/"
      echo "$GRAFANA_DASHBOARDS/$(basename "$file")"
    done
  } >"$list"
  say "Grafana provisioning in $GRAFANA_PROVISIONING, dashboards in $GRAFANA_DASHBOARDS"
}

remove_grafana_files() {
  local list=$RUN_DIR/grafana-files file
  [ -f "$list" ] || return 0
  while IFS= read -r file; do rm -f "$file"; done <"$list"
  rmdir "$GRAFANA_DASHBOARDS" 2>/dev/null || true
  say "removed Peeper's Grafana files"
}

grafana_line() {
  if command -v grafana-server >/dev/null 2>&1 || [ -x /usr/sbin/grafana-server ]; then
    echo "Grafana          http://$HOST:3000  (restart grafana-server to load the Peeper folder)"
  else
    echo "Grafana          not installed: install it from Grafana's APT repository (apt.grafana.com,"
    echo "                 package grafana) or run the Compose stack; it finds the provisioning already"
  fi
}

start_store() {
  start victoria-metrics victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" \
    -storageDataPath="$RUN_DIR/vm" -search.latencyOffset=1s \
    -promscrape.config="$RUN_DIR/scrape.yml"
  wait_http victoria-metrics "$VM_URL/health" 30
}

start_server_and_agent() {
  if [ ! -f "certs/crt/$HOST.pem" ]; then
    say "generating self-signed certificates for $HOST under certs/"
    "$BIN/peeper-server" certs init --dir certs --host "$HOST"
  fi
  start peeper-server "$BIN/peeper-server" --listen "127.0.0.1:$SERVER_PORT" \
    --metrics-listen "127.0.0.1:$SERVER_METRICS_PORT" \
    --tls-cert "certs/dev/$HOST.crt" --tls-key "certs/dev/$HOST.key" \
    --remote-write-url "$VM_URL/api/v1/write" --data-dir "$RUN_DIR/server"
  wait_http peeper-server "https://127.0.0.1:$SERVER_PORT/health" 30
  if [ ! -s "$RUN_DIR/agent.token" ]; then
    say "creating a token for tenant $TENANT"
    (
      umask 077
      "$BIN/peeper-server" token create --tenant "$TENANT" --data-dir "$RUN_DIR/server" >"$RUN_DIR/agent.token"
    )
  fi
  start peeper-agent "$BIN/peeper-agent" --server "https://$HOST:$SERVER_PORT" \
    --token-file "$RUN_DIR/agent.token" --ca-file certs/ca/ca.crt --interval "$INTERVAL" \
    --buffer-dir "$RUN_DIR/agent"
}

start_alerting() {
  start alertmanager prometheus-alertmanager --config.file="$RUN_DIR/alertmanager/alertmanager.yml" \
    --storage.path="$RUN_DIR/alertmanager/data" --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" \
    --cluster.listen-address=
  # Running already: pick up a changed config (receivers switched on, a new chat).
  kill -HUP "$(pid_of alertmanager)"
  wait_http alertmanager "$ALERTMANAGER_URL/-/ready" 30
  start vmalert vmalert -rule="$ROOT/compose/vmalert/rules/*.yml" \
    -datasource.url="$VM_URL" -remoteWrite.url="$VM_URL" -remoteRead.url="$VM_URL" \
    -notifier.url="$ALERTMANAGER_URL" -evaluationInterval="$EVAL_INTERVAL" \
    -httpListenAddr="127.0.0.1:$VMALERT_PORT"
  kill -HUP "$(pid_of vmalert)"
  wait_http vmalert "http://127.0.0.1:$VMALERT_PORT/metrics" 30
}

receivers_line() {
  local config=$RUN_DIR/alertmanager/alertmanager.yml found=()
  grep -q telegram_configs "$config" && found+=(Telegram)
  grep -q email_configs "$config" && found+=(e-mail)
  if [ ${#found[@]} = 0 ]; then
    echo "none (alerts show in Alertmanager only: fill env/.env.telegram or env/.env.email)"
  else
    echo "${found[*]}"
  fi
}

install_native() {
  need_package curl curl
  need_package victoria-metrics victoria-metrics
  need_package prometheus-alertmanager prometheus-alertmanager
  build
  mkdir -p "$RUN_DIR/vm" "$RUN_DIR/server" "$RUN_DIR/agent"
  render_alertmanager
  render_scrape
  start_store
  start_server_and_agent
  start_alerting
  install_grafana_files

  say "waiting for the first samples in VictoriaMetrics"
  local query="node_memory_MemTotal_bytes{tenant=\"$TENANT\"}" i
  for ((i = 0; i < 120; i++)); do
    curl -fs "$VM_URL/internal/force_flush" >/dev/null || true
    if curl -fs "$VM_URL/api/v1/query" --data-urlencode "query=$query" | grep -q '"value"'; then
      cat <<MSG

Peeper is running.
  VictoriaMetrics  $VM_URL  (query API: $VM_URL/api/v1/query)
  peeper-server    https://$HOST:$SERVER_PORT  (health: /health; its metrics: http://127.0.0.1:$SERVER_METRICS_PORT/metrics)
  vmalert          http://127.0.0.1:$VMALERT_PORT/api/v1/alerts
  Alertmanager     $ALERTMANAGER_URL  (receivers: $(receivers_line))
  $(grafana_line)
  try:             curl -s $VM_URL/api/v1/query --data-urlencode 'query=$query'
  test an alert:   ./setup.sh --test-alert
  status / stop:   ./setup.sh -s   /   ./setup.sh -u
MSG
      return 0
    fi
    running peeper-agent || die "peeper-agent exited; see $RUN_DIR/peeper-agent.log"
    sleep 1
  done
  die "no samples after 120 s; see $RUN_DIR/peeper-agent.log and $RUN_DIR/peeper-server.log"
}

# am_counter NAME INTEGRATION: a counter of Alertmanager's /metrics, summed (0 if absent).
am_counter() {
  curl -fs "$ALERTMANAGER_URL/metrics" |
    awk -v name="$1" -v integration="integration=\"$2\"" \
      '$1 ~ "^"name"[{]" && index($1, integration) { sum += $2 } END { printf "%d\n", sum }'
}

test_alert() {
  local tenant=${1:-} integrations=() integration labels now sent failed
  running alertmanager || die "Alertmanager is not running: start the stack with ./setup.sh -i --native first"
  grep -q telegram_configs "$RUN_DIR/alertmanager/alertmanager.yml" && integrations+=(telegram)
  grep -q email_configs "$RUN_DIR/alertmanager/alertmanager.yml" && integrations+=(email)
  [ ${#integrations[@]} -gt 0 ] ||
    die "no receiver is configured: fill env/.env.telegram or env/.env.email and run ./setup.sh -i again"
  # Alertmanager counts every request to a receiver and every failed one (it retries).
  declare -A before_sent before_failed
  for integration in "${integrations[@]}"; do
    before_sent[$integration]=$(am_counter alertmanager_notification_requests_total "$integration")
    before_failed[$integration]=$(am_counter alertmanager_notification_requests_failed_total "$integration")
  done
  # A label with the time makes each test a new group, sent at once; it resolves after a minute.
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  labels="\"alertname\":\"PeeperTestAlert\",\"severity\":\"info\",\"instance\":\"$(hostname)\",\"sent\":\"$now\""
  [ -n "$tenant" ] && labels="$labels,\"tenant\":\"$tenant\""
  curl -fsS -X POST -H 'Content-Type: application/json' "$ALERTMANAGER_URL/api/v2/alerts" -d "[{\"labels\":{$labels},
    \"annotations\":{\"summary\":\"Test alert from ./setup.sh --test-alert\",
    \"description\":\"If you read this, Peeper's alerts reach this receiver.\"},
    \"startsAt\":\"$now\",\"endsAt\":\"$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)\"}]" >/dev/null || die "Alertmanager at $ALERTMANAGER_URL refused the test alert"
  say "test alert sent${tenant:+ for tenant $tenant}; waiting for Alertmanager to deliver it"
  local i pending delivered
  for ((i = 0; i < 60; i++)); do
    sleep 1
    pending=0
    for integration in "${integrations[@]}"; do
      sent=$(am_counter alertmanager_notification_requests_total "$integration")
      failed=$(am_counter alertmanager_notification_requests_failed_total "$integration")
      if [ "$failed" -gt "${before_failed[$integration]}" ]; then
        die "Alertmanager could not deliver to $integration (it keeps retrying): $(grep -i "integration=$integration" "$RUN_DIR/alertmanager.log" | tail -n 1 | sed 's/.*err=//')"
      fi
      delivered=$((sent - failed - before_sent[$integration] + before_failed[$integration]))
      [ "$delivered" -gt 0 ] || pending=1
    done
    if [ "$pending" = 0 ]; then
      say "delivered: Alertmanager sent the test alert by ${integrations[*]}"
      return 0
    fi
  done
  die "Alertmanager did not send the test alert within 60 s; see $RUN_DIR/alertmanager.log"
}

status() {
  local name
  for name in "${COMPONENTS[@]}"; do
    if running "$name"; then
      echo "$name: running (pid $(pid_of "$name"), log $RUN_DIR/$name.log)"
    else
      echo "$name: stopped"
    fi
  done
  if running victoria-metrics; then
    curl -fs "$VM_URL/internal/force_flush" >/dev/null || true
    echo "series from agents: $(curl -fs "$VM_URL/api/v1/query" \
      --data-urlencode 'query=count({tenant!=""})' | sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)".*/\1/p')"
  fi
}

uninstall() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${COMPONENTS[$i]}"; done
  remove_grafana_files
  rm -rf "$RUN_DIR"
  say "removed $RUN_DIR"
}

main() {
  load_settings
  WITH_TELEGRAM=0
  WITH_EMAIL=0
  case "${1:-}" in
  -i | --install)
    shift
    local arg
    for arg in "$@"; do
      case "$arg" in
      --native) ;;
      -t | --telegram) WITH_TELEGRAM=1 ;;
      -e | --email) WITH_EMAIL=1 ;;
      -h | --help) usage ;;
      *) die "unknown option $arg for -i; see ./setup.sh -h" ;;
      esac
    done
    install_native
    ;;
  --test-alert) test_alert "${2:-}" ;;
  -s | --status) status ;;
  -u | --uninstall) uninstall ;;
  -h | --help) usage ;;
  *) usage 2 ;;
  esac
}

main "$@"
