# shellcheck shell=bash
# The agent install on a product host (`./setup.sh -i agent [-m] [-o] [-a] [-d] [-c]
# [--nginx] [--probes]`): the server from PEEPER_HOST in env/.env, the modules from flags and env files,
# the token from a file `peeper-token` next to setup.sh (stored 0600, then deleted, as Peeper 0.7
# does), checked with one real push before anything is installed.

# The PEEPER_* variables the agent may get, by module.
AGENT_VARS=(PEEPER_SERVER_URL PEEPER_TOKEN_FILE PEEPER_CA_FILE PEEPER_BUFFER_DIR PEEPER_INTERVAL
  PEEPER_INSTANCE PEEPER_LOG PEEPER_LINUX_ENABLED PEEPER_LINUX_ROOTFS
  PEEPER_LINUX_CPU_INFO
  PEEPER_MYSQL_ENABLED PEEPER_MYSQL_HOST PEEPER_MYSQL_PORT PEEPER_MYSQL_SOCKET PEEPER_MYSQL_USER
  PEEPER_MYSQL_PASSWORD PEEPER_MYSQL_PASSWORD_FILE
  PEEPER_POSTGRES_ENABLED PEEPER_POSTGRES_HOST PEEPER_POSTGRES_PORT PEEPER_POSTGRES_DATABASE
  PEEPER_POSTGRES_USER PEEPER_POSTGRES_PASSWORD PEEPER_POSTGRES_PASSWORD_FILE PEEPER_POSTGRES_SSLMODE
  PEEPER_APACHE_ENABLED PEEPER_APACHE_URL PEEPER_NGINX_ENABLED PEEPER_NGINX_URL
  PEEPER_TEXTFILE_ENABLED PEEPER_TEXTFILE_DIR PEEPER_DOCKER_ENABLED PEEPER_DOCKER_SOCKET
  PEEPER_DOCKER_CONTAINER_LABELS PEEPER_CERTS_ENABLED PEEPER_CERTS_ENDPOINTS PEEPER_CERTS_FILES
  PEEPER_CERTS_CA_FILE PEEPER_PROBES_ENABLED PEEPER_PROBES_DIR
  PEEPER_PROBES_CA_FILE)

# Switches each module by flag, PEEPER_*_ENABLED or its Peeper 0.7 name, and checks that a
# module that is on has what it needs.
agent_modules() {
  local on=()
  if module_on "$WITH_MYSQL" PEEPER_MYSQL_ENABLED MYSQL_EXPORTER_ENABLED; then
    require PEEPER_MYSQL_USER .env.mysql "the mysql module is on and needs its monitoring user"
    require_secret PEEPER_MYSQL_PASSWORD .env.mysql "the mysql module is on and needs the user's password"
    export PEEPER_MYSQL_ENABLED=true
    on+=(mysql)
  else
    export PEEPER_MYSQL_ENABLED=false
  fi
  if module_on "$WITH_POSTGRES" PEEPER_POSTGRES_ENABLED POSTGRES_EXPORTER_ENABLED; then
    require PEEPER_POSTGRES_USER .env.postgres "the postgres module is on and needs its monitoring user"
    require_secret PEEPER_POSTGRES_PASSWORD .env.postgres "the postgres module is on and needs the user's password"
    export PEEPER_POSTGRES_ENABLED=true
    on+=(postgres)
  else
    export PEEPER_POSTGRES_ENABLED=false
  fi
  if module_on "$WITH_CERTS" PEEPER_CERTS_ENABLED; then
    [ -n "${PEEPER_CERTS_ENDPOINTS:-}${PEEPER_CERTS_FILES:-}" ] ||
      die "PEEPER_CERTS_ENDPOINTS (or PEEPER_CERTS_FILES) is not set: the certs module is on and needs what to watch (in env/.env.certs; copy env/.env.certs.example to start)"
    export PEEPER_CERTS_ENABLED=true
    on+=(certs)
  else
    export PEEPER_CERTS_ENABLED=false
  fi
  local module var flag
  for module in apache nginx docker; do
    var="PEEPER_${module^^}_ENABLED"
    flag="WITH_${module^^}"
    if module_on "${!flag}" "$var"; then
      export "$var=true"
      on+=("$module")
    else
      export "$var=false"
    fi
  done
  # On the server host, the server install's blackbox probes stay with its agent.
  if [ "$WITH_PROBES" = 1 ] || truthy "${PEEPER_PROBES_ENABLED:-}" || grep -qs blackbox "$RUN_DIR/server-modules"; then
    export PEEPER_PROBES_ENABLED=true PEEPER_PROBES_DIR=${PEEPER_PROBES_DIR:-$PROBES_DIR}
    on+=(probes)
  fi
  AGENT_MODULES="linux${on[*]:+ ${on[*]}}"
}

# The server agents push to: PEEPER_HOST (and PEEPER_PROXY_PORT) from env/.env.
agent_server() {
  [ -f env/.env ] || [ -n "${PEEPER_HOST:-}" ] ||
    die "env/.env is missing: copy env/.env.example to env/.env and set PEEPER_HOST to the Peeper server"
  export PEEPER_SERVER_URL="https://$HOST:$PROXY_PORT"
  if [ -z "${PEEPER_CA_FILE:-}" ] && [ -f certs/ca/ca.crt ]; then
    export PEEPER_CA_FILE="$ROOT/certs/ca/ca.crt"
  fi
}

# run_agent VAR...: the agent's env file from VARs, then the agent started with it; when it
# runs already and the file changed, it re-reads the file (SIGHUP): no restart, nothing lost.
run_agent() {
  local env=$AGENT_ENV before
  before=$(cat "$env" 2>/dev/null || true)
  mkdir -p "$(dirname "$env")"
  write_env_to "$env" "$@"
  if ! running peeper-agent; then
    start peeper-agent "$BIN/peeper-agent" --env-file "$env"
  elif [ "$before" != "$(cat "$env")" ]; then
    reload peeper-agent
    say "peeper-agent re-read its settings (SIGHUP): $(log_of peeper-agent) says what changed"
  else
    say "peeper-agent already running"
  fi
}

# store_token FROM TO: the token where only the agent reads it: 0600 (setup.sh's layout,
# the agent runs as root), or root:peeper 0640 (the packaged agent runs as peeper).
store_token() {
  if [ "$SYSTEM_LAYOUT" = 1 ]; then
    install -m 0640 -o root -g peeper "$1" "$2"
  else
    (
      umask 077
      cp "$1" "$2"
    )
  fi
}

# check_push: one real push with the modules on (`peeper-agent --once`), before anything is
# installed; a failure names what to fix.
check_push() {
  local out hint
  say "checking that $PEEPER_SERVER_URL answers and accepts the token (one push: $AGENT_MODULES)"
  out=$("$BIN/peeper-agent" --once 2>&1) && return 0
  out=$(printf '%s' "$out" | grep -v '^\s*$' | tail -n 1)
  case "$out" in
  *"token refused"* | *401* | *403*)
    hint="the server refused the token: create one with ./setup.sh --token TENANT on the server and save it as $ROOT/peeper-token" ;;
  *"certificate is for"* | *"names no host"*)
    hint="set PEEPER_HOST in env/.env to a name the server's certificate holds (see the line above), or reissue the certificate" ;;
  *"certificate expired"* | *"not valid before"*)
    hint="renew the server's certificate (certs/crt/ on the server), or check the clocks" ;;
  *certificate*)
    hint="copy the server's certs/ca/ca.crt to $ROOT/certs/ca/ca.crt (or set PEEPER_CA_FILE)" ;;
  *)
    hint="check PEEPER_HOST and PEEPER_PROXY_PORT in env/.env, and that the server runs (./setup.sh -s there)" ;;
  esac
  die "the check push failed, nothing was installed: $out; $hint"
}

install_agent() {
  agent_server
  agent_modules
  local in_compose=0
  [ "$FORCE_NATIVE" = 0 ] && compose_available && in_compose=1
  prepare_programs peeper-agent
  local stored=$AGENT_TOKEN candidate
  if [ -s peeper-token ]; then
    candidate=$ROOT/peeper-token
  elif [ -s "$stored" ]; then
    candidate=$stored
  else
    die "no token: save the token the server printed (./setup.sh --token TENANT there) as $ROOT/peeper-token and run this again"
  fi
  export PEEPER_TOKEN_FILE=$candidate PEEPER_BUFFER_DIR=$AGENT_BUFFER PEEPER_INTERVAL=$INTERVAL
  check_push
  begin_install
  [ "$in_compose" = 1 ] || install_programs
  mkdir -p "$AGENT_BUFFER" "$(dirname "$stored")"
  if [ "$candidate" != "$stored" ]; then
    store_token "$candidate" "$stored"
    rm -f "$ROOT/peeper-token"
    say "stored the token in $stored (readable by the agent only) and deleted peeper-token"
  fi
  export PEEPER_TOKEN_FILE=$stored
  if [ "$in_compose" = 1 ]; then
    install_agent_compose
    return
  fi
  if [ "$SYSTEM_LAYOUT" = 1 ]; then
    # The packaged agent reads its files under /etc/peeper, not in this repository.
    place_agent_files "$stored"
    [ "${PEEPER_CA_FILE:-}" != "$ROOT/certs/ca/ca.crt" ] || export PEEPER_CA_FILE=$AGENT_CA
  fi
  # Installing again with other modules has the running agent take them up (SIGHUP).
  run_agent "${AGENT_VARS[@]}"
  sleep 1
  running peeper-agent || die "peeper-agent exited at once; see $(log_of peeper-agent)"
  cat <<MSG

The agent runs (modules: $AGENT_MODULES), pushing to $PEEPER_SERVER_URL.
  status / stop:  ./setup.sh -s   /   ./setup.sh -u
  its log:        $(log_of peeper-agent)
MSG
}
