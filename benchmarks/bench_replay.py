"""Replay throughput on synthetic leads, one and two policies, with peak memory.

    .venv/bin/python benchmarks/bench_replay.py            # 100,000 and 1,000,000 leads
    .venv/bin/python benchmarks/bench_replay.py --sizes 100000 --repeat 3

Leads are generated (seeded) one at a time, shaped like the Maven CRM pipeline,
and replayed through policyd's public API alone (`policyd.load`, `Policy.decide`,
and a `policyd.Ledger` moved by its own `apply` and `close`, each deal closing at
its close time; the agreement check moves it by `policyd.apply` and `policyd.close`)
with policies/maven-crm.policy (one policy) and maven-crm.policy + maven-crm-v2.policy
(two, as a review runs them, counting the leads whose rep differs). The
`policyd replay` command adds its fairness tallies on top; they are not timed
here. A plain-Python loop in the same run does the same job by hand as the
baseline for a ratio (`hand_replay`: each policy's validation, scores, tiers,
exceptions, lottery draws, filters, picks, tie-breaks and closes written out), and
before anything is timed the two are checked to send each of the first 20,000
leads to the same rep under each policy. Each case runs in its own process, so its peak RSS
(resource.getrusage) is its own: flat memory shows as the same peak for
100,000 and 1,000,000 leads. Throughput is leads per second per policy.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import hmac
import json
import math
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
    states = [policyd.Ledger() for _ in loaded]
    pending: list[list] = [[] for _ in loaded]
    assigned = [0] * policies
    moved = seq = 0
    t0 = time.perf_counter()
    for row in synthetic(n):
        t = row.arrival
        reps = []
        for k, policy in enumerate(loaded):
            st, due = states[k], pending[k]  # a ledger moves in place: its own `close` and `apply`
            while due and due[0][0] <= t:
                st.close(heapq.heappop(due)[2])
            d = policy.decide(row.lead, st, SEED)
            if d.rep is not None:
                st.apply(d, t)
                seq += 1
                heapq.heappush(due, (row.closed_at, seq, d.rep))
                assigned[k] += 1
            reps.append(d.rep)
        moved += reps[0] != reps[-1]
    dt = time.perf_counter() - t0
    return {"seconds": dt, "assigned": assigned, "moved": moved}


# ---------------------------------------------------------------- the hand-written loop
SCHEMA_ENUMS = {
    "sector": {
        "it",
        "medical",
        "retail",
        "software",
        "entertainment",
        "marketing",
        "finance",
        "employment",
        "telecom",
        "services",
        "unknown",
    },
    "segment": {"enterprise", "mid_market", "smb", "unknown"},
    "product": {"gtx_basic", "gtx_pro", "gtx_plus_basic", "gtx_plus_pro", "mg_special", "mg_advanced", "gtk_500"},
    "series": {"gtx", "mg", "gtk"},
}
SCHEMA_FIELDS = {"id", "account", "sector", "employees", "segment", "revenue", "country", "product", "series", "price"}
SEED = "bench"


def _team() -> tuple[list[str], list[str], list[int], list[dict]]:
    """Names, levels, capacities and skills of policies/maven-crm-team.policy, read by hand."""
    names, levels, caps, skills = [], [], [], []
    for line in (ROOT / "policies" / "maven-crm-team.policy").read_text().splitlines():
        parts = line.split("#")[0].split()
        if parts[:1] == ["rep"]:
            names.append(parts[1])
            levels.append(parts[2])
            caps.append(int(parts[parts.index("capacity") + 1]) if "capacity" in parts else 60)
            skills.append({})
        elif parts[:1] == ["skills"] and names:
            for kv in " ".join(parts[1:]).split(","):
                k, v = kv.split()
                skills[-1][k] = int(v)
    return names, levels, caps, skills


def hand_replay(rows, policy: str):
    """maven-crm.policy (`policy` "v1") or maven-crm-v2.policy ("v2") written by hand, as
    plain Python, over HistoryRow: the same validation, scores, tiers, exceptions, lottery
    draws, filters, picks and tie-breaks, and closes. Yields each lead's rep (or None)."""
    names, levels, caps, skills = _team()
    n = len(names)
    everyone = range(n)
    opened = [0] * n
    last_at = [-math.inf] * n
    ratio = 0.2 if policy == "v1" else 0.35
    rotating = policy == "v1"  # v1's medium route is round robin; v2's is least loaded
    cursor = -1  # the medium route's last pick (team index)
    vets = {i for i in everyone if levels[i] == "veteran"}
    new = {i for i in everyone if levels[i] == "new"}
    mid = {i for i in everyone if levels[i] == "mid"}
    seed = SEED.encode()

    def least_loaded(cands):
        # lowest load, then fewer open, then longest since the last assignment, then team order
        return min(cands, key=lambda i: (opened[i] / caps[i] if caps[i] else 1.0, opened[i], last_at[i], i))

    def draw(lead_id: str, purpose: str) -> float:
        mac = hmac.new(seed, f"{purpose}:{lead_id}".encode(), hashlib.sha256).digest()
        return (int.from_bytes(mac[:8], "big") >> 11) / 9007199254740992.0

    pending: list = []
    for row in rows:
        t = row.arrival
        while pending and pending[0][0] <= t:
            opened[heapq.heappop(pending)[1]] -= 1
        lead = row.lead
        # validation, as the lead block states it
        for k in lead:
            if k not in SCHEMA_FIELDS:
                raise ValueError(f"unknown field {k}")
        lead_id, price, series = lead["id"], lead["price"], lead["series"]
        emp, rev, account = lead.get("employees"), lead.get("revenue"), lead.get("account")
        country = lead.get("country", "unknown")
        if not (isinstance(lead_id, str) and type(price) is int and isinstance(country, str)):
            raise ValueError("bad type")
        if (emp is not None and type(emp) is not int) or (rev is not None and type(rev) not in (int, float)):
            raise ValueError("bad type")
        if account is not None and not isinstance(account, str):
            raise ValueError("bad type")
        for k, allowed in SCHEMA_ENUMS.items():
            if lead[k] not in allowed:
                raise ValueError(f"bad word for {k}")
        total = (
            (3 if price >= 4000 else 2 if price >= 1000 else 1)
            + (3 if emp is not None and emp >= 5000 else 2 if emp is not None and emp >= 1000 else 1)
            + (2 if rev is not None and rev >= 2000 else 1)
        )
        route = "high" if total >= 7 else "medium" if total >= 5 else "low"
        avail = [i for i in everyone if opened[i] < caps[i]]
        best = None
        # exceptions, in file order (v2 adds `international` before `gtk_specialists`)
        if policy == "v2" and country != "United States" and country != "unknown":
            cands = [i for i in avail if skills[i].get("international", 1) >= 2]
            if cands:
                best = least_loaded([i for i in cands if skills[i].get(series, 1) >= 3] or cands)
        if best is None and series == "gtk":
            cands = [i for i in avail if skills[i].get("gtk", 1) >= 3]
            if cands:
                best = least_loaded(cands)
        while best is None:
            if route == "high":
                if avail and draw(lead_id, "entry") < ratio:
                    best = avail[min(int(draw(lead_id, "winner") * len(avail)), len(avail) - 1)]
                    break
                cands = [i for i in avail if skills[i].get(series, 1) >= 3]
                if cands:
                    best = least_loaded([i for i in cands if i in vets] or cands)
                    break
                route = "medium"
            elif route == "medium":
                cands = [i for i in avail if skills[i].get(series, 1) >= 2]
                if cands:
                    if rotating:
                        best = cursor = next((i for i in cands if i > cursor), cands[0])
                    else:
                        best = least_loaded(cands)
                    break
                route = "low"
            else:
                if avail:
                    best = least_loaded([i for i in avail if i in new] or [i for i in avail if i in mid] or avail)
                break
        if best is None:
            yield None
            continue
        opened[best] += 1
        last_at[best] = t
        heapq.heappush(pending, (row.closed_at, best))
        yield names[best]


def run_baseline(n: int, policies: int) -> dict:
    """The same job by hand (`hand_replay`), each policy over the same leads."""
    variants = ["v1", "v2"][:policies]
    assigned = [0] * policies
    moved = 0
    t0 = time.perf_counter()
    if policies == 1:
        for rep in hand_replay(synthetic(n), "v1"):
            assigned[0] += rep is not None
    else:
        a, b = (hand_replay(synthetic(n), v) for v in variants)
        for x, y in zip(a, b):
            assigned[0] += x is not None
            assigned[1] += y is not None
            moved += x != y
    return {"seconds": time.perf_counter() - t0, "assigned": assigned, "moved": moved}


def agree(n: int) -> dict:
    """Every lead of the first `n` goes to the same rep by policyd and by hand, for each policy."""
    import policyd

    for name, variant in (("maven-crm.policy", "v1"), ("maven-crm-v2.policy", "v2")):
        policy = policyd.load(ROOT / "policies" / name)
        st, due, seq = policyd.Ledger(), [], 0
        by_hand = hand_replay(synthetic(n), variant)
        for row, want in zip(synthetic(n), by_hand):
            while due and due[0][0] <= row.arrival:
                st = policyd.close(st, heapq.heappop(due)[2])
            d = policy.decide(row.lead, st, SEED)
            if d.rep != want:
                raise SystemExit(f"{name}: lead {row.lead['id']} went to {d.rep} by policyd, {want} by hand")
            if d.rep is not None:
                st = policyd.apply(st, d, row.arrival)
                seq += 1
                heapq.heappush(due, (row.closed_at, seq, d.rep))
    return {"agreed": n}


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
    ap.add_argument("--case", choices=["policyd", "baseline", "agree"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--policies", type=int, default=1, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(agree(a.n) if a.case == "agree" else one_case(a.case, a.n, a.policies)))
        return
    agreed = subprocess.run([sys.executable, __file__, "--case", "agree", "--n", "20000"], capture_output=True, text=True)
    if agreed.returncode != 0:
        raise SystemExit(f"policyd and the hand-written loop disagree: {agreed.stderr.strip() or agreed.stdout.strip()}")
    print("agreement: the first 20,000 leads go to the same rep by policyd and by hand, under each policy")
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
            print(f"{n:>9,}  {policies:>8}  {rate:>15,.0f}  {brate:>16,.0f}  {pm / bm:>5.2f}x  {rss:>13.0f} MB  {runs:>4}", flush=True)


if __name__ == "__main__":
    main()
