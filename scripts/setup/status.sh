# shellcheck shell=bash
# ./setup.sh -s (every component: state, address, log) and ./setup.sh -u [--purge] (stop and
# remove exactly what -i created; data and certificates stay unless --purge).

ALL_COMPONENTS=(victoria-metrics peeper-server haproxy alertmanager vmalert peeper-agent)

address_of() {
  case "$1" in
  victoria-metrics) echo "127.0.0.1:$VM_PORT" ;;
  peeper-server) echo "127.0.0.1:$SERVER_PORT (metrics 127.0.0.1:$SERVER_METRICS_PORT)" ;;
  haproxy) echo ":$PROXY_PORT (stats 127.0.0.1:$HAPROXY_STATS_PORT)" ;;
  alertmanager) echo "127.0.0.1:$ALERTMANAGER_PORT" ;;
  vmalert) echo "127.0.0.1:$VMALERT_PORT" ;;
  peeper-agent) echo "pushes to ${PEEPER_SERVER_URL:-$(sed -n 's/^PEEPER_SERVER_URL="\(.*\)"$/\1/p' "$AGENT_ENV" 2>/dev/null)}" ;;
  esac
}

# Whether this copy's -i installed NAME: a pid file, an env file, a unit or a log of its own.
installed_here() {
  local name=$1
  [ -f "$RUN_DIR/$1.pid" ] || [ -f "$RUN_DIR/env/$name.env" ] || [ -f "$RUN_DIR/$name.log" ] ||
    grep -qs "setup.sh ($ROOT)" "$SYSTEMD_DIR/$(unit_of "$name")" ||
    { [ "$name" = peeper-agent ] && grep -qs "setup.sh ($ROOT)" "$AGENT_ENV"; } ||
    { [ "$name" = peeper-server ] && grep -qs "setup.sh ($ROOT)" /etc/default/peeper-server; }
}

status() {
  local name state installed=0
  for name in "${ALL_COMPONENTS[@]}"; do
    installed_here "$name" || continue
    installed=1
    if running "$name"; then state=running; else state=STOPPED; fi
    printf '%-17s %-8s %s  log %s\n' "$name" "$state" "$(address_of "$name")" "$(log_of "$name")"
  done
  [ "$installed" = 1 ] || compose_installed peeper-server || compose_installed peeper-agent || {
    echo "nothing installed here (in $RUN_DIR): ./setup.sh -i installs the server, ./setup.sh -i agent an agent"
    return
  }
  [ -f "$CRON_FILE" ] && echo "backups          scheduled in $CRON_FILE"
  if running victoria-metrics; then
    curl -fs "$VM_URL/internal/force_flush" >/dev/null || true
    echo "series from agents: $(curl -fs "$VM_URL/api/v1/query" \
      --data-urlencode 'query=count({tenant!=""})' | sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)".*/\1/p')"
  fi
}

uninstall() {
  local purge=${1:-0} i
  uninstall_compose "$purge"
  for ((i = ${#ALL_COMPONENTS[@]} - 1; i >= 0; i--)); do
    if installed_here "${ALL_COMPONENTS[$i]}"; then stop "${ALL_COMPONENTS[$i]}"; fi
  done
  remove_programs "$purge"
  remove_grafana_files
  if [ -f "$CRON_FILE" ] && grep -q "Peeper's setup.sh ($ROOT)" "$CRON_FILE"; then
    rm -f "$CRON_FILE"
    say "removed the backup schedule $CRON_FILE"
  fi
  rm -rf "$RUN_DIR"
  say "removed $RUN_DIR"
  if [ "$purge" = 1 ]; then
    if [ -f "$DATA_DIR/generated-certs" ]; then
      xargs rm -f <"$DATA_DIR/generated-certs"
      rmdir certs/dev 2>/dev/null || true
    fi
    rm -rf "$DATA_DIR"
    say "purged $DATA_DIR and the certificates setup.sh generated"
  else
    say "kept the data ($DATA_DIR) and certificates (certs/); ./setup.sh -u --purge removes them"
  fi
}
