#!/usr/bin/env bash
# Entrypoint of peeper-vmbackup-toolbox (Dockerfile target `toolbox`, installed as
# /usr/local/bin/peeper-toolbox; compose/server/compose.yml, profile backup).
#
#   peeper-toolbox              backups on PEEPER_BACKUP_CRON (five cron fields, in UTC; default
#                               every day at midnight): cron in the foreground runs
#                               `peeper-backup now`, its output in `docker logs`
#   peeper-toolbox now          one backup, then exit     (docker-compose run --rm ... now)
#   peeper-toolbox restore NAME one restore, then exit
#
# In the running container, as the README documents:
#   docker exec peeper-vmbackup-toolbox peeper-backup now
#   docker stop peeper-metrics
#   docker exec peeper-vmbackup-toolbox peeper-backup restore NAME
#   docker start peeper-metrics
# peeper-backup is scripts/backup.sh; the service's environment gives it PEEPER_VM_URL,
# PEEPER_VM_DATA, PEEPER_BACKUP_DIR, PEEPER_BACKUP_KEEP and PEEPER_BACKUP_INSTANCE.
set -euo pipefail

CRON_FILE=/etc/cron.d/peeper-backup
# Cron starts its jobs with an empty environment: the container's PEEPER_* settings are saved
# here at start and read by every run.
ENV_FILE=/etc/peeper-backup.env

die() {
  printf 'peeper-toolbox: %s\n' "$*" >&2
  exit 1
}

# check_schedule SCHEDULE: five fields, nothing cron would read as more than a schedule.
check_schedule() {
  local schedule=$1
  if [ "$(wc -w <<<"$schedule")" != 5 ] || [[ "$schedule" == *[%$'\n']* ]]; then
    die "PEEPER_BACKUP_CRON=\"$schedule\" is not a cron schedule: write five fields, like \"0 0 * * *\" (env/.env.backup)"
  fi
}

save_env() {
  local name
  (
    umask 077
    for name in $(compgen -e); do
      case "$name" in PEEPER_* | TZ) printf 'export %s=%q\n' "$name" "${!name}" ;; esac
    done >"$ENV_FILE"
  )
}

# write_crontab SCHEDULE: one job, as root; its output goes to the container's log (the
# stdout and stderr of process 1).
write_crontab() {
  cat >"$CRON_FILE" <<CRON
# Written by peeper-toolbox at start from PEEPER_BACKUP_CRON.
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
$1 root . $ENV_FILE && peeper-backup now >/proc/1/fd/1 2>/proc/1/fd/2
CRON
  chmod 0644 "$CRON_FILE"
}

main() {
  case "${1:-}" in
  now | restore) exec peeper-backup "$@" ;;
  "") ;;
  *) die "unknown command $1: use no argument (the schedule), now, or restore NAME" ;;
  esac
  local schedule=${PEEPER_BACKUP_CRON:-0 0 * * *}
  check_schedule "$schedule"
  save_env
  write_crontab "$schedule"
  echo "peeper-toolbox: backups at \"$schedule\" (UTC) into ${PEEPER_BACKUP_DIR:-?}, keeping ${PEEPER_BACKUP_KEEP:-1}"
  exec cron -f
}

main "$@"
