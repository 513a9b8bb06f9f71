"""Replay throughput on synthetic leads, one and two policies, with peak memory.

    .venv/bin/python benchmarks/bench_replay.py            # 100,000 and 1,000,000 leads
    .venv/bin/python benchmarks/bench_replay.py --sizes 100000 --repeat 3

Leads are generated (seeded) one at a time, shaped like the Maven CRM pipeline,
and replayed through policyd's public API alone (`policyd.load`, `Policy.decide`,
`policyd.apply` and `policyd.close`, each deal closing at its close time) with
policies/maven-crm.policy (one policy) and maven-crm.policy + maven-crm-v2.policy
(two, as a review runs them, counting the leads whose rep differs). The
`policyd replay` command adds its fairness tallies on top; they are not timed
here. A plain-Python loop in the same run does the same job by hand (score, tier,
least loaded among the reps who know the series, open/close with a heap) as the
baseline for a ratio. Each case runs in its own process, so its peak RSS
(resource.getrusage) is its own: flat memory shows as the same peak for
100,000 and 1,000,000 leads. Throughput is leads per second per policy.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PRODUCTS = [  # (product, series, price)
    ("gtx_basic", "gtx", 550),
    ("gtx_pro", "gtx", 4821),
    ("mg_special", "mg", 55),
    ("mg_advanced", "mg", 3393),
    ("gtx_plus_pro", "gtx", 5482),
    ("gtx_plus_basic", "gtx", 1096),
    ("gtk_500", "gtk", 26768),
]
SECTORS = ["it", "medical", "retail", "software", "entertainment", "marketing", "finance", "employment", "telecom", "services"]
COUNTRIES = ["United States"] * 12 + ["Japan", "Korea", "Italy", "Norway", "Kenya", "Philippines"]
GAP = 2400.0  # seconds between arrivals: about 1,100 leads open at once, close to the team's capacity


def _templates(rnd: random.Random, k: int = 4096) -> list[dict]:
    """k lead shapes (without id): most with an account, 15% open deals without one."""
    out = []
    for _ in range(k):
        product, series, price = PRODUCTS[rnd.randrange(7) if rnd.random() < 0.995 else 6]
        if rnd.random() < 0.15:
            out.append({"sector": "unknown", "segment": "unknown", "product": product, "series": series, "price": price})
            continue
        emp = int(rnd.lognormvariate(7.8, 1.1))
        out.append(
            {
                "account": f"A{rnd.randrange(85)}",
                "sector": SECTORS[rnd.randrange(10)],
                "employees": emp,
                "segment": "enterprise" if emp >= 5000 else "mid_market" if emp >= 1000 else "smb",
                "revenue": round(emp * rnd.uniform(0.2, 0.5), 2),
                "country": COUNTRIES[rnd.randrange(len(COUNTRIES))],
                "product": product,
                "series": series,
                "price": price,
            }
        )
    return out


def synthetic(n: int, seed: int = 7):
    """n HistoryRow, generated one at a time (never a list): a seeded template, a fresh id, a close time."""
    from policyd.replay.records import HistoryRow

    rnd = random.Random(seed)
    shapes = _templates(rnd)
    holds = [rnd.uniform(1, 60) * 86400 for _ in range(4093)]  # close 1-60 days after arrival
    won = [rnd.random() < 0.63 for _ in range(4091)]
    k = len(shapes)
    for i in range(n):
        t = i * GAP
        shape = shapes[(i * 2654435761) % k]
        lead = {"id": f"S{i}", **shape}
        w = won[i % 4091]
        yield HistoryRow(i + 1, "", lead, lead["id"], t, None, "won" if w else "lost", shape["price"] if w else 0.0, t + holds[i % 4093])


def run_policyd(n: int, policies: int) -> dict:
    import policyd

    names = ["maven-crm.policy", "maven-crm-v2.policy"][:policies]
    loaded = [policyd.load(ROOT / "policies" / p) for p in names]
    states = [policyd.State() for _ in loaded]
    pending: list[list] = [[] for _ in loaded]
    assigned = [0] * policies
    apply, close = policyd.apply, policyd.close
    moved = seq = 0
    t0 = time.perf_counter()
    for row in synthetic(n):
        t = row.arrival
        reps = []
        for k, policy in enumerate(loaded):
            st, due = states[k], pending[k]
            while due and due[0][0] <= t:
                st = close(st, heapq.heappop(due)[2])
            d = policy.decide(row.lead, st, "bench")
            if d.rep is not None:
                st = apply(st, d, t)
                seq += 1
                heapq.heappush(due, (row.closed_at, seq, d.rep))
                assigned[k] += 1
            states[k] = st
            reps.append(d.rep)
        moved += reps[0] != reps[-1]
    dt = time.perf_counter() - t0
    return {"seconds": dt, "assigned": assigned, "moved": moved}


def run_baseline(n: int, policies: int) -> dict:
    """The same job by hand for the maven policy's main path: score, tier, least loaded with capacity, closes."""

    reps = []
    team = (ROOT / "policies" / "maven-crm-team.policy").read_text()
    for line in team.splitlines():
        parts = line.split()
        if parts[:1] == ["rep"]:
            reps.append({"name": parts[1], "cap": int(parts[4]) if "capacity" in parts else 60, "skills": {}})
        elif parts[:1] == ["skills"] and reps:
            for kv in " ".join(parts[1:]).split(","):
                k, v = kv.split()
                reps[-1]["skills"][k] = int(v)
    t0 = time.perf_counter()
    for _ in range(policies):
        opened = [0] * len(reps)
        caps = [r["cap"] for r in reps]
        skills = [r["skills"] for r in reps]
        pending: list = []
        assigned = 0
        for row in synthetic(n):
            t = row.arrival
            while pending and pending[0][0] <= t:
                opened[heapq.heappop(pending)[1]] -= 1
            lead = row.lead
            price = lead["price"]
            emp = lead.get("employees")
            rev = lead.get("revenue")
            total = (
                (3 if price >= 4000 else 2 if price >= 1000 else 1)
                + (3 if emp and emp >= 5000 else 2 if emp and emp >= 1000 else 1)
                + (2 if rev and rev >= 2000 else 1)
            )
            need = 3 if total >= 7 else 2 if total >= 5 else 1
            series = lead["series"]
            cands = [i for i in range(len(reps)) if opened[i] < caps[i] and skills[i].get(series, 1) >= need]
            if not cands:
                continue
            best = min(cands, key=lambda i: (opened[i] / caps[i], opened[i], i))
            opened[best] += 1
            assigned += 1
            heapq.heappush(pending, (row.closed_at, best))
    return {"seconds": time.perf_counter() - t0, "assigned": [assigned]}


def one_case(kind: str, n: int, policies: int) -> dict:
    out = (run_policyd if kind == "policyd" else run_baseline)(n, policies)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def in_subprocess(kind: str, n: int, policies: int) -> dict:
    res = subprocess.run(
        [sys.executable, __file__, "--case", kind, "--n", str(n), "--policies", str(policies)], capture_output=True, text=True, check=True
    )
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated lead counts")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case for sizes up to 100,000 (larger: 1 run)")
    ap.add_argument("--case", choices=["policyd", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--policies", type=int, default=1, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(one_case(a.case, a.n, a.policies)))
        return
    print(
        f"python {sys.version.split()[0]}; leads/s per policy = leads x policies / seconds (median of runs); peak RSS of the case's process"
    )
    print(
        f"{'leads':>9}  {'policies':>8}  {'policyd leads/s':>15}  {'baseline leads/s':>16}  {'ratio':>6}  {'policyd peak RSS':>16}  {'runs':>4}"
    )
    for n in (int(s) for s in a.sizes.split(",")):
        runs = a.repeat if n <= 100_000 else 1
        for policies in (1, 2):
            p = [in_subprocess("policyd", n, policies) for _ in range(runs)]
            b = [in_subprocess("baseline", n, policies) for _ in range(runs)]
            pm = statistics.median(x["seconds"] for x in p)
            bm = statistics.median(x["seconds"] for x in b)
            rate = n * policies / pm
            brate = n * policies / bm
            rss = max(x["peak_rss_mb"] for x in p)
            print(f"{n:>9,}  {policies:>8}  {rate:>15,.0f}  {brate:>16,.0f}  {pm / bm:>5.1f}x  {rss:>13.0f} MB  {runs:>4}", flush=True)


if __name__ == "__main__":
    main()
