# shellcheck shell=bash
# Running Peeper's components: as systemd units when systemd runs (peeper-NAME.service in
# $SYSTEMD_DIR), as supervised background processes otherwise (a loop that restarts the
# command when it exits, in its own process group, with a pid file and a log under run/).

SYSTEMD_DIR=${PEEPER_SYSTEMD_DIR:-/etc/systemd/system}

use_systemd() {
  [ -z "${PEEPER_NO_SYSTEMD:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

# Where a component's log is: a file under RUN_DIR, or the journal under systemd.
log_of() {
  if use_systemd; then echo "journalctl -u $(unit_of "$1")"; else echo "$RUN_DIR/$1.log"; fi
}
log_text() {
  if compose_installed peeper-server; then
    docker logs "peeper-${1#peeper-}" 2>&1
  elif use_systemd; then journalctl -q -u "$(unit_of "$1")"; else cat "$RUN_DIR/$1.log"; fi 2>/dev/null
}
log_tail() { log_text "$1" | tail -n 2; }
# The systemd unit of a component: peeper-agent.service, peeper-victoria-metrics.service, ...
unit_of() { echo "peeper-${1#peeper-}.service"; }
pid_of() { cat "$RUN_DIR/$1.pid" 2>/dev/null; }

running() {
  if use_systemd; then
    systemctl is-active --quiet "$(unit_of "$1")"
  else
    [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(pid_of "$1")" 2>/dev/null
  fi
}

# write_env NAME VAR...: the component's environment (VAR=value of each named variable that
# is set) in RUN_DIR/env/NAME.env, in a form systemd's EnvironmentFile, bash and
# `peeper-agent --env-file` all read.
write_env() {
  local name=$1
  shift
  mkdir -p "$RUN_DIR/env"
  write_env_to "$RUN_DIR/env/$name.env" "$@"
}

# write_env_to FILE VAR...: the same into FILE.
write_env_to() {
  local file=$1 var value
  shift
  (
    umask 077
    echo "# Written by Peeper's setup.sh ($ROOT); ./setup.sh -u removes it."
    [ "$file" != /etc/default/peeper-agent ] || echo 'PEEPER_AGENT_ARGS=""'
    for var in "$@"; do
      [ -n "${!var+x}" ] || continue
      value=${!var//\\/\\\\}
      value=${value//\"/\\\"}
      value=${value//\$/\\\$}
      printf '%s="%s"\n' "$var" "$value"
    done >"$file"
  )
  [ "$file" != /etc/default/peeper-agent ] || chmod 0644 "$file"
}

# render_unit NAME CMD...: a systemd unit running CMD with the component's environment.
render_unit() {
  local name=$1 arg exec=""
  shift
  for arg in "$@"; do exec+=" $(printf '%q' "$arg")"; done
  cat <<UNIT
# Written by Peeper's setup.sh ($ROOT); ./setup.sh -u removes it.
[Unit]
Description=Peeper $name
After=network-online.target
Wants=network-online.target

[Service]
EnvironmentFile=-$RUN_DIR/env/$name.env
ExecStart=${exec# }
Restart=on-failure
RestartSec=2
WorkingDirectory=$ROOT

[Install]
WantedBy=multi-user.target
UNIT
}

# What this run of -i started, and whether it created RUN_DIR: a failed install stops the
# former and empties the latter (but for the logs the error message points to).
STARTED=()
FRESH_RUN_DIR=0

begin_install() {
  # Fresh: nothing but logs of earlier failed runs.
  [ -n "$(find "$RUN_DIR" -mindepth 1 ! -name '*.log' ! -type d -print -quit 2>/dev/null)" ] || FRESH_RUN_DIR=1
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  # Tokens, the agent's unsent batches and the store's files: for root (and the services) only.
  chmod 700 "$DATA_DIR"
  trap 'roll_back $?' EXIT
}

roll_back() {
  [ "$1" = 0 ] && return 0
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop "${STARTED[$i]}" >/dev/null 2>&1 || true; done
  if [ "$FRESH_RUN_DIR" = 1 ]; then
    remove_programs 1 >/dev/null
    find "$RUN_DIR" -mindepth 1 ! -name '*.log' -delete 2>/dev/null || true
    rmdir "$RUN_DIR" 2>/dev/null || true
    say "rolled back: nothing is left installed; the logs are in $RUN_DIR"
  elif [ ${#STARTED[@]} -gt 0 ]; then
    say "rolled back: stopped what this run started (${STARTED[*]})"
  fi
}

# claim_port NAME PORT VAR: stops the install when another program already listens on PORT
# (a stale process would answer the health checks in NAME's place).
claim_port() {
  running "$1" && return 0
  if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
    die "$1 cannot start: port $2 is taken by another program (ss -ltnp 'sport = :$2' shows which); stop it or set $3 in env/.env"
  fi
}

# start NAME CMD...: starts the component unless it runs already.
start() {
  local name=$1
  shift
  if running "$name"; then
    say "$name already running"
    return
  fi
  STARTED+=("$name")
  if packaged_unit "$name"; then
    start_packaged "$name" "$@"
    return
  fi
  if use_systemd; then
    local unit
    unit=$(unit_of "$name")
    if [ -f "$SYSTEMD_DIR/$unit" ] && ! grep -q "setup.sh ($ROOT)" "$SYSTEMD_DIR/$unit"; then
      die "$unit belongs to another Peeper copy ($(sed -n 's/.*setup.sh (\(.*\)).*/\1/p' "$SYSTEMD_DIR/$unit")): run setup.sh there (on the server host, ./setup.sh -i agent -m ... in the server's copy adds modules to its agent)"
    fi
    render_unit "$name" "$@" >"$SYSTEMD_DIR/$unit"
    systemctl daemon-reload
    systemctl enable --now "$unit" >/dev/null 2>&1 ||
      die "$name did not start: journalctl -u ${unit%.service} says why"
    say "started $name (systemd unit ${unit%.service})"
    return
  fi
  setsid bash -c '
    [ -f "$1" ] && { set -a; . "$1"; set +a; }
    shift
    while :; do
      "$@"
      echo "setup.sh: $1 exited with status $?; restarting in 2 s" >&2
      sleep 2
    done' peeper-supervisor "$RUN_DIR/env/$name.env" "$@" >>"$(log_of "$name")" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  say "started $name (pid $!, log $(log_of "$name"))"
}

# stop NAME: stops it (the whole supervised group), if it runs.
stop() {
  local name=$1 pid
  if packaged_unit "$name"; then
    systemctl disable --now "$name.service" >/dev/null 2>&1 || true
    say "stopped $name"
    return
  fi
  if use_systemd; then
    local unit
    unit=$(unit_of "$name")
    grep -qs "setup.sh ($ROOT)" "$SYSTEMD_DIR/$unit" || return 0
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
    rm -f "$SYSTEMD_DIR/$unit"
    systemctl daemon-reload
    say "stopped $name"
    return
  fi
  running "$name" || {
    rm -f "$RUN_DIR/$name.pid"
    return 0
  }
  pid=$(pid_of "$name")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$RUN_DIR/$name.pid"
  say "stopped $name"
}

# reload NAME: re-read the configuration (SIGHUP to the supervised process).
reload() {
  local name=$1 pid
  running "$name" || return 0
  if use_systemd; then
    systemctl kill --signal=HUP "$(unit_of "$name")"
  else
    pid=$(pid_of "$name")
    pkill -HUP -P "$pid" 2>/dev/null || true
  fi
}
