# shellcheck shell=bash
# The server install on this host (`./setup.sh -i [--native] [-B] [-b] [-e] [-t]`):
# VictoriaMetrics, peeper-server behind HAProxy (TLS on PEEPER_PROXY_PORT), vmalert,
# Alertmanager, the server host's own agent, Grafana's provisioning, and the backup schedule.

SERVER_COMPONENTS=(victoria-metrics peeper-server haproxy alertmanager vmalert peeper-agent)

# The Alertmanager config, rendered (and checked) from env/.env.telegram and env/.env.email
# before anything starts: a missing token or chat id stops the install here. $1: where
# Alertmanager finds the templates (the repo's, or the path inside the Compose container).
render_alertmanager() {
  local flags=()
  [ "$WITH_TELEGRAM" = 1 ] && flags+=(--telegram)
  [ "$WITH_EMAIL" = 1 ] && flags+=(--email)
  local why
  mkdir -p "$RUN_DIR/alertmanager"
  why=$("$BIN/peeper-server" alertmanager-config --templates "${1:-$ROOT/compose/alertmanager/templates}" \
    --out "$RUN_DIR/alertmanager/alertmanager.yml" "${flags[@]}" 2>&1) ||
    die "${why#peeper-server: error: }; nothing was started"
}

# VictoriaMetrics' scrape config with this host's loopback ports.
render_scrape() {
  awk -v server="127.0.0.1:$SERVER_METRICS_PORT" -v victoriametrics="127.0.0.1:$VM_PORT" \
    -v vmalert="127.0.0.1:$VMALERT_PORT" -v alertmanager="127.0.0.1:$ALERTMANAGER_PORT" \
    -v haproxy="127.0.0.1:$HAPROXY_STATS_PORT" '
    /# native: / {
      name = $NF
      addr = (name == "server") ? server : (name == "victoriametrics") ? victoriametrics : \
        (name == "vmalert") ? vmalert : (name == "alertmanager") ? alertmanager : \
        (name == "haproxy") ? haproxy : ""
      sub(/\["[^"]*"\].*/, "[\"" addr "\"]")
    }
    { print }' compose/victoriametrics/scrape.yml >"$RUN_DIR/scrape.yml"
}

# HAProxy's production config with this host's ports: the lines marked "# harness:" (the
# tests replace the same lines) become TLS on PEEPER_PROXY_PORT with certs/crt/HOST.pem, the
# server on loopback, the internal stats port on loopback, and Grafana on PEEPER_GRAFANA_PORT
# (a Grafana installed from apt.grafana.com; while none answers, those paths answer 404).
render_haproxy() {
  local pem=$ROOT/certs/crt/$HOST.pem
  awk -v bind="    bind :$PROXY_PORT ssl crt $pem alpn h2,http/1.1" \
    -v server="    server peeper1 127.0.0.1:$SERVER_PORT proto h2 check inter 5s fall 3 rise 2" \
    -v internal="    bind 127.0.0.1:$HAPROXY_STATS_PORT" \
    -v grafana="    server grafana1 127.0.0.1:$GRAFANA_PORT check inter 5s fall 3 rise 2" '
    /# harness: bind/ { print bind; next }
    /# harness: server/ { print server; next }
    /# harness: internal/ { print internal; next }
    /# harness: grafana/ { print grafana; next }
    /^resolvers docker/ { skip = 1; next }
    skip && /^[^ ]/ { skip = 0 }
    skip { next }
    { print }' compose/haproxy/haproxy.cfg >"$RUN_DIR/haproxy.cfg"
  haproxy -c -f "$RUN_DIR/haproxy.cfg" >"$RUN_DIR/haproxy-check.log" 2>&1 ||
    die "HAProxy refuses its config; see $RUN_DIR/haproxy-check.log"
}

ensure_certs() {
  [ -f "certs/crt/$HOST.pem" ] && return
  say "generating a self-signed CA and a certificate for $HOST under certs/ (give certs/ca/ca.crt to agents)"
  local ip=()
  [ -n "${PEEPER_IP:-}" ] && [ "$PEEPER_IP" != "$HOST" ] && ip=(--ip "$PEEPER_IP")
  "$BIN/peeper-server" certs init --dir certs --host "$HOST" "${ip[@]}" >/dev/null 2>&1 ||
    die "cannot generate certificates under certs/"
  mkdir -p "$DATA_DIR"
  printf '%s\n' certs/ca/ca.crt certs/ca/ca.key "certs/dev/$HOST.crt" "certs/dev/$HOST.key" \
    "certs/crt/$HOST.pem" >"$DATA_DIR/generated-certs"
}

# The token of the server host's own agent (tenant PEEPER_TENANT), created once.
ensure_local_token() {
  local token=$AGENT_TOKEN
  [ -s "$token" ] && return
  mkdir -p "$(dirname "$token")"
  (
    umask 077
    "$BIN/peeper-server" token create --tenant "$TENANT" --data-dir "$SERVER_DATA" >"$token" 2>/dev/null
  ) || die "cannot create a token for tenant $TENANT"
  say "created a token for the server host's agent (tenant $TENANT)"
}

start_store() {
  claim_port victoria-metrics "$VM_PORT" PEEPER_VM_PORT
  start victoria-metrics victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" \
    -storageDataPath="$DATA_DIR/vm" -search.latencyOffset=1s -retentionPeriod="${PEEPER_RETENTION:-12}" \
    -promscrape.config="$RUN_DIR/scrape.yml"
  wait_http victoria-metrics "$VM_URL/health" 30
}

# Every port of the stack is checked before anything starts.
claim_server_ports() {
  claim_port victoria-metrics "$VM_PORT" PEEPER_VM_PORT
  claim_port peeper-server "$SERVER_PORT" PEEPER_SERVER_PORT
  claim_port peeper-server "$SERVER_METRICS_PORT" PEEPER_SERVER_METRICS_PORT
  claim_port haproxy "$PROXY_PORT" PEEPER_PROXY_PORT
  claim_port haproxy "$HAPROXY_STATS_PORT" PEEPER_HAPROXY_STATS_PORT
  claim_port alertmanager "$ALERTMANAGER_PORT" PEEPER_ALERTMANAGER_PORT
  claim_port vmalert "$VMALERT_PORT" PEEPER_VMALERT_PORT
}

start_server_side() {
  start_store
  reload victoria-metrics
  write_env peeper-server PEEPER_AGENT_SILENT_AFTER PEEPER_CHECK_PATIENCE PEEPER_LIVENESS_INTERVAL RUST_LOG
  start peeper-server "$BIN/peeper-server" --plaintext --listen "127.0.0.1:$SERVER_PORT" \
    --metrics-listen "127.0.0.1:$SERVER_METRICS_PORT" --trusted-proxy 127.0.0.1/32 \
    --remote-write-url "$VM_URL/api/v1/write" --data-dir "$SERVER_DATA"
  wait_http peeper-server "http://127.0.0.1:$SERVER_METRICS_PORT/metrics" 30
  start haproxy haproxy -f "$RUN_DIR/haproxy.cfg" -db
  wait_http haproxy "https://127.0.0.1:$PROXY_PORT/health" 30
  start alertmanager prometheus-alertmanager --config.file="$RUN_DIR/alertmanager/alertmanager.yml" \
    --storage.path="$DATA_DIR/alertmanager" --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" \
    --cluster.listen-address=
  reload alertmanager
  wait_http alertmanager "$ALERTMANAGER_URL/-/ready" 30
  start vmalert vmalert -rule="$ROOT/compose/vmalert/rules/*.yml" \
    -datasource.url="$VM_URL" -remoteWrite.url="$VM_URL" -remoteRead.url="$VM_URL" \
    -notifier.url="$ALERTMANAGER_URL" -evaluationInterval="$EVAL_INTERVAL" \
    -httpListenAddr="127.0.0.1:$VMALERT_PORT"
  reload vmalert
  wait_http vmalert "http://127.0.0.1:$VMALERT_PORT/metrics" 30
}

# The server host's own agent: Linux, and the probes of the blackbox module.
start_local_agent() {
  ensure_local_token
  export PEEPER_SERVER_URL="https://$HOST:$PROXY_PORT" PEEPER_TOKEN_FILE="$AGENT_TOKEN"
  export PEEPER_CA_FILE="$AGENT_CA" PEEPER_BUFFER_DIR="$AGENT_BUFFER"
  export PEEPER_INTERVAL="$INTERVAL"
  if [ "$WITH_BLACKBOX" = 1 ]; then
    export PEEPER_PROBES_ENABLED=true PEEPER_PROBES_DIR="$PROBES_DIR"
    [ -n "${PEEPER_PROBES_CA_FILE:-}" ] || [ ! -f certs/ca/ca.crt ] || export PEEPER_PROBES_CA_FILE="$AGENT_CA"
  fi
  mkdir -p "$AGENT_BUFFER"
  place_agent_files "$AGENT_TOKEN"
  run_agent PEEPER_SERVER_URL PEEPER_TOKEN_FILE PEEPER_CA_FILE PEEPER_BUFFER_DIR \
    PEEPER_INTERVAL PEEPER_INSTANCE PEEPER_PROBES_ENABLED PEEPER_PROBES_DIR PEEPER_PROBES_CA_FILE PEEPER_LOG
}

install_server() {
  need_package curl curl
  need_package victoria-metrics victoria-metrics
  need_package prometheus-alertmanager prometheus-alertmanager
  need_package haproxy haproxy
  prepare_programs peeper-server peeper-agent
  if [ "$WITH_BACKUP" = 1 ]; then
    require PEEPER_BACKUP_DIR .env.backup "backups are on and need a directory to write to"
    need_package vmbackup victoria-metrics
  fi
  begin_install
  render_alertmanager
  install_programs
  mkdir -p "$DATA_DIR/vm" "$SERVER_DATA"
  {
    [ "$WITH_BLACKBOX" = 1 ] && echo blackbox
    [ "$WITH_BACKUP" = 1 ] && echo backup
  } >"$RUN_DIR/server-modules" || true
  ensure_certs
  render_scrape
  render_haproxy
  claim_server_ports
  start_server_side
  start_local_agent
  install_grafana_files
  [ "$WITH_BACKUP" = 1 ] && install_backup_schedule
  wait_for_data "$TENANT" "node_memory_MemTotal_bytes"
  print_server_summary
}

# wait_for_data TENANT METRIC: until the metric of that tenant is queryable.
wait_for_data() {
  local query="$2{tenant=\"$1\"}" i
  say "waiting for the first samples in VictoriaMetrics ($query)"
  for ((i = 0; i < 120; i++)); do
    curl -fs "$VM_URL/internal/force_flush" >/dev/null || true
    curl -fs "$VM_URL/api/v1/query" --data-urlencode "query=$query" | grep -q '"value"' && return 0
    running peeper-agent || die "peeper-agent exited; see $(log_of peeper-agent)"
    sleep 1
  done
  die "no samples after 120 s; see $(log_of peeper-agent) and $(log_of peeper-server)"
}

print_server_summary() {
  cat <<MSG

Peeper is running.
  agents push to   https://$HOST:$PROXY_PORT  (HAProxy; give agents certs/ca/ca.crt)
  VictoriaMetrics  $VM_URL  (query API: $VM_URL/api/v1/query)
  vmalert          http://127.0.0.1:$VMALERT_PORT/api/v1/alerts
  Alertmanager     $ALERTMANAGER_URL  (receivers: $(receivers_line))
  $(grafana_line)
  a token:         ./setup.sh --token TENANT   (save it as peeper-token next to setup.sh on the product host)
  test an alert:   ./setup.sh --test-alert
  status / stop:   ./setup.sh -s   /   ./setup.sh -u
MSG
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

# ./setup.sh --token TENANT: a new token for an agent of TENANT, printed once.
new_token() {
  [ -n "${1:-}" ] || die "--token needs a tenant name, e.g. ./setup.sh --token acme"
  [ -x "$BIN/peeper-server" ] || BIN=/usr/bin
  [ -x "$BIN/peeper-server" ] || die "peeper-server is not installed: run ./setup.sh -i first"
  "$BIN/peeper-server" token create --tenant "$1" --data-dir "$SERVER_DATA"
}
