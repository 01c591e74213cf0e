# Part `fleet` of scripts/bench.sh (sourced; uses its helpers): N real peeper-agent processes
# (Linux collector only, BENCH_FLEET_INTERVAL, plain HTTP) pushing to one receiver, for each N
# of FLEET_SIZES (set by bench.sh from its arguments or BENCH_FLEET_SIZES) and each receiver:
# peeper-server --plaintext (token, tenant label) and vmagent as a plain remote-write relay,
# both forwarding into one VictoriaMetrics. Only the receiver's own CPU (utime+stime of its
# pid) is its figure; the agents' CPU is recorded beside it. Samples and requests come from
# the receiver's own counters over the measured window.
# shellcheck shell=bash

BENCH_FLEET_RUNS=${BENCH_FLEET_RUNS:-3}
BENCH_FLEET_SECONDS=${BENCH_FLEET_SECONDS:-60}
BENCH_FLEET_INTERVAL=${BENCH_FLEET_INTERVAL:-2s}
BENCH_FLEET_WARMUP_SECONDS=${BENCH_FLEET_WARMUP_SECONDS:-15}
FLEET_AGENTS=()

# fleet_stop_agents: SIGTERM every agent of the phase, at most 15 s for all to exit, then KILL.
fleet_stop_agents() {
  [ ${#FLEET_AGENTS[@]} -gt 0 ] || return 0
  local pid deadline=$((SECONDS + 15))
  for pid in "${FLEET_AGENTS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${FLEET_AGENTS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait "${FLEET_AGENTS[@]}" 2>/dev/null || true
  FLEET_AGENTS=()
}

# fleet_agents_cpu DIR: the summed utime+stime of the phase's agents, seconds; dies if one died.
fleet_agents_cpu() {
  local pid i=0 files=()
  for pid in "${FLEET_AGENTS[@]}"; do
    i=$((i + 1))
    kill -0 "$pid" 2>/dev/null || die "agent $i (pid $pid) died: $(tail -5 "$1/agents/$i.log")"
    files+=("/proc/$pid/stat")
  done
  awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); s += $12 + $13} END {printf "%.2f\n", s / t}' "${files[@]}"
}

# fleet_counters RECEIVER METRICS_URL: "requests_2xx non_2xx samples" from the receiver's
# /metrics (remote-write requests on /api/v1/write, samples accepted).
fleet_counters() {
  local text
  text=$(curl -fsS --max-time 10 "$2") || die "cannot read $1's metrics at $2"
  awk -v r="$1" '
    function starts(p) { return index($0, p) == 1 }
    r == "peeper-server" && starts("peeper_server_requests_total{") {
      if (starts("peeper_server_requests_total{code=\"2")) ok += $NF; else bad += $NF
    }
    r == "peeper-server" && starts("peeper_server_samples_received_total{") { samples += $NF }
    r == "vmagent" && starts("vmagent_http_requests_total{path=\"/api/v1/write\"") { all += $NF }
    r == "vmagent" && starts("vmagent_http_request_errors_total{path=\"/api/v1/write\"") { bad += $NF }
    r == "vmagent" && starts("vmagent_rows_inserted_total{type=\"promremotewrite\"}") { samples += $NF }
    END {
      if (r == "vmagent") ok = all - bad
      printf "%.0f %.0f %.0f\n", ok, bad, samples
    }' <<<"$text"
}

# fleet_in_vm TENANT: samples VictoriaMetrics holds under tenant="TENANT".
fleet_in_vm() {
  curl -fsS "$VM/internal/force_flush" >/dev/null
  curl -fsS "$VM/api/v1/query" --data-urlencode "query=sum(count_over_time({tenant=\"$1\"}[1h]))" \
    --data-urlencode nocache=1 |
    $PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
}

# fleet_phase RUN N RECEIVER RAW: one receiver with N agents; appends one row to RAW.
fleet_phase() {
  local run=$1 n=$2 receiver=$3 raw=$4
  local tenant=fleet-$receiver-r$run-n$n dir=$WORK/fleet/$receiver-r$run-n$n port metrics url auth=()
  mkdir -p "$dir/agents"
  port=$(free_port)
  log "fleet: run $run of $BENCH_FLEET_RUNS, $n agents, $receiver"
  case "$receiver" in
  peeper-server)
    mkdir -p "$dir/server"
    "$SERVER" token create --tenant "$tenant" --data-dir "$dir/server" >"$dir/token" 2>/dev/null
    metrics=$(free_port)
    start "fleet-$receiver" "$SERVER" --plaintext --listen "127.0.0.1:$port" --data-dir "$dir/server" \
      --metrics-listen "127.0.0.1:$metrics" --remote-write-url "$VM/api/v1/write"
    url=http://127.0.0.1:$metrics/metrics
    auth=(PEEPER_TOKEN_FILE="$dir/token")
    ;;
  vmagent)
    start "fleet-$receiver" vmagent -httpListenAddr="127.0.0.1:$port" -remoteWrite.url="$VM/api/v1/write" \
      -remoteWrite.tmpDataPath="$dir/vmagent" -remoteWrite.label=tenant="$tenant"
    url=http://127.0.0.1:$port/metrics
    ;;
  esac
  local rpid=$PID i
  wait_http "http://127.0.0.1:$port/health" 30 "$rpid" "fleet-$receiver"
  for i in $(seq "$n"); do
    env -i PATH="$PATH" PEEPER_SERVER_URL="http://127.0.0.1:$port/api/v1/write" "${auth[@]}" \
      PEEPER_INSTANCE="fleet-$i" PEEPER_INTERVAL="$BENCH_FLEET_INTERVAL" PEEPER_BUFFER_DIR="$dir/agents/$i" \
      "$AGENT" >"$dir/agents/$i.log" 2>&1 &
    FLEET_AGENTS+=("$!")
    sleep 0.02
  done
  sleep "$BENCH_FLEET_WARMUP_SECONDS"
  alive "$rpid" "fleet-$receiver"
  local c0 c1 a0 a1 r0 r1 t0 t1 rss hwm ok0 ok1 bad0 bad1 s0 s1
  c0=$(fleet_counters "$receiver" "$url")
  a0=$(fleet_agents_cpu "$dir")
  r0=$(cpu_s "$rpid")
  t0=$(date +%s.%N)
  sleep "$BENCH_FLEET_SECONDS"
  t1=$(date +%s.%N)
  alive "$rpid" "fleet-$receiver"
  r1=$(cpu_s "$rpid")
  a1=$(fleet_agents_cpu "$dir")
  c1=$(fleet_counters "$receiver" "$url")
  rss=$(status_kb "$rpid" VmRSS)
  hwm=$(status_kb "$rpid" VmHWM)
  local warnings
  warnings=$(cat "$dir"/agents/*.log | grep -cE '^[^ ]+ +(WARN|ERROR) ') || warnings=0
  if [ "$warnings" -gt 0 ]; then
    log "fleet: $warnings WARN/ERROR lines in the agents' logs, e.g.:"
    cat "$dir"/agents/*.log | grep -E '^[^ ]+ +(WARN|ERROR) ' | head -3 >&2 || true
  fi
  fleet_stop_agents
  # Every sample the receiver took must reach VictoriaMetrics (vmagent delivers after it answers).
  local total in_vm=0 deadline=$((SECONDS + 60))
  total=$(fleet_counters "$receiver" "$url" | awk '{print $3}')
  [ "$total" -gt 0 ] || die "$receiver took no samples: $(tail -20 "$WORK/log/fleet-$receiver.log"; tail -5 "$dir/agents/1.log")"
  until [ "$in_vm" -ge "$total" ]; do
    [ $SECONDS -lt $deadline ] || die "VictoriaMetrics holds $in_vm of the $total samples $receiver took (tenant $tenant): $(tail -20 "$WORK/log/fleet-$receiver.log")"
    sleep 1
    in_vm=$(fleet_in_vm "$tenant")
  done
  stop "$rpid"
  # run agents receiver cpu_seconds window_s requests samples rss_kb hwm_kb non_2xx agents_cpu_seconds agent_warnings
  read -r ok0 bad0 s0 <<<"$c0"
  read -r ok1 bad1 s1 <<<"$c1"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$n" "$receiver" \
    "$(awk -v a="$r0" -v b="$r1" 'BEGIN{printf "%.2f", b - a}')" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')" \
    $((ok1 - ok0)) $((s1 - s0)) "$rss" "$hwm" $((bad1 - bad0)) \
    "$(awk -v a="$a0" -v b="$a1" 'BEGIN{printf "%.2f", b - a}')" "$warnings" >>"$raw"
  log "fleet: $receiver, $n agents: $(tail -1 "$raw" | cut -f4-12)"
  rm -rf "$dir"
}

bench_fleet() {
  local part_start=$SECONDS run n receiver order raw=$RESULTS/fleet-raw.tsv
  log "fleet: sizes ${FLEET_SIZES[*]}, $BENCH_FLEET_RUNS runs, ${BENCH_FLEET_WARMUP_SECONDS} s warm-up + ${BENCH_FLEET_SECONDS} s a phase"
  start_vm
  CLEANUPS+=(fleet_stop_agents)
  printf 'run\tagents\treceiver\tcpu_seconds\twindow_s\trequests\tsamples\trss_kb\thwm_kb\tnon_2xx\tagents_cpu_seconds\tagent_warnings\n' >"$raw"
  for run in $(seq "$BENCH_FLEET_RUNS"); do
    # Alternate who goes first, so neither always meets a fresher VictoriaMetrics.
    if [ $((run % 2)) = 1 ]; then order="peeper-server vmagent"; else order="vmagent peeper-server"; fi
    for n in "${FLEET_SIZES[@]}"; do
      for receiver in $order; do fleet_phase "$run" "$n" "$receiver" "$raw"; done
    done
  done
  {
    echo "# fleet: N agents pushing to peeper-server vs vmagent"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), shared machine."
    echo "N real peeper-agent $("$AGENT" --version 2>/dev/null | awk '{print $NF}') processes (release; Linux collector only, every $BENCH_FLEET_INTERVAL, plain HTTP,"
    echo "remote-write) push to one receiver: peeper-server $("$SERVER" --version 2>/dev/null | awk '{print $NF}') (release) \`--plaintext\` with a bearer"
    echo "token (extra-label mode), or vmagent (victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics)) as a plain relay with"
    echo "\`-remoteWrite.label=tenant=...\`; both forward into one VictoriaMetrics. Only the receiver's own CPU counts."
    echo
    $PY "$ROOT/bench/report.py" fleet "$raw"
    echo
    echo "This part took $((SECONDS - part_start)) s (\`BENCH_FLEET_RUNS=$BENCH_FLEET_RUNS BENCH_FLEET_SECONDS=$BENCH_FLEET_SECONDS BENCH_FLEET_INTERVAL=$BENCH_FLEET_INTERVAL BENCH_FLEET_WARMUP_SECONDS=$BENCH_FLEET_WARMUP_SECONDS scripts/bench.sh fleet ${FLEET_SIZES[*]}\`). Raw rows: \`fleet-raw.tsv\`."
  } >"$RESULTS/fleet.md"
  stop "$VM_PID"
  cat "$RESULTS/fleet.md"
}
