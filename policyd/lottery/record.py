"""The verifiable lottery: each draw recomputed from the seed, and records checked against it.

Every lottery number is `evaluate.draw(seed, lead_id, purpose)`: HMAC-SHA256 keyed
by the period's committed seed, so the draws are fixed the moment the commitment is
published and anyone can recompute them once the seed is revealed.

The Amida ladder (ghost leg) drawn at the meeting is a picture of the winner draw
that can be checked, not a second source of chance: the winner is the evaluator's
`draw_index(draw(seed, lead, "winner"), weights, len(pool))`; the rungs come from
`draw(seed, lead, f"rung:{k}")`; the lead's marker sits where the winner's leg ends.
Tracing the ladder up from the marker therefore always reaches the winner, and a
ladder with one rung moved no longer matches the seed. See docs/lottery.md.

A record is canonical JSON addressed by its SHA-256, so the same meeting (policy,
leads, state, period) always has the same id and the same page. The ladder, the
record's bytes and id, its page and its keeping live in ladder.py, canonical.py,
page.py and archive.py; their public names are imported here too, since callers
address the lottery record through this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..engine.draw import lottery
from .archive import list_records, render_record, republish, store_record, write_record
from .canonical import RECORD_FORMAT, RecordError, RecordNotFound, canonical, record_id
from .ladder import ladder, ladder_rungs, ladder_svg, rung_count, trace
from .page import parse_page, read_subject, render_page
from .seeds import check_period, commit_hash

# ---- draws


def recompute(seed: str, lead_id: str, ratio: float, pool: list[str], weights: list[float] | None) -> dict:
    """Every number of one lottery step, from the seed: the engine's own draw, then the ladder."""
    lot, i = lottery(seed, "", lead_id, ratio, tuple(pool), tuple(weights) if weights is not None else None)
    out: dict[str, Any] = {"entry_draw": lot.entry_draw, "entered": lot.entered, "winner_draw": lot.winner_draw, "winner": lot.winner}
    if lot.entered:
        out["ladder"] = ladder(seed, lead_id, len(pool), i)
    return out


def record_draw(lot, period: str, seed: str) -> dict:
    """A LotteryDraw as it goes into a record: the period names the seed (never the seed)."""
    d = lot.to_json()
    d["seed_id"] = period
    if lot.entered:
        d["ladder"] = ladder(seed, lot.lead_id, len(lot.pool), list(lot.pool).index(lot.winner))
    return d


@dataclass
class Check:
    subject: str  # the lead id or "record"
    what: str
    ok: bool
    detail: str


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    draws: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def mismatches(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, subject: str, what: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(subject, what, ok, detail))


def _num(v: Any) -> str:
    """A recorded or recomputed value in a message: floats in full, so a difference always shows."""
    return "none" if v is None else (repr(v) if isinstance(v, float) else json.dumps(v))


def verify_draw(v: Verification, seed: str, d: dict) -> None:
    """Recompute one recorded draw and add a check per number, naming what differs."""
    lead_id = str(d.get("lead_id", ""))
    try:
        ratio = float(d["ratio"])
        if not isinstance(d["pool"], list):
            raise TypeError("pool is not a list")
        pool = [str(p) for p in d["pool"]]
        weights = d.get("weights")
        weights = [float(w) for w in weights] if weights is not None else None
    except (KeyError, TypeError, ValueError) as err:
        v.add(lead_id, "draw", False, f"the recorded draw is incomplete ({err}); expected ratio, pool and lead_id")
        return
    if weights is not None and len(weights) != len(pool):
        v.add(lead_id, "weights", False, f"{len(weights)} weights recorded for a pool of {len(pool)}")
        return
    v.draws += 1
    got = recompute(seed, lead_id, ratio, pool, weights)
    diffs = []
    for key in ("entry_draw", "entered", "winner_draw", "winner"):
        if d.get(key) != got[key]:
            diffs.append(f"{key} recorded {_num(d.get(key))}, recomputed {_num(got[key])}")
    if "ladder" in d:  # records carry ladders; a decision from `assign` has none
        rec_l, new_l = d.get("ladder"), got.get("ladder")
        if rec_l != new_l:
            if not isinstance(rec_l, dict) or new_l is None:
                diffs.append(
                    "ladder recorded "
                    + ("none" if rec_l is None else "a ladder" if isinstance(rec_l, dict) else f"{_num(rec_l)}, not a ladder")
                    + ", recomputed "
                    + ("none" if new_l is None else "a ladder")
                )
            else:
                rec_r = rec_l.get("rungs")
                if rec_r != new_l["rungs"]:
                    diffs.append(_rung_diff(rec_r, new_l["rungs"]))
                for key in ("start", "end"):
                    if rec_l.get(key) != new_l[key]:
                        diffs.append(f"ladder.{key} recorded {_num(rec_l.get(key))}, recomputed {_num(new_l[key])}")
    if diffs:
        v.add(lead_id, "draw", False, "; ".join(diffs))
    elif got["entered"]:
        v.add(lead_id, "draw", True, f"entry {got['entry_draw']:.4f} < {ratio:.2f}; winner {got['winner']} from a pool of {len(pool)}")
    else:
        v.add(lead_id, "draw", True, f"entry {got['entry_draw']:.4f} >= {ratio:.2f} (not drawn by lottery)")


def _rung_diff(recorded: Any, recomputed: list[int]) -> str:
    if not isinstance(recorded, list) or len(recorded) != len(recomputed):
        n = len(recorded) if isinstance(recorded, list) else 0
        return f"ladder has {n} rungs recorded, {len(recomputed)} recomputed"
    bad = [k for k, (a, b) in enumerate(zip(recorded, recomputed)) if a != b]
    k = bad[0]
    more = f" (and {len(bad) - 1} more rungs differ)" if len(bad) > 1 else ""
    return f"ladder rung {k} recorded between legs {_num(recorded[k])} and {_num(recorded[k] + 1 if isinstance(recorded[k], int) else None)}, recomputed {recomputed[k]} and {recomputed[k] + 1}{more}"


def verify_record(record: dict, seed: str, claimed_id: str | None = None) -> Verification:
    """Check a record's id, its seed against its commitment, and every draw in it."""
    v = Verification()
    if record.get("format") != RECORD_FORMAT:
        v.add("record", "format", False, f"not a lottery record (format {record.get('format')!r}, expected {RECORD_FORMAT!r})")
        return v
    _check_shape(record)
    rid = record_id(record)
    if claimed_id is not None:
        v.add(
            "record",
            "id",
            rid == claimed_id,
            "content matches its id" if rid == claimed_id else f"content hashes to {rid}, not {claimed_id}",
        )
    commitment = record.get("commitment")
    ok = commit_hash(seed) == commitment
    v.add(
        "record",
        "seed",
        ok,
        f"sha256(seed) = commitment {str(commitment)[:16]}..."
        if ok
        else f"sha256(seed) is {commit_hash(seed)[:16]}..., the record's commitment is {str(commitment)[:16]}...",
    )
    if record.get("practice"):
        v.add(
            "record",
            "practice",
            True,
            "a rehearsal: its seed was made for the run and never committed before a period, so the draws can be"
            " recomputed but nothing shows that nobody chose them",
        )
    for lead in record.get("leads", []):
        for d in lead.get("draws", []):
            verify_draw(v, seed, d)
        outcome = lead.get("outcome", {})
        won = [d for d in lead.get("draws", []) if d.get("entered")]
        if outcome.get("by") == "lottery":
            ok = bool(won) and won[-1].get("winner") == outcome.get("rep")
            v.add(
                str(lead.get("lead_id")),
                "outcome",
                ok,
                f"assigned to {outcome.get('rep')}" + ("" if ok else ", which is not the recorded lottery winner"),
            )
    return v


def _check_shape(record: dict) -> None:
    """Refuse a record whose structure is not what `distribute` writes, naming the place."""
    leads = record.get("leads")
    if not isinstance(leads, list):
        raise RecordError("record: `leads` must be a list")
    for i, lead in enumerate(leads):
        if not isinstance(lead, dict):
            raise RecordError(f"record: leads[{i}] must be an object")
        if not isinstance(lead.get("outcome"), dict):
            raise RecordError(f"record: leads[{i}].outcome must be an object")
        draws = lead.get("draws")
        if not isinstance(draws, list) or not all(isinstance(d, dict) for d in draws):
            raise RecordError(f"record: leads[{i}].draws must be a list of objects")
    try:
        canonical(record)
    except ValueError:
        raise RecordError("record: cannot be hashed: it holds NaN or infinity, which JSON does not allow") from None


def verify_decision(data: dict, seed: str | None) -> Verification:
    """Check the lottery draws of one decision: a `policyd assign --format json` explanation, the daemon's
    `GET /v1/decisions/<id>` answer, or a LotteryDraw."""
    draws = _decision_draws(data)
    v = Verification()
    if not draws:
        raise RecordError("this decision has no lottery draw to verify (its route had no lottery step, or the lottery was off)")
    for d in draws:
        s = seed if seed is not None else d.get("seed_id")
        if seed is not None and d.get("seed_id") is not None and d.get("seed_id") != seed and not is_period(d.get("seed_id")):
            v.add(str(d.get("lead_id")), "seed", False, "the decision was drawn with a different seed than the revealed one")
        if not isinstance(s, str):
            raise RecordError("the decision names no seed; give --seed or --period")
        verify_draw(v, s, d)
    return v


def decision_seed_id(data: dict) -> str | None:
    """The seed id the decision's first lottery draw names (a seed, or a period in records)."""
    draws = _decision_draws(data)
    sid = draws[0].get("seed_id") if draws else None
    return sid if isinstance(sid, str) else None


def is_period(s: Any) -> bool:
    try:
        check_period(s)
        return True
    except (ValueError, TypeError):
        return False


def _decision_draws(data: dict) -> list[dict]:
    if "entry_draw" in data:
        return [data]
    if isinstance(data.get("explanation"), dict):  # the daemon's GET /v1/decisions/<id> answer
        data = data["explanation"]
    found: list[dict] = []
    stages = data.get("stages")
    for st in stages if isinstance(stages, list) else []:
        steps = st.get("steps") if isinstance(st, dict) else None
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict) and step.get("kind") == "lottery" and isinstance(step.get("draw"), dict):
                found.append(step["draw"])
    lot = data.get("lottery")
    if isinstance(lot, dict) and lot not in found:
        found.append(lot)
    return found


__all__ = [
    "RECORD_FORMAT",
    "Check",
    "RecordError",
    "RecordNotFound",
    "Verification",
    "canonical",
    "decision_seed_id",
    "is_period",
    "ladder",
    "ladder_rungs",
    "ladder_svg",
    "list_records",
    "parse_page",
    "read_subject",
    "recompute",
    "record_draw",
    "record_id",
    "render_page",
    "render_record",
    "republish",
    "rung_count",
    "store_record",
    "trace",
    "verify_decision",
    "verify_draw",
    "verify_record",
    "write_record",
]
