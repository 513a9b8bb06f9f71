"""Lottery speed: draws and whole-record verification against a plain HMAC loop, in one run.

Every lottery number is one HMAC-SHA256 (`evaluate.draw`), so the floor is a plain
loop of `hmac.new(seed, b"purpose:lead", sha256)` turned into a fraction, doing
exactly as many HMACs as the case it is compared with:

- draw: one `evaluate.draw(seed, lead, "entry")` per lead id;
- lottery step: `lottery.recompute` per lead (entry; for the ~30% entered, the
  winner and the 40 rungs of a 20-rep ladder), what a verifier does per draw;
- record: `lottery.verify_record` of the meeting record of the bundled week
  (policies/leads/week-2026-W48.csv through policies/inbound.policy): the id
  (SHA-256 of the canonical JSON), the commitment, every draw and ladder; the
  floor does the same HMACs and one SHA-256 of the same bytes.

    python benchmarks/bench_lottery.py [--leads 100000] [--records 300] [--rounds 5]

Reports medians over the rounds and the ratio policyd time / floor time.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policyd.checks.load import load_path  # noqa: E402
from policyd.engine.draw import draw  # noqa: E402
from policyd.engine.state import State  # noqa: E402
from policyd.lottery import record as lottery  # noqa: E402
from policyd.lottery.distribute import read_leads, run_meeting  # noqa: E402
from policyd.lottery.seeds import commit_hash  # noqa: E402

SEED = "5f2b0c1e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
POOL = [f"rep{i:02d}" for i in range(20)]
RATIO = 0.3
SCALE = 9007199254740992.0


def floor_draws(key: bytes, messages: list[bytes]) -> float:
    """The plain loop: HMAC-SHA256, top 53 bits as a fraction; returns a sum so nothing is optimised away."""
    total = 0.0
    new = hmac.new
    sha = hashlib.sha256
    for msg in messages:
        total += (int.from_bytes(new(key, msg, sha).digest()[:8], "big") >> 11) / SCALE
    return total


def step_messages(leads: list[str]) -> list[bytes]:
    """The HMAC inputs `recompute` needs for these leads (entry, then winner and rungs when entered)."""
    out = []
    rungs = lottery.rung_count(len(POOL))
    for lead in leads:
        out.append(f"entry:{lead}".encode())
        if draw(SEED, lead, "entry") < RATIO:
            out.append(f"winner:{lead}".encode())
            out.extend(f"rung:{k}:{lead}".encode() for k in range(rungs))
    return out


def record_messages(record: dict) -> list[bytes]:
    out = []
    for lead in record["leads"]:
        for d in lead["draws"]:
            lid = d["lead_id"]
            out.append(f"entry:{lid}".encode())
            if d["entered"]:
                out.append(f"winner:{lid}".encode())
                out.extend(f"rung:{k}:{lid}".encode() for k in range(lottery.rung_count(len(d["pool"]))))
    return out


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def the_record() -> dict:
    c = load_path(ROOT / "policies/inbound.policy").compiled
    rows = read_leads(str(ROOT / "policies/leads/week-2026-W48.csv"), c).rows
    record, _ = run_meeting(c, rows, State(), SEED, "2026-W48", commit_hash(SEED))
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=300, help="record verifications per round")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()

    key = SEED.encode()
    leads = [f"L-{i}" for i in range(a.leads)]
    entry_msgs = [f"entry:{x}".encode() for x in leads]
    steps = step_messages(leads)
    record = the_record()
    rmsgs = record_messages(record)
    canon = lottery.canonical(record)
    rid = lottery.record_id(record)

    # the same numbers, or the comparison means nothing
    assert floor_draws(key, entry_msgs[:1000]) == sum(draw(SEED, x, "entry") for x in leads[:1000])
    assert lottery.verify_record(record, SEED, rid).ok

    def policyd_draws():
        for x in leads:
            draw(SEED, x, "entry")

    def policyd_steps():
        for x in leads:
            lottery.recompute(SEED, x, RATIO, POOL, None)

    def policyd_records():
        for _ in range(a.records):
            lottery.verify_record(record, SEED, rid)

    def floor_records():
        for _ in range(a.records):
            hashlib.sha256(canon).hexdigest()
            hashlib.sha256(key).hexdigest()
            floor_draws(key, rmsgs)

    cases = [
        ("draw (entry)", a.leads, "draws", policyd_draws, lambda: floor_draws(key, entry_msgs)),
        ("lottery step, recomputed", a.leads, "steps", policyd_steps, lambda: floor_draws(key, steps)),
        ("whole record verified", a.records, "records", policyd_records, floor_records),
    ]
    n_draws = sum(len(x["draws"]) for x in record["leads"])
    print(f"{a.leads:,} lead ids, pool of {len(POOL)}, ratio {RATIO}; {len(steps):,} HMACs for the steps")
    print(f"record: {record['totals']['leads']} leads, {n_draws} draws, {len(rmsgs)} HMACs, {len(canon):,} bytes of canonical JSON")
    print(f"medians of {a.rounds} rounds; ratio = policyd time / plain HMAC loop time\n")
    print(f"{'case':<26} {'policyd /s':>14} {'plain hmac /s':>14} {'ratio':>7}")
    for name, n, unit, ours, floor in cases:
        t_ours = statistics.median(timed(ours) for _ in range(a.rounds))
        t_floor = statistics.median(timed(floor) for _ in range(a.rounds))
        print(f"{name:<26} {n / t_ours:>14,.0f} {n / t_floor:>14,.0f} {t_ours / t_floor:>6.2f}x   ({unit})")


if __name__ == "__main__":
    main()
