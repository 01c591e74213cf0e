# shellcheck shell=bash
# The backup module on a native install: the schedule (a cron entry running
# ./setup.sh --backup-now on PEEPER_BACKUP_CRON), a backup now, and a restore that stops the
# store, restores, starts it and checks it answers. The work is scripts/backup.sh's.

backup_env() {
  export PEEPER_VM_URL=$VM_URL PEEPER_VM_DATA=$DATA_DIR/vm PEEPER_BACKUP_INSTANCE=${PEEPER_INSTANCE:-$(hostname)}
  export PEEPER_BACKUP_KEEP=${PEEPER_BACKUP_KEEP:-1}
  require PEEPER_BACKUP_DIR .env.backup "backups need a directory to write to"
}

install_backup_schedule() {
  local schedule=${PEEPER_BACKUP_CRON:-0 0 * * *}
  [ "$(wc -w <<<"$schedule")" = 5 ] ||
    die "PEEPER_BACKUP_CRON=\"$schedule\" is not a cron schedule: write five fields, like \"0 0 * * *\" (in env/.env.backup)"
  mkdir -p "$(dirname "$CRON_FILE")"
  cat >"$CRON_FILE" <<CRON
# Written by Peeper's setup.sh ($ROOT); ./setup.sh -u removes it.
$schedule root cd $ROOT && ./setup.sh --backup-now >>$RUN_DIR/backup.log 2>&1
CRON
  command -v cron >/dev/null 2>&1 || say "note: no cron daemon here (apt-get install cron) to run $CRON_FILE"
  say "backups scheduled ($schedule) in $CRON_FILE, into $PEEPER_BACKUP_DIR"
}

backup_now() {
  backup_env
  running victoria-metrics || die "VictoriaMetrics is not running: start the stack with ./setup.sh -i first"
  "$ROOT/scripts/backup.sh" now
}

restore_backup() {
  [ -n "${1:-}" ] || die "--restore needs a backup name: one of the files in PEEPER_BACKUP_DIR, without .tar.gz"
  backup_env
  [ -f "$PEEPER_BACKUP_DIR/${1%.tar.gz}.tar.gz" ] || die "no backup ${1%.tar.gz}.tar.gz in $PEEPER_BACKUP_DIR"
  stop victoria-metrics
  "$ROOT/scripts/backup.sh" restore "$1" || {
    say "restore failed: starting VictoriaMetrics again on the data it had"
    start_store
    exit 1
  }
  start_store
  say "VictoriaMetrics answers again, with the data of ${1%.tar.gz}"
}
