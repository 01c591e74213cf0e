#!/usr/bin/env bash
# Checks Peeper's Compose files without a Docker engine: `config -q` of the server stack
# (compose/server/compose.yml) in every combination of its modules — profile backup ×
# blackbox.yml × external.yml, eight in all — and of the agent's (compose/agent/compose.yml),
# each with a fixed dummy environment (nothing of the caller's leaks in). For every combination
# it also checks that the module took effect (the toolbox service, the agent's probes, the
# external network) and that every bind-mount source inside the repository exists, except what
# an install creates (data/, run/, backups/, certificates).
#
#   scripts/compose-check.sh        from any directory; prints one line per combination and
#                                   exits 1 naming each one that failed
#
# Needs docker-compose (Debian's 1.29) or the `docker compose` plugin.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER=$ROOT/compose/server
COMPOSE=()
FAILED=()

die() {
  printf 'compose-check: %s\n' "$*" >&2
  exit 2
}

find_compose() {
  if command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  elif docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  else
    die "neither docker-compose nor 'docker compose' is installed"
  fi
}

# compose ARGS...: docker-compose with only the dummy settings in its environment, run from /
# so no .env file of the caller's directory is read.
compose() {
  (
    cd /
    env -i PATH="$PATH" HOME="${HOME:-/root}" \
      PEEPER_HOST=peeper.example.com PEEPER_PROXY_PORT=443 PEEPER_VERSION=0.0.0-check \
      PEEPER_BACKUP_DIR=/srv/peeper-backups PEEPER_BACKUP_CRON='0 0 * * *' \
      PEEPER_NETWORK=peeper PEEPER_NETWORK_SUBNET=172.30.250.0/24 \
      "${COMPOSE[@]}" "$@"
  )
}

# missing_sources CONFIG: bind-mount sources under the repository that do not exist, leaving
# out what an install creates. Both the short (`- /src:/dst`) and the long (`source: /src`)
# form of `config`'s output are read.
missing_sources() {
  local line path
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}
    case "$line" in
    "- $ROOT/"*) path=${line#- } ;;
    "source: $ROOT/"*) path=${line#source: } ;;
    *) continue ;;
    esac
    path=${path%%:*}
    case "${path#"$ROOT"/}" in data | data/* | run | run/* | backups | backups/* | certs/*) continue ;; esac
    [ -e "$path" ] || printf '%s\n' "${path#"$ROOT"/}"
  done <<<"$1"
}

# toolbox_in_backup_profile CONFIG: the toolbox service's block lists the profile backup.
toolbox_in_backup_profile() {
  awk '
    /^  [^ ]/ { inside = ($1 == "peeper-vmbackup-toolbox:") }
    inside && /^    profiles:/ { listing = 1; next }
    inside && listing && /^    - backup$/ { found = 1 }
    /^    [^ -]/ { listing = 0 }
    END { exit !found }' <<<"$1"
}

# fail NAME WHAT
fail() {
  FAILED+=("$1: $2")
  printf 'FAIL %s: %s\n' "$1" "$2"
}

# check NAME EXPECTATIONS -- COMPOSE_ARGS...: EXPECTATIONS are words: toolbox, probes,
# external (present) or no-toolbox, no-probes, no-external (absent).
check() {
  local name=$1 expect=() config services missing word
  shift
  while [ "$1" != -- ]; do
    expect+=("$1")
    shift
  done
  shift
  if ! config=$(compose "$@" config 2>&1) || ! compose "$@" config -q >/dev/null 2>&1; then
    fail "$name" "config rejects it: $(printf '%s\n' "$config" | tail -n 3)"
    return
  fi
  services=$(compose "$@" config --services 2>&1) || {
    fail "$name" "config --services: $services"
    return
  }
  for word in "${expect[@]}"; do
    case "$word" in
    toolbox) grep -qx peeper-vmbackup-toolbox <<<"$services" || fail "$name" "no peeper-vmbackup-toolbox service" ;;
    # docker-compose 1.29 lists a service of an inactive profile too: then it must carry it.
    no-toolbox) ! grep -qx peeper-vmbackup-toolbox <<<"$services" || toolbox_in_backup_profile "$config" ||
      fail "$name" "peeper-vmbackup-toolbox runs without the backup profile" ;;
    probes) grep -Eq "PEEPER_PROBES_ENABLED: ['\"]?true" <<<"$config" || fail "$name" "the agent's probes are not on" ;;
    no-probes) ! grep -q PEEPER_PROBES_ENABLED <<<"$config" || fail "$name" "probes on without blackbox.yml" ;;
    external) grep -Eq '^ *external: true' <<<"$config" || fail "$name" "the network is not external" ;;
    no-external) ! grep -Eq '^ *external: true' <<<"$config" || fail "$name" "an external network without external.yml" ;;
    esac
  done
  missing=$(missing_sources "$config")
  [ -z "$missing" ] || fail "$name" "bind-mount sources missing from the repository: $(tr '\n' ' ' <<<"$missing")"
  [[ " ${FAILED[*]} " == *" $name: "* ]] || printf 'ok   %s\n' "$name"
}

check_server() {
  local backup blackbox external name args expect
  for backup in 0 1; do
    for blackbox in 0 1; do
      for external in 0 1; do
        name="server [backup=$backup blackbox=$blackbox external=$external]"
        args=(-p peeper-server -f "$SERVER/compose.yml")
        expect=()
        if [ "$blackbox" = 1 ]; then
          args+=(-f "$SERVER/blackbox.yml")
          expect+=(probes)
        else
          expect+=(no-probes)
        fi
        if [ "$external" = 1 ]; then
          args+=(-f "$SERVER/external.yml")
          expect+=(external)
        else
          expect+=(no-external)
        fi
        if [ "$backup" = 1 ]; then
          args+=(--profile backup)
          expect+=(toolbox)
        else
          expect+=(no-toolbox)
        fi
        check "$name" "${expect[@]}" -- "${args[@]}"
      done
    done
  done
}

check_agent() {
  check "agent" -- -p peeper-agent -f "$ROOT/compose/agent/compose.yml"
}

main() {
  find_compose
  check_server
  check_agent
  if [ ${#FAILED[@]} -gt 0 ]; then
    printf 'compose-check: failed:\n' >&2
    printf '  %s\n' "${FAILED[@]}" >&2
    exit 1
  fi
  echo "compose-check: all 9 combinations pass (${COMPOSE[*]})"
}

main "$@"
