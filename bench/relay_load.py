#!/usr/bin/python3
"""Remote-write relay load for scripts/bench.sh (part `relay`).

The load is the relay load of ARCHITECTURE.md ("Benchmarks"), the same as `cargo bench -p peeper-server --bench ingest`:
one request is a WriteRequest of 10 000 series x 7 labels (`__name__`, device, instance, job,
region, service, team), one sample each, snappy block format. Protobuf is encoded by hand
(varints), snappy comes from Debian's python3-snappy, so this runs on /usr/bin/python3 with no
PyPI package.

  relay_load.py gen  --dir D --requests N
      writes N distinct bodies (the same series, timestamps shifted by 1 s a request) to D.
  relay_load.py run  --dir D --url URL [--token-file F | --basic-auth U:P] --pid PID --vm VM_URL --tenant T
                     [--warmup W] [--requests N] [--timeout S]
      sends W warm-up bodies, takes PID's CPU (utime+stime), sends N bodies one after the other
      on one keep-alive connection (each must be answered 2xx), waits until VictoriaMetrics
      holds all (W+N) x 10 000 samples with tenant=T, takes PID's CPU again and prints one JSON
      line: cpu_seconds, samples, delivered, cpu_s_per_million, send_seconds, deliver_seconds.

Every loop is bounded: N requests, and the delivery wait by --timeout.
"""

import argparse
import base64
import http.client
import json
import os
import struct
import sys
import time
import urllib.parse
import urllib.request

import snappy

SERIES = 10_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def series_labels(i: int) -> bytes:
    """Field 1 (labels) of series i, already framed, labels sorted by name."""
    labels = sorted(
        [
            ("__name__", f"node_network_receive_bytes_total_{i % 50}"),
            ("device", f"eth{i % 4}"),
            ("instance", f"host-{i // 40:04}.example.com"),
            ("job", "linux"),
            ("region", f"eu-{i % 3}"),
            ("service", f"svc-{i % 17}"),
            ("team", "platform"),
        ]
    )
    return b"".join(
        field_bytes(1, field_bytes(1, n.encode()) + field_bytes(2, v.encode()))
        for n, v in labels
    )


def body(labels: list, base_ms: int, request: int) -> bytes:
    parts = []
    for i, framed_labels in enumerate(labels):
        sample = b"\x09" + struct.pack("<d", float(i * 1031 + request)) + b"\x10" + varint(
            base_ms + request * 1000 - i
        )
        parts.append(field_bytes(1, framed_labels + field_bytes(2, sample)))
    return snappy.compress(b"".join(parts))


def gen(args) -> None:
    os.makedirs(args.dir, exist_ok=True)
    # An hour in the past: far from the server's future limit, well inside VM's retention.
    base_ms = (int(time.time()) - 3600) * 1000
    labels = [series_labels(i) for i in range(SERIES)]
    total = 0
    for r in range(args.requests):
        data = body(labels, base_ms, r)
        total += len(data)
        with open(os.path.join(args.dir, f"{r:05}.bin"), "wb") as f:
            f.write(data)
    with open(os.path.join(args.dir, "meta.json"), "w") as f:
        json.dump({"requests": args.requests, "series": SERIES, "base_ms": base_ms, "bytes": total}, f)
    print(
        f"generated {args.requests} bodies of {SERIES} series, "
        f"{total / args.requests / 1024:.0f} KiB each, {total / args.requests / SERIES:.1f} bytes/sample",
        file=sys.stderr,
    )


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)


def vm_samples(vm: str, tenant: str) -> int:
    query = f'sum(count_over_time({{tenant="{tenant}"}}[6h]))'
    # nocache: the bodies carry past timestamps, which the rollup cache would hide.
    url = f"{vm}/api/v1/query?" + urllib.parse.urlencode({"query": query, "nocache": "1"})
    with urllib.request.urlopen(url, timeout=30) as resp:
        result = json.load(resp)["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0


def run(args) -> None:
    with open(os.path.join(args.dir, "meta.json")) as f:
        meta = json.load(f)
    bodies = []
    for r in range(meta["requests"]):
        with open(os.path.join(args.dir, f"{r:05}.bin"), "rb") as f:
            bodies.append(f.read())
    requests = args.requests or len(bodies)
    if args.warmup + requests > len(bodies):
        sys.exit(f"only {len(bodies)} bodies generated, {args.warmup + requests} needed")
    token = open(args.token_file).read().strip() if args.token_file else None
    url = urllib.parse.urlsplit(args.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif args.basic_auth:
        headers["Authorization"] = "Basic " + base64.b64encode(args.basic_auth.encode()).decode()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def post(data: bytes) -> None:
        conn.request("POST", path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        if not 200 <= resp.status < 300:
            sys.exit(f"{args.url} answered {resp.status}: {text[:300]!r}")

    vm_flush = f"{args.vm}/internal/force_flush"
    for data in bodies[: args.warmup]:
        post(data)
    ticks0 = cpu_ticks(args.pid)
    t0 = time.monotonic()
    for data in bodies[args.warmup : args.warmup + requests]:
        post(data)
    t1 = time.monotonic()
    conn.close()
    expected = (args.warmup + requests) * meta["series"]
    delivered = 0
    deadline = t1 + args.timeout
    while time.monotonic() < deadline:
        urllib.request.urlopen(vm_flush, timeout=30).read()
        delivered = vm_samples(args.vm, args.tenant)
        if delivered >= expected:
            break
        time.sleep(0.5)
    t2 = time.monotonic()
    ticks1 = cpu_ticks(args.pid)
    samples = requests * meta["series"]
    cpu = (ticks1 - ticks0) / CLK_TCK
    print(
        json.dumps(
            {
                "tenant": args.tenant,
                "cpu_seconds": cpu,
                "samples": samples,
                "expected_in_vm": expected,
                "delivered": delivered,
                "cpu_s_per_million": cpu / samples * 1e6,
                "send_seconds": round(t1 - t0, 3),
                "deliver_seconds": round(t2 - t0, 3),
            }
        )
    )
    if delivered < expected:
        sys.exit(f"only {delivered} of {expected} samples reached VictoriaMetrics in {args.timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--dir", required=True)
    g.add_argument("--requests", type=int, required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--url", required=True)
    r.add_argument("--token-file", help="sent as Authorization: Bearer")
    r.add_argument("--basic-auth", metavar="USER:PASSWORD", help="sent as Authorization: Basic")
    r.add_argument("--pid", type=int, required=True)
    r.add_argument("--vm", required=True)
    r.add_argument("--tenant", required=True)
    r.add_argument("--warmup", type=int, default=10)
    r.add_argument("--requests", type=int, default=0, help="default: all generated minus warm-up")
    r.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    gen(args) if args.command == "gen" else run(args)


if __name__ == "__main__":
    main()
