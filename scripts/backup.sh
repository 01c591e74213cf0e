#!/usr/bin/env bash
# Backups of VictoriaMetrics, as Peeper 0.7's vmbackup toolbox took them:
#   scripts/backup.sh now            a snapshot copied with vmbackup, packed as
#                                    $PEEPER_BACKUP_DIR/peeper-backup-<UTC time>.tar.gz, keeping
#                                    the newest $PEEPER_BACKUP_KEEP; then vm_backup_status (1 ok,
#                                    0 failed) and vm_backup_timestamp (last success) are
#                                    written into VictoriaMetrics
#   scripts/backup.sh restore NAME   unpack NAME(.tar.gz) from $PEEPER_BACKUP_DIR and vmrestore it
#                                    into $PEEPER_VM_DATA (the store must be stopped: setup.sh
#                                    --restore stops and starts it around this)
# Settings (environment): PEEPER_VM_URL (http://127.0.0.1:8428), PEEPER_VM_DATA (the store's
# -storageDataPath), PEEPER_BACKUP_DIR, PEEPER_BACKUP_KEEP (1), PEEPER_BACKUP_INSTANCE (the
# `instance` label of the backup series, default the hostname). PEEPER_BACKUP_FAIL=1 makes a
# run fail on purpose (to test the alert).
set -euo pipefail
# Backups hold every metric: readable by their owner only.
umask 077

VM_URL=${PEEPER_VM_URL:-http://127.0.0.1:8428}
VM_DATA=${PEEPER_VM_DATA:-}
BACKUP_DIR=${PEEPER_BACKUP_DIR:-}
KEEP=${PEEPER_BACKUP_KEEP:-1}
INSTANCE=${PEEPER_BACKUP_INSTANCE:-$(hostname)}

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'backup: %s\n' "$*" >&2
  exit 1
}

# report STATUS: the series the alerts watch; the last success survives a failed run.
report() {
  local status=$1 now last
  now=$(date +%s)
  [ "$status" = 1 ] && echo "$now" >"$BACKUP_DIR/.last-success"
  last=$(cat "$BACKUP_DIR/.last-success" 2>/dev/null || echo 0)
  curl -fsS -X POST "$VM_URL/api/v1/import/prometheus" --data-binary "\
vm_backup_status{job=\"backup\",instance=\"$INSTANCE\"} $status ${now}000
vm_backup_timestamp{job=\"backup\",instance=\"$INSTANCE\"} $last ${now}000
" || echo "backup: cannot write vm_backup_status into $VM_URL" >&2
}

backup_now() {
  [ -n "$BACKUP_DIR" ] || die "PEEPER_BACKUP_DIR is not set (in env/.env.backup): where backups go"
  [ -n "$VM_DATA" ] || die "PEEPER_VM_DATA is not set: the store's data directory"
  mkdir -p "$BACKUP_DIR"
  local name work
  name=peeper-backup-$(date -u +%Y%m%dT%H%M%SZ)
  work=$(mktemp -d "$BACKUP_DIR/.work.XXXXXX")
  # shellcheck disable=SC2064 # the path is fixed now
  trap "rm -rf '$work'" EXIT
  if [ "${PEEPER_BACKUP_FAIL:-}" = 1 ] ||
    ! vmbackup -storageDataPath="$VM_DATA" -snapshot.createURL="$VM_URL/snapshot/create" \
      -dst="fs://$work/data" >"$work/vmbackup.log" 2>&1 ||
    ! tar -C "$work/data" -czf "$BACKUP_DIR/$name.tar.gz.part" . ||
    ! mv "$BACKUP_DIR/$name.tar.gz.part" "$BACKUP_DIR/$name.tar.gz"; then
    rm -f "$BACKUP_DIR/$name.tar.gz.part"
    report 0
    die "the backup failed: $(tail -n 2 "$work/vmbackup.log" 2>/dev/null || echo 'forced by PEEPER_BACKUP_FAIL')"
  fi
  # Keep the newest KEEP.
  find "$BACKUP_DIR" -maxdepth 1 -name 'peeper-backup-*.tar.gz' -printf '%f\n' | sort -r |
    tail -n +"$((KEEP + 1))" | while read -r old; do rm -f "$BACKUP_DIR/$old"; done
  report 1
  say "backup written: $BACKUP_DIR/$name.tar.gz"
}

restore() {
  local name=${1%.tar.gz} work
  [ -n "$name" ] || die "which backup? ./setup.sh --restore NAME (ls $BACKUP_DIR)"
  [ -f "$BACKUP_DIR/$name.tar.gz" ] || die "$BACKUP_DIR/$name.tar.gz does not exist (ls $BACKUP_DIR)"
  [ -n "$VM_DATA" ] || die "PEEPER_VM_DATA is not set: the store's data directory"
  work=$(mktemp -d "$BACKUP_DIR/.restore.XXXXXX")
  # shellcheck disable=SC2064 # the path is fixed now
  trap "rm -rf '$work'" EXIT
  tar -C "$work" -xzf "$BACKUP_DIR/$name.tar.gz" || die "cannot unpack $name.tar.gz"
  vmrestore -src="fs://$work" -storageDataPath="$VM_DATA" >"$work/vmrestore.log" 2>&1 ||
    die "vmrestore failed: $(tail -n 2 "$work/vmrestore.log")"
  say "restored $name into $VM_DATA"
}

case "${1:-}" in
now) backup_now ;;
restore) restore "${2:-}" ;;
*)
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
