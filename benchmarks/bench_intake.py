"""Mapped intake speed: a HubSpot contact through policies/intake/hubspot.map.toml, against a hand-written mapping.

The intake maps every payload with replay's mapping code (`Source.map`, i.e.
`History.map_payload`), which is general: it reads the file's field specs, paths,
value maps, thresholds and defaults, converts by the schema's types and counts
notes. The floor is the same job written by hand for this one file: fixed dictionary
reads, two dicts for the value maps, one threshold test, `int()`. Both run on the
same seeded payloads and must give the same leads; then each is timed, and the HubSpot
v3 signature check (one HMAC-SHA256 over the body) is timed beside them for scale.

    python benchmarks/bench_intake.py [--payloads 20000] [--rounds 5]

Reports medians over the rounds and the ratio policyd time / floor time.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policyd.checks.load import load_path  # noqa: E402
from policyd.daemon.intake import load_source  # noqa: E402
from policyd.web import signatures  # noqa: E402

INDUSTRY = {
    "COMPUTER_SOFTWARE": "it",
    "INFORMATION_TECHNOLOGY_AND_SERVICES": "it",
    "FINANCIAL_SERVICES": "finance",
    "BANKING": "finance",
    "INSURANCE": "finance",
    "MACHINERY": "manufacturing",
    "INDUSTRIAL_AUTOMATION": "manufacturing",
    "RETAIL": "retail",
    "HOSPITAL_HEALTH_CARE": "health",
    "MEDICAL_DEVICES": "health",
}
ROLE = {
    "DECISION_MAKER": "decision_maker",
    "BUDGET_HOLDER": "decision_maker",
    "EXECUTIVE_SPONSOR": "decision_maker",
    "INFLUENCER": "influencer",
    "CHAMPION": "influencer",
}


def payloads(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        props = {
            "hs_object_id": str(1000 + i),
            "company": f"Company {i}",
            "numberofemployees": str(rnd.choice([5, 40, 250, 1500, 9000])),
            "budget_status": rnd.choice(["Stated", "Considering", "Unknown", ""]),
            "hs_buying_role": rnd.choice(list(ROLE) + ["END_USER", ""]),
            "timing_months": rnd.choice(["", "1", "4", "12"]),
            "industry": rnd.choice(list(INDUSTRY) + ["EDUCATION"]),
            "country": rnd.choice(["US", "DE", "JP", ""]),
            "email": f"x{i}@example.com",
            "createdate": "2026-11-30T09:12:44.120Z",
        }
        out.append({"id": props["hs_object_id"], "properties": props, "archived": False})
    return out


def floor(p: dict) -> dict:
    """The hubspot mapping file, written by hand."""
    pr = p["properties"]
    emp = pr.get("numberofemployees") or ""
    lead = {"id": pr["hs_object_id"], "company": pr["company"]}
    lead["employees"] = int(emp) if emp else 0
    lead["segment"] = ("enterprise" if float(emp) >= 1000 else "smb") if emp else "smb"
    lead["budget"] = (pr.get("budget_status") or "").lower() or "unknown"
    lead["authority"] = ROLE.get(pr.get("hs_buying_role") or "", "info_gathering")
    t = pr.get("timing_months") or ""
    if t:
        lead["timing_months"] = int(t)
    ind = pr.get("industry") or ""
    lead["industry"] = INDUSTRY.get(ind, ind) if ind else "other"
    lead["country"] = pr.get("country") or "unknown"
    return lead


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payloads", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    policy = load_path(str(ROOT / "policies" / "inbound.policy"))
    schema = policy.compiled.schema
    src = load_source("hubspot", str(ROOT / "policies" / "intake" / "hubspot.map.toml"), {"HUBSPOT_CLIENT_SECRET": "s"})
    items = payloads(args.payloads)
    for p in items:  # the same leads (a word no value map names, EDUCATION, passes through both: the schema refuses it later)
        mine, theirs = src.map(p, schema)[0], floor(p)
        assert mine == theirs, (p, mine, theirs)
    bodies = [json.dumps(p).encode() for p in items]
    t_map, t_floor, t_sig = [], [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for p in items:
            src.map(p, schema)
        t_map.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for p in items:
            floor(p)
        t_floor.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for b in bodies:
            signatures.hubspot_v3("secret", "POST", "https://leads.example.com/v1/intake/hubspot", b, "1795000000000")
        t_sig.append(time.perf_counter() - t0)
    n = len(items)
    m, f, s = (statistics.median(x) / n * 1e6 for x in (t_map, t_floor, t_sig))
    print(f"{n} HubSpot payloads, {args.rounds} rounds, medians per payload:")
    print(f"  hand-written mapping (floor):     {f:7.2f} us")
    print(f"  policyd mapping (Source.map):     {m:7.2f} us  ({m / f:.1f}x the floor)")
    print(f"  HubSpot v3 signature (one HMAC):  {s:7.2f} us")


if __name__ == "__main__":
    main()
