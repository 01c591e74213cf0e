# Part `alert` of scripts/bench.sh (sourced; uses its helpers): the time from an agent's death
# to the Telegram message about it, with production defaults everywhere (agent interval 15 s,
# silent after 3 intervals but at least 1 min, liveness sync 15 s, rules every 15 s,
# Alertmanager group wait 30 s). BENCH_ALERT_AGENTS agents are SIGKILLed
# BENCH_ALERT_SPACING seconds apart, so the deaths fall on different phases of those timers.
# shellcheck shell=bash

BENCH_ALERT_AGENTS=${BENCH_ALERT_AGENTS:-5}
BENCH_ALERT_SPACING=${BENCH_ALERT_SPACING:-23}

bench_alert() {
  local part_start=$SECONDS dir=$WORK/alert token=424242:bench-alert
  mkdir -p "$dir/server"
  start_vm
  local port metrics tg am vmalert
  port=$(free_port)
  metrics=$(free_port)
  start alert-server "$SERVER" --plaintext --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$metrics" \
    --data-dir "$dir/server" --remote-write-url "$VM/api/v1/write"
  local server_pid=$PID
  wait_http "http://127.0.0.1:$port/health" 30 "$server_pid" alert-server
  "$SERVER" token create --tenant bench --data-dir "$dir/server" >"$dir/token" 2>/dev/null

  tg=$(free_port)
  start telegram-fake "$PY" "$ROOT/scripts/telegram-fake.py" --listen "127.0.0.1:$tg" --record "$dir/telegram.jsonl" --token "$token"
  TELEGRAM_ENABLED=true TELEGRAM_BOT_TOKEN=$token TELEGRAM_CHAT_ID=-1 TELEGRAM_API_URL=http://127.0.0.1:$tg \
    "$SERVER" alertmanager-config --templates "$ROOT/compose/alertmanager/templates" --out "$dir/alertmanager.yml"
  am=$(free_port)
  start alertmanager prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$dir/am" \
    --web.listen-address="127.0.0.1:$am" --cluster.listen-address=
  wait_http "http://127.0.0.1:$am/-/ready" 30 "$PID" alertmanager
  vmalert=$(free_port)
  start vmalert vmalert -rule="$ROOT/compose/vmalert/rules/*.yml" -datasource.url="$VM" -remoteWrite.url="$VM" \
    -remoteRead.url="$VM" -notifier.url="http://127.0.0.1:$am" -evaluationInterval=15s -httpListenAddr="127.0.0.1:$vmalert"
  wait_http "http://127.0.0.1:$vmalert/metrics" 30 "$PID" vmalert

  local i agents=() kills=()
  for i in $(seq "$BENCH_ALERT_AGENTS"); do
    start "agent-$i" "$AGENT" --server "http://127.0.0.1:$port" --token-file "$dir/token" \
      --instance "bench-host-$i" --buffer-dir "$dir/agent-$i" --interval 15s
    agents+=("$PID")
  done
  log "alert: $BENCH_ALERT_AGENTS agents pushing every 15 s; waiting until the server tracks them all"
  local deadline=$((SECONDS + 120))
  until [ "$(curl -fs "$VM/api/v1/query" --data-urlencode 'query=count(peeper_agent_up{tenant="bench"} == 1)' |
    $PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')" = "$BENCH_ALERT_AGENTS" ]; do
    [ $SECONDS -lt $deadline ] || die "the agents did not all show up as peeper_agent_up 1 within 120 s"
    sleep 2
  done
  # A few more intervals, so the silence threshold is the steady one.
  sleep 30
  for i in $(seq "$BENCH_ALERT_AGENTS"); do
    kills+=("bench-host-$i=$(date +%s.%N)")
    kill -KILL "${agents[$((i - 1))]}" 2>/dev/null || true
    log "alert: killed the agent of bench-host-$i"
    [ "$i" = "$BENCH_ALERT_AGENTS" ] || sleep "$BENCH_ALERT_SPACING"
  done
  deadline=$((SECONDS + 300))
  local messages=0
  while [ "$messages" -lt "$BENCH_ALERT_AGENTS" ]; do
    [ $SECONDS -lt $deadline ] || die "not every silence reached Telegram within 5 minutes; see $dir"
    sleep 1
    messages=$(grep -c 'FIRING: PeeperAgentSilent' "$dir/telegram.jsonl" 2>/dev/null) || messages=0
  done
  {
    echo "# alert: from an agent's death to the Telegram message"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, shared machine. Production defaults: agent interval 15 s,"
    echo "silent after 60 s (3 intervals, at least 1 min), liveness sync 15 s, vmalert every 15 s,"
    echo "Alertmanager group wait 30 s; peeper-server, VictoriaMetrics, vmalert $(dpkg-query -W -f='${Version}' victoria-metrics),"
    echo "Alertmanager $(dpkg-query -W -f='${Version}' prometheus-alertmanager), the fake Bot API (scripts/telegram-fake.py)."
    echo "$BENCH_ALERT_AGENTS agents SIGKILLed $BENCH_ALERT_SPACING s apart."
    echo
    $PY - "$dir/telegram.jsonl" "${kills[@]}" <<'PY'
import json, statistics, sys
kills = dict(k.split("=") for k in sys.argv[2:])
got = {}
for line in open(sys.argv[1]):
    m = json.loads(line)
    if "FIRING: PeeperAgentSilent" not in m["text"]:
        continue
    for host, at in kills.items():
        if f"Host: <b>{host}</b>" in m["text"] and host not in got:
            got[host] = m["time"] - float(at)
print("| host | seconds from SIGKILL to the message |")
print("|---|---:|")
for host in sorted(got):
    print(f"| {host} | {got[host]:.1f} |")
values = sorted(got.values())
print()
print(f"Median {statistics.median(values):.1f} s (min {values[0]:.1f}, max {values[-1]:.1f}).")
print("Bound: silent after 60 s + up to 15 s until a liveness sync writes peeper_agent_up 0 + up to 15 s")
print("until vmalert evaluates + 30 s group wait = 60 to 120 s; the agent's last push lands up to 15 s")
print("before its death, which shortens the wait by as much.")
PY
    echo
    echo "This part took $((SECONDS - part_start)) s (\`scripts/bench.sh alert\`)."
  } >"$RESULTS/alert.md"
  stop "$VM_PID"
  cat "$RESULTS/alert.md"
}
