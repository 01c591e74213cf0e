#!/usr/bin/env bash
# Peeper installer, as Peeper 0.7's setup.sh is used.
#
#   sudo ./setup.sh -i [--native] [--backup|-B] [--blackbox|-b] [--email|-e] [--telegram|-t]
#                         the server on this host: VictoriaMetrics, peeper-server behind HAProxy
#                         (TLS on PEEPER_PROXY_PORT), vmalert, Alertmanager, this host's own agent,
#                         Grafana's provisioning; native (Debian packages), or Compose where a
#                         Docker engine and docker-compose run (--native forces native)
#   sudo ./setup.sh -i agent [--mysql|-m] [--postgres|-o] [--apache|-a] [--docker|-d]
#                         [--certs|-c] [--nginx] [--probes]
#                         an agent on a product host, pushing to PEEPER_HOST; its token comes from
#                         a file peeper-token next to this script (stored 0600, then deleted)
#   ./setup.sh --token TENANT    a new agent token for TENANT (on the server host)
#   ./setup.sh --test-alert [TENANT]   one alert through the configured receivers
#   ./setup.sh --backup-now | --restore NAME    back up / restore VictoriaMetrics
#   ./setup.sh -s               every component: state, address, log
#   ./setup.sh -u [--purge]     stop and remove what -i created (data and certs kept unless --purge)
#   ./setup.sh -h               this help
#
# Settings: env/.env and the module files env/.env.telegram, .env.email, .env.backup,
# .env.blackbox, .env.mysql, .env.postgres, .env.apache, .env.nginx, .env.docker, .env.certs
# (copy each from its *.example, commented line by line). A module is on by its flag, by
# PEEPER_<MODULE>_ENABLED=true or by Peeper 0.7's name (MYSQL_EXPORTER_ENABLED,
# POSTGRES_EXPORTER_ENABLED, BACKUP_ENABLED, BLACKBOX_EXPORTER_ENABLED, EMAIL_ENABLED,
# TELEGRAM_ENABLED). A variable set in the shell wins over the files.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")" && pwd)
cd "$ROOT"
# shellcheck source=scripts/setup/common.sh
. "$ROOT/scripts/setup/common.sh"
# shellcheck source=scripts/setup/services.sh
. "$ROOT/scripts/setup/services.sh"
# shellcheck source=scripts/setup/server.sh
. "$ROOT/scripts/setup/server.sh"
# shellcheck source=scripts/setup/agent.sh
. "$ROOT/scripts/setup/agent.sh"
# shellcheck source=scripts/setup/alerts.sh
. "$ROOT/scripts/setup/alerts.sh"
# shellcheck source=scripts/setup/grafana.sh
. "$ROOT/scripts/setup/grafana.sh"
# shellcheck source=scripts/setup/backup.sh
. "$ROOT/scripts/setup/backup.sh"
# shellcheck source=scripts/setup/status.sh
. "$ROOT/scripts/setup/status.sh"
# shellcheck source=scripts/setup/compose.sh
. "$ROOT/scripts/setup/compose.sh"
# shellcheck source=scripts/setup/packages.sh
. "$ROOT/scripts/setup/packages.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit "${1:-0}"
}

# -i's flags into WITH_* switches; the env files' switches are folded in by the installers.
# shellcheck disable=SC2034 # WITH_APACHE, WITH_NGINX, WITH_DOCKER are read as ${!flag}
parse_install() {
  WITH_BACKUP=0 WITH_BLACKBOX=0 WITH_EMAIL=0 WITH_TELEGRAM=0 FORCE_NATIVE=0
  WITH_MYSQL=0 WITH_POSTGRES=0 WITH_APACHE=0 WITH_NGINX=0 WITH_DOCKER=0 WITH_CERTS=0
  WITH_PROBES=0
  TARGET=server
  local arg
  for arg in "$@"; do
    case "$arg" in
    agent) TARGET=agent ;;
    --native) FORCE_NATIVE=1 ;;
    -B | --backup) WITH_BACKUP=1 ;;
    -b | --blackbox) WITH_BLACKBOX=1 ;;
    -e | --email) WITH_EMAIL=1 ;;
    -t | --telegram) WITH_TELEGRAM=1 ;;
    -m | --mysql) WITH_MYSQL=1 ;;
    -o | --postgres) WITH_POSTGRES=1 ;;
    -a | --apache) WITH_APACHE=1 ;;
    --nginx) WITH_NGINX=1 ;;
    -d | --docker) WITH_DOCKER=1 ;;
    -c | --certs) WITH_CERTS=1 ;;
    --probes) WITH_PROBES=1 ;;
    -h | --help) usage ;;
    *) die "unknown option $arg for -i; ./setup.sh -h lists them" ;;
    esac
  done
  if [ "$TARGET" = server ]; then
    for arg in WITH_MYSQL WITH_POSTGRES WITH_APACHE WITH_NGINX WITH_DOCKER WITH_CERTS WITH_PROBES; do
      [ "${!arg}" = 0 ] || die "the agent modules (-m -o -a -d -c --nginx --probes) go with ./setup.sh -i agent"
    done
    module_on "$WITH_BACKUP" PEEPER_BACKUP_ENABLED BACKUP_ENABLED && WITH_BACKUP=1
    module_on "$WITH_BLACKBOX" PEEPER_BLACKBOX_ENABLED BLACKBOX_EXPORTER_ENABLED && WITH_BLACKBOX=1
  fi
  return 0
}

main() {
  load_settings
  choose_layout
  case "${1:-}" in
  -i | --install)
    shift
    parse_install "$@"
    if [ "$TARGET" = agent ]; then
      install_agent
    elif [ "$FORCE_NATIVE" = 0 ] && compose_available; then
      install_compose
    else
      install_server
    fi
    ;;
  --token) if compose_installed peeper-server; then compose_new_token "${2:-}"; else new_token "${2:-}"; fi ;;
  --test-alert) test_alert "${2:-}" ;;
  --backup-now) if compose_installed peeper-server; then compose_backup_now; else backup_now; fi ;;
  --restore) if compose_installed peeper-server; then compose_restore_backup "${2:-}"; else restore_backup "${2:-}"; fi ;;
  -s | --status)
    status
    compose_status
    ;;
  -u | --uninstall)
    case "${2:-}" in
    --purge) uninstall 1 ;;
    "") uninstall 0 ;;
    *) die "unknown option $2 for -u; only --purge" ;;
    esac
    ;;
  -h | --help) usage ;;
  "") usage 2 ;;
  *) die "unknown command $1; ./setup.sh -h lists them" ;;
  esac
}

main "$@"
