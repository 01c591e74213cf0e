# shellcheck shell=bash
# ./setup.sh --test-alert [TENANT]: one alert through the configured receivers, and whether
# Alertmanager delivered it (the "Test" button of Grafana's contact points).

# am_counter NAME INTEGRATION: a counter of Alertmanager's /metrics, summed (0 if absent).
am_counter() {
  curl -fs "$ALERTMANAGER_URL/metrics" |
    awk -v name="$1" -v integration="integration=\"$2\"" \
      '$1 ~ "^"name"[{]" && index($1, integration) { sum += $2 } END { printf "%d\n", sum }'
}

test_alert() {
  local tenant=${1:-} integrations=() integration labels now sent failed
  running alertmanager || compose_installed peeper-server ||
    die "Alertmanager is not running: start the server stack with ./setup.sh -i first"
  grep -q telegram_configs "$RUN_DIR/alertmanager/alertmanager.yml" && integrations+=(telegram)
  grep -q email_configs "$RUN_DIR/alertmanager/alertmanager.yml" && integrations+=(email)
  [ ${#integrations[@]} -gt 0 ] ||
    die "no receiver is configured: fill env/.env.telegram or env/.env.email and run ./setup.sh -i again"
  # Alertmanager counts every request to a receiver and every failed one (it retries).
  declare -A before_sent before_failed
  for integration in "${integrations[@]}"; do
    before_sent[$integration]=$(am_counter alertmanager_notification_requests_total "$integration")
    before_failed[$integration]=$(am_counter alertmanager_notification_requests_failed_total "$integration")
  done
  # A label with the time makes each test a new group, sent at once; it resolves after a minute.
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  labels="\"alertname\":\"PeeperTestAlert\",\"severity\":\"info\",\"instance\":\"$(hostname)\",\"sent\":\"$now\""
  [ -n "$tenant" ] && labels="$labels,\"tenant\":\"$tenant\""
  curl -fsS -X POST -H 'Content-Type: application/json' "$ALERTMANAGER_URL/api/v2/alerts" -d "[{\"labels\":{$labels},
    \"annotations\":{\"summary\":\"Test alert from ./setup.sh --test-alert\",
    \"description\":\"If you read this, Peeper's alerts reach this receiver.\"},
    \"startsAt\":\"$now\",\"endsAt\":\"$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)\"}]" >/dev/null || die "Alertmanager at $ALERTMANAGER_URL refused the test alert"
  say "test alert sent${tenant:+ for tenant $tenant}; waiting for Alertmanager to deliver it"
  local i pending delivered
  for ((i = 0; i < 60; i++)); do
    sleep 1
    pending=0
    for integration in "${integrations[@]}"; do
      sent=$(am_counter alertmanager_notification_requests_total "$integration")
      failed=$(am_counter alertmanager_notification_requests_failed_total "$integration")
      if [ "$failed" -gt "${before_failed[$integration]}" ]; then
        die "Alertmanager could not deliver to $integration (it keeps retrying): $(log_text alertmanager | grep -i "integration=$integration" | tail -n 1 | sed 's/.*err=//')"
      fi
      delivered=$((sent - failed - before_sent[$integration] + before_failed[$integration]))
      [ "$delivered" -gt 0 ] || pending=1
    done
    if [ "$pending" = 0 ]; then
      say "delivered: Alertmanager sent the test alert by ${integrations[*]}"
      return 0
    fi
  done
  die "Alertmanager did not send the test alert within 60 s; see $(log_of alertmanager)"
}
