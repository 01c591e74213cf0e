#!/usr/bin/python3
"""Helpers of scripts/bench.sh: VictoriaMetrics series counts and the markdown tables.

  report.py series VM_URL SELECTOR
      prints "job<TAB>series" for every job: series with at least one sample in the last
      minute (at a 15 s interval: the series pushed per cycle).
  report.py agent RAW.tsv    the `agent` table from the raw per-run rows
  report.py relay RAW.tsv    the `relay` table from the raw per-run rows
  report.py fleet RAW.tsv    the `fleet` tables from the raw per-(run, size, receiver) rows

Every number in a table is the median over the runs; a ratio is the median of the per-run
ratios (both sides ran in the same run, so a ratio cancels most of the machine's noise).
"""

import csv
import json
import statistics
import sys
import urllib.parse
import urllib.request

PEER_ORDER = ["node_exporter", "apache_exporter", "mysqld_exporter", "postgres_exporter", "vmagent"]
JOB_PAIRS = [("linux", "node"), ("apache", "apache"), ("mysql", "mysql"), ("postgres", "postgres"), ("agent", None)]


def series(vm: str, selector: str) -> None:
    query = f"count by (job) (count_over_time({selector}[1m]))"
    url = f"{vm}/api/v1/query?" + urllib.parse.urlencode({"query": query, "nocache": "1"})
    with urllib.request.urlopen(url, timeout=30) as resp:
        for item in json.load(resp)["data"]["result"]:
            print(f"{item['metric'].get('job', '')}\t{int(float(item['value'][1]))}")


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=2):
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer() and digits == 0:
        return f"{int(value):,}"
    return f"{value:.{digits}f}"


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def agent(path: str) -> None:
    rows = read(path)
    runs = sorted({int(r["run"]) for r in rows})
    by = {}  # (run, process) -> row
    jobs = {}  # (run, side, job) -> series
    for r in rows:
        if r["kind"] == "proc":
            by[(int(r["run"]), r["process"])] = r
        else:
            jobs[(int(r["run"]), r["side"], r["process"])] = int(r["value"])

    def metric(row, name):
        rss_mb = int(row["rss_kb"]) / 1024
        hwm_mb = int(row["hwm_kb"]) / 1024
        cpu_min = float(row["cpu_s"]) / float(row["window_s"]) * 60
        return {"rss": rss_mb, "hwm": hwm_mb, "cpu": cpu_min}[name]

    def side_series(run, side):
        return sum(v for (r, s, _), v in jobs.items() if r == run and s == side)

    def proc_series(run, process):
        job = {"peeper-agent": None, "node_exporter": "node", "apache_exporter": "apache",
               "mysqld_exporter": "mysql", "postgres_exporter": "postgres"}.get(process, "")
        if process == "peeper-agent":
            return side_series(run, "peeper")
        if job == "":
            return None
        return jobs.get((run, "peers", job))

    window = med([float(r["window_s"]) for r in rows if r["kind"] == "proc"])
    out = []
    out.append("| process | RSS MB (end) | peak RSS MB (VmHWM) | CPU-s per minute | series per cycle |")
    out.append("|---|---:|---:|---:|---:|")
    for process in ["peeper-agent"] + PEER_ORDER:
        if not any((run, process) in by for run in runs):
            continue
        vals = [by[(run, process)] for run in runs if (run, process) in by]
        out.append(
            f"| {process} | {fmt(med(metric(v, 'rss') for v in vals), 1)} | "
            f"{fmt(med(metric(v, 'hwm') for v in vals), 1)} | "
            f"{fmt(med(metric(v, 'cpu') for v in vals), 3)} | "
            f"{fmt(med(proc_series(run, process) for run in runs), 0)} |"
        )
    totals = {}
    for name in ("rss", "hwm", "cpu"):
        for run in runs:
            peers = [by[(run, p)] for p in PEER_ORDER if (run, p) in by]
            totals.setdefault(("peers", name), []).append(sum(metric(v, name) for v in peers))
            totals.setdefault(("peeper", name), []).append(metric(by[(run, "peeper-agent")], name))
    for run in runs:
        totals.setdefault(("peers", "series"), []).append(side_series(run, "peers"))
        totals.setdefault(("peeper", "series"), []).append(side_series(run, "peeper"))
    out.append(
        f"| **peer set (4 exporters + vmagent), summed** | **{fmt(med(totals[('peers', 'rss')]), 1)}** | "
        f"**{fmt(med(totals[('peers', 'hwm')]), 1)}** | **{fmt(med(totals[('peers', 'cpu')]), 3)}** | "
        f"**{fmt(med(totals[('peers', 'series')]), 0)}** |"
    )

    def ratio(name):
        return med(a / b for a, b in zip(totals[("peeper", name)], totals[("peers", name)]) if b)

    out.append(
        f"| **ratio peeper-agent / peer set** | **{fmt(ratio('rss'))}** | **{fmt(ratio('hwm'))}** | "
        f"**{fmt(ratio('cpu'))}** | **{fmt(ratio('series'))}** |"
    )
    cpu_per_k = [
        (a / s * 1000, b / t * 1000)
        for a, b, s, t in zip(totals[("peeper", "cpu")], totals[("peers", "cpu")],
                              totals[("peeper", "series")], totals[("peers", "series")])
        if s and t
    ]
    out.append("")
    out.append(
        f"Medians of {len(runs)} runs, each measured over {fmt(window / 60, 1)} minutes after the warm-up. "
        "CPU per 1,000 series pushed per cycle (CPU-s per minute): "
        f"peeper-agent {fmt(med(a for a, _ in cpu_per_k), 4)}, peer set {fmt(med(b for _, b in cpu_per_k), 4)}, "
        f"ratio {fmt(med(a / b for a, b in cpu_per_k if b))}."
    )
    out.append("")
    out.append("Series per cycle by job (medians):")
    out.append("")
    out.append("| area | peeper-agent job | series | peer job | series |")
    out.append("|---|---|---:|---|---:|")
    for mine, theirs in JOB_PAIRS:
        a = med(jobs.get((run, "peeper", mine)) for run in runs)
        b = med(jobs.get((run, "peers", theirs)) for run in runs) if theirs else None
        out.append(f"| {mine} | `{mine}` | {fmt(a, 0)} | {'`' + theirs + '`' if theirs else '—'} | {fmt(b, 0)} |")
    print("\n".join(out))


def relay(path: str) -> None:
    rows = read(path)
    relays = []
    for r in rows:
        if r["relay"] not in relays:
            relays.append(r["relay"])
    per = {name: [r for r in rows if r["relay"] == name] for name in relays}
    base = "vmagent"
    runs = sorted({int(r["run"]) for r in rows})
    out = []
    out.append(
        "| relay | CPU-s per million samples (median) | per run | samples delivered / sent to VM | "
        "client send time per run, s | ratio to vmagent |"
    )
    out.append("|---|---:|---|---|---:|---:|")
    for name in relays:
        vals = per[name]
        cpu = [float(v["cpu_s_per_million"]) for v in vals]
        delivered = sum(int(v["delivered"]) for v in vals)
        expected = sum(int(v["expected_in_vm"]) for v in vals)
        ratios = []
        for run in runs:
            mine = [float(v["cpu_s_per_million"]) for v in vals if int(v["run"]) == run]
            theirs = [float(v["cpu_s_per_million"]) for v in per.get(base, []) if int(v["run"]) == run]
            if mine and theirs and theirs[0]:
                ratios.append(mine[0] / theirs[0])
        out.append(
            f"| {name} | **{fmt(med(cpu), 3)}** | {', '.join(fmt(c, 3) for c in cpu)} | "
            f"{delivered:,} / {expected:,} | {fmt(med(float(v['send_seconds']) for v in vals), 2)} | "
            f"{'—' if name == base else '**' + fmt(med(ratios)) + '**'} |"
        )
    samples = int(rows[0]["samples"]) if rows else 0
    out.append("")
    out.append(
        f"{len(runs)} runs; each run sends {samples:,} samples ({samples // 10000} requests of 10,000 series x 7 labels, "
        "snappy) after a warm-up, one request at a time on one keep-alive connection. The ratio is the "
        "median of the per-run ratios."
    )
    print("\n".join(out))


FLEET_RECEIVERS = ["peeper-server", "vmagent"]


def fleet(path: str) -> None:
    rows = read(path)
    sizes = sorted({int(r["agents"]) for r in rows})
    receivers = [x for x in FLEET_RECEIVERS if any(r["receiver"] == x for r in rows)]
    runs = sorted({int(r["run"]) for r in rows})
    by = {(int(r["run"]), int(r["agents"]), r["receiver"]): r for r in rows}

    def value(r, name):
        cpu, window = float(r["cpu_seconds"]), float(r["window_s"])
        samples, requests = int(r["samples"]), int(r["requests"])
        return {
            "cpu_m": cpu / samples * 1e6 if samples else None,
            "cpu_req": cpu / requests * 1e6 if requests else None,
            "sps": samples / window,
            "rps": requests / window,
            "per_req": samples / requests if requests else None,
            "rss": int(r["rss_kb"]) / 1024,
            "hwm": int(r["hwm_kb"]) / 1024,
            "fleet": float(r["agents_cpu_seconds"]) / window,
        }[name]

    def f(v, digits):
        return fmt(round(v) if v is not None and digits == 0 else v, digits)

    def median(n, receiver, name):
        return med(value(by[(run, n, receiver)], name) for run in runs if (run, n, receiver) in by)

    def ratio(n, name, top="vmagent", bottom="peeper-server"):
        per_run = []
        for run in runs:
            a, b = by.get((run, n, top)), by.get((run, n, bottom))
            if a and b and value(a, name) is not None and value(b, name):
                per_run.append(value(a, name) / value(b, name))
        return med(per_run)

    out = []
    out.append(
        "| agents | receiver | CPU-s per million samples | per run | CPU µs per request | samples/s | "
        "requests/s | RSS MB | peak RSS MB | non-2xx | agents' CPU, cores |"
    )
    out.append("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        for receiver in receivers:
            vals = [by[(run, n, receiver)] for run in runs if (run, n, receiver) in by]
            if not vals:
                continue
            out.append(
                f"| {n} | {receiver} | **{f(median(n, receiver, 'cpu_m'), 3)}** | "
                f"{', '.join(fmt(value(v, 'cpu_m'), 3) for v in vals)} | "
                f"{f(median(n, receiver, 'cpu_req'), 0)} | {f(median(n, receiver, 'sps'), 0)} | "
                f"{f(median(n, receiver, 'rps'), 1)} | {f(median(n, receiver, 'rss'), 1)} | "
                f"{f(median(n, receiver, 'hwm'), 1)} | {sum(int(v['non_2xx']) for v in vals):,} | "
                f"{f(median(n, receiver, 'fleet'), 2)} |"
            )
        if len(receivers) == 2:
            out.append(
                f"| {n} | **ratio vmagent / peeper-server** | **{fmt(ratio(n, 'cpu_m'))}** | | "
                f"{fmt(ratio(n, 'cpu_req'))} | | | **{fmt(ratio(n, 'rss'))}** | {fmt(ratio(n, 'hwm'))} | | |"
            )
    out.append("")
    window = med(float(r["window_s"]) for r in rows)
    warnings = sum(int(r["agent_warnings"]) for r in rows)
    per_req = med(value(r, "per_req") for r in rows)
    out.append(
        f"Medians of {len(runs)} run(s), each phase measured over {f(window, 0)} s after the warm-up; a ratio "
        "is the median of the per-run ratios. Samples and requests are the receiver's own counters "
        "(2xx only) over the window; about "
        f"{f(per_req, 0)} samples a request. The agents' CPU (last column, summed over the fleet) is not "
        f"in the receiver's figures. WARN/ERROR lines in the agents' logs over all phases: {warnings:,}."
    )
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        out.append("")
        out.append(f"Growth with the fleet (medians; last column: N={last} ÷ N={first}):")
        out.append("")
        out.append("| receiver | figure | " + " | ".join(f"N={n}" for n in sizes) + f" | ×{last}/{first} |")
        out.append("|---|---|" + "---:|" * (len(sizes) + 1))
        for receiver in receivers:
            for name, label, digits in [("cpu_req", "CPU µs per request", 0), ("cpu_m", "CPU-s per million samples", 3),
                                        ("rss", "RSS MB", 1)]:
                vals = [median(n, receiver, name) for n in sizes]
                growth = vals[-1] / vals[0] if vals[0] and vals[-1] is not None else None
                out.append(f"| {receiver} | {label} | " + " | ".join(f(v, digits) for v in vals) +
                           f" | {fmt(growth)} |")
    print("\n".join(out))


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "series" and len(sys.argv) == 4:
        series(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] in ("agent", "relay", "fleet"):
        {"agent": agent, "relay": relay, "fleet": fleet}[sys.argv[1]](sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
