# shellcheck shell=bash
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
    echo "Grafana          https://$HOST:$PROXY_PORT/  (through HAProxy; restart grafana-server to load the Peeper folder)"
  else
    echo "Grafana          not installed: install it from Grafana's APT repository (apt.grafana.com,"
    echo "                 package grafana) or run the Compose stack; it finds the provisioning already"
  fi
}
