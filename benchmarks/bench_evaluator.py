"""Evaluator speed against a hand-written plain-Python floor, in one run.

The floor is `handwritten_decide`: the reference policy (policies/inbound.policy)
written by hand as ordinary Python, with the same lead validation, draws and
tie-breaks, and no trace. policyd runs through its public API (`policyd.load`,
`Policy.decide`), on the fast path (no trace, as replay and the daemon decide)
and with the trace (as an explanation decides again). All three run on the same
100,000 seeded synthetic leads and states; every decision is checked to agree
(policyd with the floor, the traced with the fast one) before anything is timed.

    python benchmarks/bench_evaluator.py [--leads 100000] [--rounds 7]

Rounds are interleaved (floor, fast, traced), so machine noise hits all three
alike. Reports the median microseconds per decision, the ratio of the medians to
the floor, and the range of the per-round ratios. Also times loading the
reference policy (parse, check, compile) in a fresh process.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import policyd  # noqa: E402

POLICY = ROOT / "policies" / "inbound.policy"

# ---------------------------------------------------------------- the floor
REPS = [
    # name, level, capacity, languages, skills
    ("alice", "veteran", 30, {"en", "ja"}, {"enterprise": 3, "expansion": 3, "it": 3, "finance": 2}),
    ("carol", "veteran", 30, set(), {"enterprise": 3, "new_business": 3, "finance": 3, "health": 2}),
    ("dmitri", "veteran", 25, {"en", "de"}, {"enterprise": 3, "manufacturing": 3, "it": 2, "new_business": 2}),
    ("erin", "veteran", 25, set(), {"enterprise": 2, "smb": 2, "retail": 3, "health": 3}),
    ("farah", "veteran", 25, {"en", "fr"}, {"enterprise": 3, "finance": 3, "expansion": 2}),
    ("gustavo", "mid", 25, {"en", "es"}, {"smb": 3, "enterprise": 2, "retail": 2, "it": 2}),
    ("hana", "mid", 25, {"en", "ja"}, {"enterprise": 2, "it": 3, "manufacturing": 2}),
    ("ivan", "mid", 25, set(), {"smb": 2, "manufacturing": 3, "new_business": 3}),
    ("jun", "mid", 25, {"en", "ja"}, {"smb": 3, "finance": 2, "expansion": 3}),
    ("kofi", "mid", 25, set(), {"enterprise": 2, "health": 3, "finance": 2}),
    ("lena", "mid", 25, {"en", "de"}, {"smb": 2, "it": 2, "retail": 2, "new_business": 2}),
    ("mateo", "mid", 25, {"en", "es"}, {"smb": 3, "manufacturing": 2}),
    ("nadia", "new", 25, set(), {"smb": 2, "it": 2}),
    ("omar", "new", 15, set(), {"smb": 2, "retail": 2}),
    ("priya", "new", 25, set(), {"smb": 2, "health": 2, "new_business": 2}),
    ("quinn", "new", 15, set(), {"smb": 1}),
    ("rosa", "new", 25, {"en", "es"}, {"smb": 2, "retail": 2}),
    ("sam", "new", 25, set(), {"it": 2, "new_business": 2}),
    ("tomas", "new", 25, {"en", "de"}, {"manufacturing": 2}),
    ("uma", "new", 15, set(), {"finance": 2, "smb": 2}),
]
NAMES = [r[0] for r in REPS]
NAME_SET = set(NAMES)
LEVEL = [r[1] for r in REPS]
CAP = [r[2] for r in REPS]
SKILLS = [r[4] for r in REPS]
N = len(REPS)
ENUMS = {
    "budget": {"stated", "considering", "unknown"},
    "authority": {"decision_maker", "influencer", "info_gathering"},
    "industry": {"it", "manufacturing", "finance", "retail", "health", "other"},
    "segment": {"enterprise", "smb"},
    "motion": {"new_business", "expansion"},
}
FIELDS = {
    "id",
    "company",
    "employees",
    "budget",
    "authority",
    "timing_months",
    "industry",
    "segment",
    "motion",
    "language",
    "country",
    "account_owner",
}


def _draw(seed: bytes, lead_id: str, purpose: str) -> float:
    mac = hmac.new(seed, f"{purpose}:{lead_id}".encode(), hashlib.sha256).digest()
    return (int.from_bytes(mac[:8], "big") >> 11) / 9007199254740992.0


def _least_loaded(cands, opens):
    return min(cands, key=lambda i: (opens[i] / CAP[i], opens[i], i))


def handwritten_decide(raw: dict, opens: list[int], rr_last: int, seed: bytes):
    """The reference policy by hand: returns (tier, rep or None, queue or None)."""
    # validation, as the schema does it
    for k in raw:
        if k not in FIELDS:
            raise ValueError(f"unknown field {k}")
    lead_id, company, employees, country = raw["id"], raw["company"], raw["employees"], raw["country"]
    if not (isinstance(lead_id, str) and isinstance(company, str) and type(employees) is int and isinstance(country, str)):
        raise ValueError("bad type")
    budget, authority, industry, segment = raw["budget"], raw["authority"], raw["industry"], raw["segment"]
    if (
        budget not in ENUMS["budget"]
        or authority not in ENUMS["authority"]
        or industry not in ENUMS["industry"]
        or segment not in ENUMS["segment"]
    ):
        raise ValueError("bad word")
    motion = raw.get("motion", "new_business")
    if motion not in ENUMS["motion"]:
        raise ValueError("bad word")
    timing = raw.get("timing_months")
    if timing is not None and type(timing) is not int:
        raise ValueError("bad type")
    language = raw.get("language", "en")
    if not isinstance(language, str):
        raise ValueError("bad type")
    owner = raw.get("account_owner")
    if owner is not None and owner not in NAME_SET:
        raise ValueError("unknown rep")

    total = 3 if employees >= 1000 else 2 if employees >= 100 else 1
    total += 3 if budget == "stated" else 2 if budget == "considering" else 1
    total += 3 if authority == "decision_maker" else 2 if authority == "influencer" else 1
    total += 3 if (timing is not None and timing <= 3) else 2 if (timing is not None and timing <= 6) else 1
    tier = "high" if total >= 10 else "medium" if total >= 7 else "low"

    avail = [i for i in range(N) if opens[i] < CAP[i]]
    if owner is not None:
        i = NAMES.index(owner)
        if i in avail:
            return tier, owner, None
    if employees >= 5000 and segment == "enterprise":
        cands = [i for i in avail if SKILLS[i].get("enterprise", 1) >= 3]
        if cands:
            return tier, NAMES[_least_loaded(cands, opens)], None

    route = tier
    while True:
        if route == "high":
            if avail and _draw(seed, lead_id, "entry") < 0.3:
                return tier, NAMES[avail[min(int(_draw(seed, lead_id, "winner") * len(avail)), len(avail) - 1)]], None
            cands = [i for i in avail if SKILLS[i].get(segment, 1) >= 2 and SKILLS[i].get(industry, 1) >= 2]
            if cands:
                vets = [i for i in cands if LEVEL[i] == "veteran"]
                return tier, NAMES[_least_loaded(vets or cands, opens)], None
            route = "medium"
        elif route == "medium":
            if not avail:
                return tier, None, "unassigned"
            return tier, NAMES[next((i for i in avail if i > rr_last), avail[0])], None
        else:
            if not avail:
                return tier, None, "unassigned"
            new = [i for i in avail if LEVEL[i] == "new"]
            mid = [i for i in avail if LEVEL[i] == "mid"]
            return tier, NAMES[_least_loaded(new or mid or avail, opens)], None


# ---------------------------------------------------------------- workload
def synthetic(n: int, seed: int = 7):
    rnd = random.Random(seed)
    leads, states = [], []
    for k in range(n):
        lead = {
            "id": f"L-{k}",
            "company": f"Company {k}",
            "employees": rnd.choice([5, 40, 150, 800, 1500, 6000, 12000]),
            "budget": rnd.choice(["stated", "considering", "unknown"]),
            "authority": rnd.choice(["decision_maker", "influencer", "info_gathering"]),
            "industry": rnd.choice(["it", "manufacturing", "finance", "retail", "health", "other"]),
            "segment": rnd.choice(["enterprise", "smb"]),
            "country": rnd.choice(["US", "JP", "DE", "FR"]),
        }
        if rnd.random() < 0.7:
            lead["timing_months"] = rnd.randint(1, 12)
        if rnd.random() < 0.1:
            lead["account_owner"] = rnd.choice(NAMES)
        if rnd.random() < 0.3:
            lead["motion"] = "expansion"
        leads.append(lead)
    for _ in range(64):
        opens = [rnd.randint(0, CAP[i]) if rnd.random() < 0.15 else rnd.randint(0, CAP[i] // 2) for i in range(N)]
        rr_last = rnd.randrange(-1, N)
        states.append((opens, rr_last))
    return leads, states


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    policy = policyd.load(POLICY)
    seed = "bench-seed"
    seed_b = seed.encode()
    leads, raw_states = synthetic(args.leads)
    states = [
        policyd.State(open={NAMES[i]: o for i, o in enumerate(opens) if o}, cursors={"route:medium": NAMES[rr]} if rr >= 0 else {})
        for opens, rr in raw_states
    ]
    pairs = [(lead, k % len(states)) for k, lead in enumerate(leads)]

    # agreement on every lead before timing
    tiers = {"high": 0, "medium": 0, "low": 0}
    lottery = 0
    for lead, si in pairs:
        d = policy.decide(lead, states[si], seed)
        opens, rr = raw_states[si]
        want = handwritten_decide(lead, opens, rr, seed_b)
        got = (d.tier, d.rep, d.queue)
        if got != want:
            raise SystemExit(f"disagreement on {lead['id']}: policyd {got} vs hand-written {want}")
        traced = policy.decide(lead, states[si], seed, trace=True)
        if (traced.rep, traced.queue, traced.by, traced.lottery, traced.updates) != (d.rep, d.queue, d.by, d.lottery, d.updates):
            raise SystemExit(f"the traced decision of {lead['id']} differs from the fast one")
        tiers[d.tier] += 1
        lottery += d.by == "lottery"
    print(f"agreement: {len(pairs):,} leads; policyd and the hand-written function agree on every decision, traced and fast alike")
    print(f"mix: {tiers} ; by lottery {lottery:,}")

    def run_fast():
        decide = policy.decide
        for lead, si in pairs:
            decide(lead, states[si], seed)

    def run_traced():
        decide = policy.decide
        for lead, si in pairs:
            decide(lead, states[si], seed, trace=True)

    def run_floor():
        for lead, si in pairs:
            opens, rr = raw_states[si]
            handwritten_decide(lead, opens, rr, seed_b)

    times: dict[str, list[float]] = {"floor": [], "fast": [], "traced": []}
    for _ in range(args.rounds):
        for name, fn in (("floor", run_floor), ("fast", run_fast), ("traced", run_traced)):
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) / len(pairs) * 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}

    def spread(name: str) -> str:
        ratios = [t / f for t, f in zip(times[name], times["floor"])]
        return f"per-round {min(ratios):.2f}x-{max(ratios):.2f}x"

    print(f"python {sys.version.split()[0]}, {args.rounds} interleaved rounds, medians:")
    print(f"hand-written floor     : {med['floor']:6.2f} us/decision")
    print(
        f"policyd, no trace      : {med['fast']:6.2f} us/decision  {med['fast'] / med['floor']:.2f}x the floor (target <= 1.5x; {spread('fast')})"
    )
    print(
        f"policyd, with trace    : {med['traced']:6.2f} us/decision  {med['traced'] / med['floor']:.2f}x the floor (target <= 2.5x; {spread('traced')})"
    )

    # explanations are rendered on demand (deciding again with the trace), not per decision
    sample = [policy.decide(lead, states[si], seed) for lead, si in pairs[:2000]]
    t0 = time.perf_counter()
    for d in sample:
        policy.explain(d, "text")
    print(f"text explanation       : {(time.perf_counter() - t0) / len(sample) * 1e6:6.0f} us each (rebuilt and rendered on demand)")

    code = (
        "import time; t0=time.perf_counter(); import policyd; t1=time.perf_counter(); "
        "policyd.load('policies/inbound.policy'); t2=time.perf_counter(); "
        "policyd.load('policies/inbound.policy'); t3=time.perf_counter(); "
        "print((t1-t0)*1000, (t2-t1)*1000, (t3-t2)*1000)"
    )
    runs = []
    for _ in range(7):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        wall = (time.perf_counter() - t0) * 1000
        runs.append((wall, *map(float, out.stdout.split())))
    print(
        f"fresh process          : import policyd {statistics.median(r[1] for r in runs):.0f} ms; "
        f"first load (parser, checks and compiler imported on the way) {statistics.median(r[2] for r in runs):.0f} ms; "
        f"a second load (parse, check, compile) {statistics.median(r[3] for r in runs):.0f} ms; "
        f"whole process start to exit {statistics.median(r[0] for r in runs):.0f} ms"
    )


if __name__ == "__main__":
    main()
