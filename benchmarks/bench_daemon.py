"""Durable assignments per second through the real daemon, beside the disk's raw commit rate.

Starts `policyd serve` on a free loopback port over a fresh SQLite file, then, for
each concurrency level, runs a load generator in a *separate process* (a small
asyncio HTTP/1.1 keep-alive client, so the client costs little CPU) that sends
`POST /v1/assign` with unique lead ids, bounded by a count and a time limit.
Every answer it counts is a durable decision (201). In the same run it measures
the raw rate of durable SQLite commits (WAL, synchronous=FULL, one small row per
commit) on the same disk, and the in-process rate of `Compiled.decide`, as
baselines: the daemon's group commit is what lets it answer faster than the disk
commits one by one.

The policy is inbound.policy with capacities raised so every lead goes through a
real route (lottery, require, prefer, pick) instead of queueing once the team is full.

    python benchmarks/bench_daemon.py                 # 1, 16 and 64 clients
    python benchmarks/bench_daemon.py --count 3000 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from policyd.engine.decide import decide  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LEADS = [
    {"employees": 20, "budget": "unknown", "authority": "info_gathering", "industry": "other", "segment": "smb"},
    {"employees": 300, "budget": "considering", "authority": "influencer", "industry": "retail", "segment": "smb"},
    {
        "employees": 1500,
        "budget": "stated",
        "authority": "decision_maker",
        "timing_months": 2,
        "industry": "finance",
        "segment": "enterprise",
    },
    {"employees": 800, "budget": "stated", "authority": "influencer", "timing_months": 5, "industry": "it", "segment": "enterprise"},
]


def lead(i: str, k: int) -> dict:
    return {"id": i, "company": f"Company {i}", "country": "US", **LEADS[k % len(LEADS)]}


# ---------------------------------------------------------------------- the load generator (child process)
async def client(
    host: str, port: int, token: str, prefix: str, n: int, stop_at: float, lat: list[float], errors: list[str], path: str = "/v1/assign"
) -> None:
    """One keep-alive connection posting `n` leads to `path` until `stop_at`; latencies and non-201 answers go in the lists."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for k in range(n):
            if time.perf_counter() >= stop_at:
                return
            body = json.dumps(lead(f"{prefix}-{k}", k)).encode()
            req = (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            m = re.search(rb"content-length: *(\d+)", head, re.I)
            payload = await reader.readexactly(int(m.group(1)) if m else 0)
            lat.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 201"):
                errors.append(head.split(b"\r\n", 1)[0].decode() + " " + payload[:200].decode(errors="replace"))
    finally:
        writer.close()


async def _load(host: str, port: int, token: str, run: str, clients: int, count: int, seconds: float) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    per = -(-count // clients)
    t0 = time.perf_counter()
    stop_at = t0 + seconds
    await asyncio.gather(*(client(host, port, token, f"{run}-{c}", per, stop_at, lat, errors) for c in range(clients)))
    elapsed = time.perf_counter() - t0
    return {"requests": len(lat), "elapsed": elapsed, "latencies": lat, "errors": errors[:5], "error_count": len(errors)}


def client_main(args) -> None:
    out = asyncio.run(_load(args.host, args.port, args.token, args.run, args.clients, args.count, args.seconds))
    json.dump(out, sys.stdout)


# ---------------------------------------------------------------------- baselines
def raw_commit_rate(directory: Path, seconds: float = 2.0) -> float:
    """Durable commits per second on this disk: WAL, synchronous=FULL, one row per commit."""
    path = directory / "raw-commits.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("create table t (id integer primary key, v text)")
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        conn.execute("BEGIN")
        conn.execute("insert into t (v) values (?)", ("x" * 200,))
        conn.execute("COMMIT")
        n += 1
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return rate


def decide_rate(policy_text: str, seconds: float = 1.0) -> float:
    """In-process decisions per second (no HTTP, no disk), state moved by apply."""
    from policyd.checks.load import load_text
    from policyd.engine.state import State, apply

    c = load_text(policy_text, "bench.policy", ROOT / "policies").compiled
    st = State()
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        d = decide(c, lead(f"D-{n}", n), st, "bench")
        st = apply(st, d, float(n))
        n += 1
    return n / (time.perf_counter() - t0)


# ---------------------------------------------------------------------- the driver
def commits(port: int, token: str) -> tuple[int, int]:
    """(durable transactions, operations in them) from the daemon's metrics."""
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/metrics", headers={"Authorization": f"Bearer {token}"})
    text = urllib.request.urlopen(req, timeout=10).read().decode()
    got = dict(line.split() for line in text.splitlines() if line.startswith("policyd_commit_"))
    return int(got["policyd_commit_batches_total"]), int(got["policyd_commit_operations_total"])


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--token")
    ap.add_argument("--run", default="r")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--levels", default="1,16,64", help="concurrency levels (comma separated)")
    ap.add_argument("--count", type=int, default=4000, help="most assignments per level")
    ap.add_argument("--seconds", type=float, default=8.0, help="most seconds per level")
    ap.add_argument("--repeat", type=int, default=3, help="runs per level; the medians are reported")
    ap.add_argument("--dir", help="directory for the databases (default: a temporary one under the repo, i.e. the project's disk)")
    args = ap.parse_args()
    if args.client:
        return client_main(args)

    sys.path.insert(0, str(ROOT))
    from policyd.daemon.runtime import connect
    from policyd.lottery import seeds
    from policyd.storage import tokens
    from policyd.storage.store import Store

    base = Path(args.dir) if args.dir else ROOT
    with tempfile.TemporaryDirectory(prefix=".bench-daemon-", dir=base) as tmp:
        tmpdir = Path(tmp)
        text = (ROOT / "policies" / "inbound.policy").read_text(encoding="utf-8")
        text = (
            text.replace("capacity default 25", "capacity default 100000")
            .replace("capacity 30", "capacity 100000")
            .replace("capacity 15", "capacity 100000")
        )
        db = tmpdir / "bench.db"
        store = Store(str(db))
        v, _ = store.publish("inbound.policy", {"inbound.policy": text}, "bench", "bench")
        store.activate(v.number, "bench")
        token = tokens.create(connect(str(db)), "bench", "assign")
        period = seeds.period_of(time.time())  # committed as if before the week began: lottery steps draw, as in production
        seeds.commit(str(db), period, now=seeds.period_start(period) - 60)

        raw = raw_commit_rate(tmpdir)
        decide = decide_rate(text)
        server = subprocess.Popen(
            [sys.executable, "-m", "policyd", "serve", "--db", str(db), "--port", "0", "--sla-interval", "5"],
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        try:
            port = None
            for line in server.stderr:
                m = re.search(r"serving http://127\.0\.0\.1:(\d+)", line)
                if m:
                    port = int(m.group(1))
                    break
            if port is None:
                raise SystemExit("the server did not start")
            results = []
            for level in [int(x) for x in args.levels.split(",")]:
                runs = []
                for rep in range(args.repeat):
                    b0, o0 = commits(port, token)
                    cmd = [sys.executable, __file__, "--client", "--port", str(port), "--token", token, "--run", f"c{level}r{rep}"]
                    cmd += ["--clients", str(level), "--count", str(args.count), "--seconds", str(args.seconds)]
                    r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                    b1, o1 = commits(port, token)
                    lat = r["latencies"]
                    runs.append(
                        {
                            "requests": r["requests"],
                            "per_second": r["requests"] / r["elapsed"],
                            "p50_ms": pct(lat, 50) * 1000,
                            "p99_ms": pct(lat, 99) * 1000,
                            "per_commit": (o1 - o0) / max(1, b1 - b0),
                        }
                    )
                    if r["errors"]:
                        print(f"{r['error_count']} errors, e.g.", r["errors"], file=sys.stderr)
                med = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
                med["clients"] = level
                med["range"] = (min(x["per_second"] for x in runs), max(x["per_second"] for x in runs))
                results.append(med)
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = sqlite3.connect(db).execute("select count(*) from rt_decisions").fetchone()[0]

    print(f"raw durable SQLite commits (WAL, synchronous=FULL, 1 row each): {raw:,.0f}/s")
    print(f"in-process Compiled.decide + state.apply (no HTTP, no disk):     {decide:,.0f}/s")
    print()
    print(f"medians of {args.repeat} runs per level (at most {args.count} assignments or {args.seconds:g} s each):")
    head = (
        f"{'clients':>7}  {'assignments/s':>13}  {'(range)':>13}  {'p50 ms':>7}  {'p99 ms':>7}  {'per commit':>10}  {'vs raw commits':>14}"
    )
    print(head)
    for r in results:
        lo, hi = r["range"]
        print(
            f"{r['clients']:>7}  {r['per_second']:>13,.0f}  {f'{lo:,.0f}-{hi:,.0f}':>13}  {r['p50_ms']:>7.2f}  {r['p99_ms']:>7.2f}"
            f"  {r['per_commit']:>10.1f}  {r['per_second'] / raw:>13.2f}x"
        )
    print(f"\ndecisions stored: {stored} (every answered assignment was committed before its answer)")


if __name__ == "__main__":
    main()
