# shellcheck shell=bash
# The Compose install, sourced by setup.sh: the server stack of compose/server/ where a Docker
# engine and docker-compose run (`./setup.sh -i [-B] [-b] [-e] [-t]` without --native), an
# agent from compose/agent/ (install_agent_compose), and their backups, tokens, status and
# removal. The host keeps what the native install keeps: certificates under certs/, tokens and
# the store under data/, the rendered Alertmanager config under run/; the containers mount
# them, so either install finds the other's data.

COMPOSE_CMD=()

# True when a Docker engine answers and docker-compose (or the `docker compose` plugin) is
# installed; COMPOSE_CMD is then the command to run.
compose_available() {
  timeout 20 docker info >/dev/null 2>&1 || return 1
  if command -v docker-compose >/dev/null 2>&1; then
    COMPOSE_CMD=(docker-compose)
  elif docker compose version >/dev/null 2>&1; then
    COMPOSE_CMD=(docker compose)
  else
    return 1
  fi
}

compose_require() {
  [ ${#COMPOSE_CMD[@]} -gt 0 ] || compose_available ||
    die "the Docker engine or docker-compose is not available (docker info, docker-compose version)"
}

# The -f files and profile of the server stack for WITH_BLACKBOX, PEEPER_EXTERNAL_MODE and
# WITH_BACKUP, one argument per line (compose/server/compose.yml says why modules are split so).
compose_files_server() {
  printf '%s\n' -f "$ROOT/compose/server/compose.yml"
  [ "$WITH_BLACKBOX" = 1 ] && printf '%s\n' -f "$ROOT/compose/server/blackbox.yml"
  truthy "${PEEPER_EXTERNAL_MODE:-}" && printf '%s\n' -f "$ROOT/compose/server/external.yml"
  [ "$WITH_BACKUP" = 1 ] && printf '%s\n' --profile backup
  return 0
}

# compose_project NAME ARGS...: docker-compose on project NAME with the files and profile the
# install recorded in $RUN_DIR/compose-NAME.args, and the settings of compose_env.
compose_project() {
  local name=$1 args=()
  shift
  mapfile -t args <"$RUN_DIR/compose-$name.args"
  (
    compose_env
    "${COMPOSE_CMD[@]}" -p "$name" "${args[@]}" "$@"
  )
}

# The install that is on this host: `compose_installed peeper-server` or `... peeper-agent`.
compose_installed() { [ -f "$RUN_DIR/compose-$1.args" ]; }

# compose_abs PATH: PATH made absolute against the repository (as setup.sh reads it), since
# Compose would resolve a relative one against the compose file's directory.
compose_abs() {
  case "$1" in
  /*) printf '%s\n' "$1" ;;
  *) printf '%s\n' "$ROOT/${1#./}" ;;
  esac
}

# compose_ca VAR DEFAULT: the host file to mount as the CA in VAR — VAR's own file, else
# DEFAULT when it exists, else the host's system bundle (a server certificate from a public CA).
compose_ca() {
  local file
  if [ -n "${!1:-}" ]; then
    file=$(compose_abs "${!1}")
    [ -f "$file" ] || die "$1=${!1}: no such file"
  elif [ -f "$2" ]; then
    file=$2
  elif [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    file=/etc/ssl/certs/ca-certificates.crt
  else
    die "no CA for the agent: neither $2 nor /etc/ssl/certs/ca-certificates.crt (apt-get install ca-certificates) exists; or set $1"
  fi
  export "$1=$file"
}

# What the Compose files read from the environment, as setup.sh computed it. Paths are made
# absolute: Compose would read a relative one against the compose file's directory, or take
# `certs/ca/ca.crt` for the name of a volume. Which CA files exist is compose_ca's to check.
compose_env() {
  local var
  for var in PEEPER_CA_FILE PEEPER_PROBES_CA_FILE PEEPER_BACKUP_DIR; do
    [ -z "${!var:-}" ] || export "$var=$(compose_abs "${!var}")"
  done
  PEEPER_VERSION=${PEEPER_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n 1)}
  export PEEPER_VERSION PEEPER_HOST=$HOST PEEPER_PROXY_PORT=$PROXY_PORT PEEPER_INTERVAL=$INTERVAL
  PEEPER_DATA_DIR=$(compose_abs "$DATA_DIR")
  PEEPER_RUN_DIR=$(compose_abs "$RUN_DIR")
  export PEEPER_DATA_DIR PEEPER_RUN_DIR
  export PEEPER_SERVER_METRICS_PORT=$SERVER_METRICS_PORT PEEPER_VM_PORT=$VM_PORT
  export PEEPER_VMALERT_PORT=$VMALERT_PORT PEEPER_ALERTMANAGER_PORT=$ALERTMANAGER_PORT
  export PEEPER_HAPROXY_STATS_PORT=$HAPROXY_STATS_PORT PEEPER_ALERT_EVAL_INTERVAL=$EVAL_INTERVAL
  export PEEPER_NETWORK=${PEEPER_NETWORK:-peeper} PEEPER_NETWORK_SUBNET=${PEEPER_NETWORK_SUBNET:-172.30.250.0/24}
}

# peeper-server on the host, for certificates, tokens and the Alertmanager config: the
# PEEPER_BIN_DIR build when given, else the image's own, copied out of it (it runs on glibc
# 2.36 or newer, Debian 12 and later); on an older host, a release build (setup.sh's `build`).
compose_tools() {
  if [ -n "${PEEPER_BIN_DIR:-}" ]; then
    build
    return
  fi
  say "building Peeper's images (the first build compiles Peeper: several minutes; log $RUN_DIR/compose-build.log)"
  compose_project peeper-server build >"$RUN_DIR/compose-build.log" 2>&1 ||
    die "the image build failed; see $RUN_DIR/compose-build.log"
  local id
  id=$(docker create "peeper:$PEEPER_VERSION") || die "cannot create a container of peeper:$PEEPER_VERSION"
  mkdir -p "$RUN_DIR/bin"
  if ! docker cp "$id:/usr/local/bin/peeper-server" "$RUN_DIR/bin/peeper-server" >/dev/null ||
    ! docker cp "$id:/usr/local/bin/peeper-agent" "$RUN_DIR/bin/peeper-agent" >/dev/null; then
    docker rm "$id" >/dev/null
    die "cannot copy the binaries out of peeper:$PEEPER_VERSION"
  fi
  docker rm "$id" >/dev/null
  if "$RUN_DIR/bin/peeper-server" --version >/dev/null 2>&1; then
    # shellcheck disable=SC2034 # read by ensure_certs, ensure_local_token, render_alertmanager
    BIN=$RUN_DIR/bin
  else
    say "the image's peeper-server does not run on this host (glibc older than 2.36): building one"
    build
  fi
}

# The Alertmanager config, with the templates where the container mounts them.
render_alertmanager_for_compose() {
  render_alertmanager /etc/alertmanager/templates
}

# PEEPER_EXTERNAL_MODE=true: the network must exist with the subnet peeper-server trusts.
compose_network() {
  truthy "${PEEPER_EXTERNAL_MODE:-}" || return 0
  local subnets
  if subnets=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$PEEPER_NETWORK" 2>/dev/null); then
    [[ " $subnets " == *" $PEEPER_NETWORK_SUBNET "* ]] ||
      die "the Docker network $PEEPER_NETWORK has subnet ${subnets% }, not PEEPER_NETWORK_SUBNET=$PEEPER_NETWORK_SUBNET (peeper-server trusts X-Forwarded-For from that subnet only): set PEEPER_NETWORK_SUBNET in env/.env"
  else
    docker network create --subnet "$PEEPER_NETWORK_SUBNET" "$PEEPER_NETWORK" >/dev/null ||
      die "cannot create the Docker network $PEEPER_NETWORK ($PEEPER_NETWORK_SUBNET)"
    say "created the Docker network $PEEPER_NETWORK ($PEEPER_NETWORK_SUBNET)"
  fi
}

# Module settings the stack's services take from the environment.
compose_modules() {
  if [ "$WITH_BACKUP" = 1 ]; then
    require PEEPER_BACKUP_DIR .env.backup "backups are on and need a directory to write to"
    [ "$(wc -w <<<"${PEEPER_BACKUP_CRON:-0 0 * * *}")" = 5 ] ||
      die "PEEPER_BACKUP_CRON=\"$PEEPER_BACKUP_CRON\" is not a cron schedule: write five fields, like \"0 0 * * *\" (in env/.env.backup)"
    export PEEPER_BACKUP_INSTANCE=${PEEPER_INSTANCE:-$(hostname)}
    mkdir -p "$(compose_abs "$PEEPER_BACKUP_DIR")"
  fi
  return 0
}

# A failed first install removes its containers again (setup.sh's roll_back does the rest).
compose_roll_back() {
  if [ "$1" != 0 ] && [ "$FRESH_RUN_DIR" = 1 ] && compose_installed peeper-server; then
    compose_project peeper-server down --remove-orphans >/dev/null 2>&1 || true
  fi
  roll_back "$1"
}

# Ports the stack publishes, checked before a first `up` (later ones are its own).
compose_claim_ports() {
  [ -z "$(docker ps -aq --filter name='^peeper-proxy$')" ] || return 0
  claim_port peeper-proxy "$PROXY_PORT" PEEPER_PROXY_PORT
  claim_port peeper-proxy "$HAPROXY_STATS_PORT" PEEPER_HAPROXY_STATS_PORT
  claim_port peeper-server "$SERVER_METRICS_PORT" PEEPER_SERVER_METRICS_PORT
  claim_port peeper-metrics "$VM_PORT" PEEPER_VM_PORT
  claim_port peeper-vmalert "$VMALERT_PORT" PEEPER_VMALERT_PORT
  claim_port peeper-alertmanager "$ALERTMANAGER_PORT" PEEPER_ALERTMANAGER_PORT
}

install_compose() {
  compose_require
  need_package curl curl
  say "installing the server stack with Docker Compose (${COMPOSE_CMD[*]}; --native installs it without Docker)"
  begin_install
  trap 'compose_roll_back $?' EXIT
  compose_env
  compose_modules
  compose_files_server >"$RUN_DIR/compose-peeper-server.args"
  {
    [ "$WITH_BLACKBOX" = 1 ] && echo blackbox
    [ "$WITH_BACKUP" = 1 ] && echo backup
  } >"$RUN_DIR/server-modules" || true
  mkdir -p "$DATA_DIR/server" "$DATA_DIR/vm" "$DATA_DIR/agent/buffer"
  compose_tools
  render_alertmanager_for_compose
  ensure_certs
  ensure_local_token
  compose_ca PEEPER_CA_FILE "$ROOT/certs/ca/ca.crt"
  [ "$WITH_BLACKBOX" = 0 ] || compose_ca PEEPER_PROBES_CA_FILE "$ROOT/certs/ca/ca.crt"
  compose_network
  compose_claim_ports
  say "starting the stack (log $RUN_DIR/compose-up.log)"
  compose_project peeper-server up -d --build --remove-orphans >"$RUN_DIR/compose-up.log" 2>&1 ||
    die "docker-compose up failed: $(tail -n 3 "$RUN_DIR/compose-up.log")"
  compose_wait_for_data
  print_compose_summary
}

# Until the server host's own agent's first samples are queryable, through the whole chain.
compose_wait_for_data() {
  local query="node_memory_MemTotal_bytes{tenant=\"$TENANT\"}" i
  say "waiting for the first samples in VictoriaMetrics ($query)"
  for ((i = 0; i < 180; i++)); do
    curl -fs "$VM_URL/internal/force_flush" >/dev/null || true
    curl -fs "$VM_URL/api/v1/query" --data-urlencode "query=$query" | grep -q '"value"' && return 0
    [ "$(docker inspect -f '{{.State.Running}}' peeper-agent 2>/dev/null)" = true ] ||
      die "peeper-agent is not running: $(docker logs --tail 3 peeper-agent 2>&1)"
    sleep 1
  done
  die "no samples after 180 s; peeper-agent's log ends with: $(docker logs --tail 3 peeper-agent 2>&1) (see also docker logs peeper-server, docker logs peeper-proxy)"
}

print_compose_summary() {
  cat <<MSG

Peeper is running in Docker (project peeper-server: docker ps --filter name=peeper-).
  agents push to   https://$HOST:$PROXY_PORT  (peeper-proxy; give agents certs/ca/ca.crt)
  Grafana          https://$HOST:$PROXY_PORT/  (admin / PEEPER_GRAFANA_ADMIN_PASSWORD)
  VictoriaMetrics  $VM_URL  (this host only; query API: $VM_URL/api/v1/query)
  vmalert          http://127.0.0.1:$VMALERT_PORT/api/v1/alerts
  Alertmanager     $ALERTMANAGER_URL  (receivers: $(receivers_line))
  a token:         ./setup.sh --token TENANT   (save it as peeper-token next to setup.sh on the product host)
  status / stop:   ./setup.sh -s   /   ./setup.sh -u
MSG
  [ "$WITH_BACKUP" = 0 ] ||
    echo "  backups          \"${PEEPER_BACKUP_CRON:-0 0 * * *}\" (UTC) into $PEEPER_BACKUP_DIR; now: docker exec peeper-vmbackup-toolbox peeper-backup now"
  return 0
}

# Absolute paths the agent's modules read on the host are below /host in its container;
# relative ones are the repository's, as for a native agent.
compose_host_paths() {
  local var item items out
  for var in PEEPER_MYSQL_SOCKET PEEPER_MYSQL_PASSWORD_FILE PEEPER_MYSQL_CA_FILE \
    PEEPER_POSTGRES_HOST PEEPER_POSTGRES_PASSWORD_FILE PEEPER_POSTGRES_CA_FILE \
    PEEPER_CERTS_FILES PEEPER_CERTS_ENDPOINTS_FILE PEEPER_CERTS_CA_FILE \
    PEEPER_PROBES_DIR PEEPER_PROBES_CA_FILE PEEPER_TEXTFILE_DIR; do
    [ -n "${!var:-}" ] || continue
    out=""
    IFS=, read -ra items <<<"${!var}"
    for item in "${items[@]}"; do
      item=${item#"${item%%[![:space:]]*}"}
      case "$item" in
      /*) item=/host$item ;;
      # PEEPER_POSTGRES_HOST is a host name unless it is a socket directory
      *) [ "$var" = PEEPER_POSTGRES_HOST ] || item=/host$(compose_abs "$item") ;;
      esac
      out+=${out:+,}$item
    done
    export "$var=$out"
  done
}

# The agent on a product host, in a container (compose/agent/compose.yml); install_agent has
# checked the server and stored the token first.
install_agent_compose() {
  compose_require
  ! compose_installed peeper-server ||
    die "this host runs the server stack, whose peeper-agent is this host's agent: its settings come from env/ (./setup.sh -i again)"
  [ -s "$DATA_DIR/agent/agent.token" ] || die "no token in $DATA_DIR/agent/agent.token"
  mkdir -p "$RUN_DIR" "$DATA_DIR/agent/buffer"
  printf '%s\n' -f "$ROOT/compose/agent/compose.yml" >"$RUN_DIR/compose-peeper-agent.args"
  (
    compose_env
    compose_ca PEEPER_CA_FILE "$ROOT/certs/ca/ca.crt"
    compose_host_paths
    compose_project peeper-agent up -d --build --remove-orphans
  ) >"$RUN_DIR/compose-up.log" 2>&1 || die "docker-compose up failed: $(tail -n 3 "$RUN_DIR/compose-up.log")"
  say "peeper-agent runs in Docker (docker logs peeper-agent), pushing to https://$HOST:$PROXY_PORT"
}

# ./setup.sh --token TENANT on a Compose server: created inside peeper-server, in the same
# tokens.json (data/server) the running server reloads.
compose_new_token() {
  [ -n "${1:-}" ] || die "--token needs a tenant name, e.g. ./setup.sh --token acme"
  docker exec peeper-server peeper-server token create --tenant "$1" --data-dir /var/lib/peeper-server
}

compose_backup_now() {
  docker exec peeper-vmbackup-toolbox peeper-backup now
}

# compose_restore_backup NAME: the store stopped around the restore, as vmrestore needs.
compose_restore_backup() {
  [ -n "${1:-}" ] || die "--restore needs a backup name: ls ${PEEPER_BACKUP_DIR:-the backup directory}"
  docker stop peeper-metrics >/dev/null
  if ! docker exec peeper-vmbackup-toolbox peeper-backup restore "$1"; then
    docker start peeper-metrics >/dev/null
    die "restore failed: VictoriaMetrics runs again on the data it had"
  fi
  docker start peeper-metrics >/dev/null
  wait_http_compose "$VM_URL/health" 60 || die "VictoriaMetrics does not answer after the restore: docker logs peeper-metrics"
  say "VictoriaMetrics answers again, with the data of ${1%.tar.gz}"
}

# wait_http_compose URL SECONDS
wait_http_compose() {
  local i
  for ((i = 0; i < $2; i++)); do
    curl -fs -o /dev/null --max-time 2 "$1" && return 0
    sleep 1
  done
  return 1
}

# ./setup.sh -s for the Compose installs on this host.
compose_status() {
  local name
  for name in peeper-server peeper-agent; do
    compose_installed "$name" || continue
    compose_require
    compose_project "$name" ps
  done
}

# uninstall_compose PURGE: down for each project installed here; PURGE=1 also removes their
# named volumes (Grafana's config and database, Alertmanager's silences). Bind-mounted data
# (data/, run/) is setup.sh's uninstall's to keep or delete. Call it before run/ is removed.
uninstall_compose() {
  local purge=${1:-0} name down=(down --remove-orphans) what=containers
  if [ "$purge" = 1 ]; then
    down+=(--volumes)
    what="containers and volumes"
  fi
  for name in peeper-agent peeper-server; do
    compose_installed "$name" || continue
    compose_require
    compose_project "$name" "${down[@]}" || die "docker-compose down of $name failed"
    rm -f "$RUN_DIR/compose-$name.args"
    say "removed the $what of $name"
  done
}
