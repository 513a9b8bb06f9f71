"""The reference scenario's month of leads, seeded, and its replay figures.

    .venv/bin/python benchmarks/scenario_leads.py --out out/scenario-2026-12.jsonl   # write the month
    .venv/bin/python benchmarks/scenario_leads.py                                    # replay it, print figures

1,000 leads in December 2026, exactly 10/40/50 high/medium/low (shuffled with the
seed), arriving uniformly within working hours (mon-fri 09:00-17:00 Europe/Berlin,
the team's holidays left out), segments 20/30/50 enterprise/mid-market/smb. Each lead
closes 2-12 days after it arrives, won with probability 40/20/10% (high/medium/low).
The replay runs policies/scenario/team20.policy through policyd's Replay (the same
decide and state transitions as the daemon): a won lead's value counts toward its
holder's monthly quota when it closes. With the CLI:

    policyd replay policies/scenario/team20.policy --leads out/scenario-2026-12.jsonl \
        --map policies/scenario/team20.map.toml
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "scenario" / "team20.policy"
BERLIN = ZoneInfo("Europe/Berlin")
HOLIDAYS = {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31)}


def month(seed: str = "team20", n: int = 1000) -> list[dict]:
    """The month's leads in arrival order (JSON-ready dicts with an ISO `arrival`)."""
    rng = random.Random(seed)
    days = [date(2026, 12, d) for d in range(1, 32)]
    days = [d for d in days if d.weekday() < 5 and d not in HOLIDAYS]
    quality = ["high"] * (n // 10) + ["medium"] * (n * 4 // 10)
    quality += ["low"] * (n - len(quality))
    rng.shuffle(quality)
    times = []
    for _ in range(n):
        d = rng.choice(days)
        start = datetime(d.year, d.month, d.day, 9, 0, tzinfo=BERLIN)
        times.append(start + timedelta(seconds=rng.randrange(8 * 3600)))
    times.sort()
    out = []
    for i, (t, q) in enumerate(zip(times, quality), 1):
        segment = rng.choices(["enterprise", "mid_market", "smb"], weights=[2, 3, 5])[0]
        value = round(rng.uniform(500, 20000) * {"high": 3, "medium": 1.5, "low": 1}[q])
        outcome = "won" if rng.random() < {"high": 0.4, "medium": 0.2, "low": 0.1}[q] else "lost"
        closed = t + timedelta(days=rng.uniform(2, 12))
        lead = {"id": f"D-{i:04d}", "company": f"Company {i}", "quality": q, "segment": segment, "value": value}
        out.append(lead | {"arrival": t.isoformat(), "outcome": outcome, "closed": closed.isoformat()})
    return out


def replay_month(leads: list[dict], hold_days: float = 10.0, seed: str = "team20") -> dict:
    """Replay the month through the scenario policy; the README's figures as a dict."""
    sys.path.insert(0, str(ROOT))
    import policyd
    from policyd.replay.records import HistoryRow
    from policyd.replay.replay import Replay

    policy = policyd.load(POLICY)
    c = policy.compiled
    history = ("arrival", "outcome", "closed")
    rows = [
        HistoryRow(
            i,
            f"line {i}",
            {k: v for k, v in d.items() if k not in history},
            d["id"],
            datetime.fromisoformat(d["arrival"]).timestamp(),
            outcome=d["outcome"],
            value=d["value"],
            closed_at=datetime.fromisoformat(d["closed"]).timestamp(),
        )
        for i, d in enumerate(leads, 1)
    ]
    seen: list = []
    replay = Replay([("team20", c)], seed=seed, hold_days=hold_days, listener=lambda item, ds: seen.append((item, ds[0])))
    replay.run(rows)
    level = dict(zip(c.rep_names, c.levels))
    per_rep: Counter = Counter()
    per_day: Counter = Counter()
    by_level: dict[str, Counter] = defaultdict(Counter)
    high_total = high_lottery = high_new = high_new_lottery = 0
    for item, d in seen:
        if d.rep is None:
            by_level["(queued)"][d.tier] += 1
            continue
        per_rep[d.rep] += 1
        local = datetime.fromtimestamp(item.arrival, BERLIN).date()
        per_day[d.rep, local] += 1
        by_level[level[d.rep]][d.tier] += 1
        if d.tier == "high":
            high_total += 1
            lot = d.by == "lottery"
            high_lottery += lot
            if level[d.rep] == "new":
                high_new += 1
                high_new_lottery += lot
    caps = {name: dict(caps) for name, caps in zip(c.rep_names, c.caps)}
    over = [r for r, n in per_rep.items() if n > caps[r].get("month", n)]
    over += [r for (r, _), n in per_day.items() if n > caps[r].get("day", n)]
    high_leads = sum(1 for d in leads if d["quality"] == "high")
    shares = dict(replay.lanes[0].state.counts.get("share:route:high:month:2026-12", {}))  # what `pick shares` counted
    final = replay.lanes[0].state
    last = seen[-1][0].arrival if seen else 0.0
    expected: Counter = Counter()  # what the history's outcomes should have credited by the last arrival
    for item, d in seen:
        if d.rep is not None and item.outcome == "won" and item.closed_at <= last:
            expected[d.rep] += round(item.value)
    targets = {name: q.target for name, q in zip(c.rep_names, c.quotas) if q is not None}
    won = {r: n for k, v in final.counts.items() if k.startswith("won:") for r, n in sorted(v.items())}
    attained = defaultdict(list)
    for name in c.rep_names:
        attained[level[name]].append(won.get(name, 0) / targets[name])
    return {
        "won_expected": dict(sorted(expected.items())),
        "attainment": {lv: round(sum(v) / len(v), 2) for lv, v in sorted(attained.items())},
        "won": won,
        "high_shares": {lv: shares.get(lv, 0) for lv in ("veteran", "mid", "new")},
        "leads": len(leads),
        "high_leads": high_leads,
        "high_lottery": high_lottery,
        "lottery_share": high_lottery / high_leads if high_leads else 0.0,
        "high_new": high_new,
        "high_new_lottery": high_new_lottery,
        "by_level": {k: dict(v) for k, v in sorted(by_level.items())},
        "per_rep": dict(sorted(per_rep.items())),
        "max_month": {lv: max(n for r, n in per_rep.items() if level[r] == lv) for lv in sorted(set(level.values()))},
        "max_day_new": max((n for (r, _), n in per_day.items() if level[r] == "new"), default=0),
        "over_cap": sorted(set(over)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", default="team20")
    ap.add_argument("--out", help="write the month as JSON Lines here instead of replaying it")
    ap.add_argument("--hold", type=float, default=10.0, help="days a lead stays open")
    a = ap.parse_args()
    leads = month(a.seed)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text("".join(json.dumps(d) + "\n" for d in leads), encoding="utf-8")
        print(f"wrote {len(leads)} leads to {a.out}")
        return
    print(json.dumps(replay_month(leads, a.hold, a.seed), indent=2))


if __name__ == "__main__":
    main()
