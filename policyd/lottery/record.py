"""The verifiable lottery: ladders, meeting records and their verification.

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
leads, state, period) always has the same id and the same page.
"""

from __future__ import annotations

import hashlib
import html as _html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.draw import draw, draw_index, lottery
from .seeds import check_period, commit_hash

RECORD_FORMAT = "policyd-lottery-record/1"
RECORDS_TABLE = "lottery_records"
_ID = re.compile(r"^[0-9a-f]{64}$")
_SCRIPT = re.compile(r'<script type="application/json" id="(lottery-record|lottery-seed)">(.*?)</script>', re.S)


class RecordError(ValueError):
    """A record or decision file that cannot be read or used; the message says why."""


class RecordNotFound(RecordError, KeyError):
    """No record with that id (the daemon answers 404)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# ---- the ladder


def rung_count(n: int) -> int:
    """Rungs in a ladder of n legs: none for one leg, else 2n (at least 4)."""
    return 0 if n < 2 else max(4, 2 * n)


def ladder_rungs(seed: str, lead_id: str, n: int) -> list[int]:
    """Rung k joins legs g and g+1, g = draw_index(draw(seed, lead_id, "rung:k"), None, n-1)."""
    return [draw_index(draw(seed, lead_id, f"rung:{k}"), None, n - 1) for k in range(rung_count(n))]


def trace(rungs: list[int], start: int) -> int:
    """Follow a leg down the ladder: every rung that touches it moves it across."""
    pos = start
    for g in rungs:
        if g == pos:
            pos += 1
        elif g == pos - 1:
            pos -= 1
    return pos


def ladder(seed: str, lead_id: str, n: int, winner: int) -> dict:
    """The ladder of one lottery draw: rungs, the winner's leg and where it ends."""
    rungs = ladder_rungs(seed, lead_id, n)
    return {"rungs": rungs, "start": winner, "end": trace(rungs, winner)}


def ladder_svg(names: list[str], lad: dict, label: str) -> str:
    """The ladder as inline SVG; the winner's path is highlighted down to the lead's marker.

    Rungs that share no leg commute, so they are packed into rows to keep the
    picture short; the order of rungs on each leg (what tracing reads) is kept.
    """
    n = len(names)
    rungs = lad["rungs"]
    dx, dy, top, left = 64, 16, 34, 40
    row_of_leg = [0] * max(n, 1)
    rows = []
    for g in rungs:
        r = max(row_of_leg[g], row_of_leg[g + 1]) + 1
        row_of_leg[g] = row_of_leg[g + 1] = r
        rows.append(r)
    depth = (max(rows) if rows else 0) + 1
    bottom = top + depth * dy
    width = left * 2 + (n - 1) * dx
    height = bottom + 40

    def x(i: int) -> int:
        return left + i * dx

    def y(r: int) -> int:
        return top + r * dy

    esc = _html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Amida ladder for {esc(label)}">'
    ]
    for i, name in enumerate(names):
        parts.append(f'<text x="{x(i)}" y="{top - 12}" class="name{" win" if i == lad["start"] else ""}">{esc(name)}</text>')
        parts.append(f'<line x1="{x(i)}" y1="{top}" x2="{x(i)}" y2="{bottom}" class="leg"/>')
    for g, r in zip(rungs, rows):
        parts.append(f'<line x1="{x(g)}" y1="{y(r)}" x2="{x(g + 1)}" y2="{y(r)}" class="rung"/>')
    # the winner's path, in rung order
    pos = lad["start"]
    pts = [(x(pos), top)]
    for g, r in zip(rungs, rows):
        if g in (pos, pos - 1):
            pts.append((x(pos), y(r)))
            pos = pos + 1 if g == pos else pos - 1
            pts.append((x(pos), y(r)))
    pts.append((x(pos), bottom))
    parts.append('<polyline class="path" points="' + " ".join(f"{a},{b}" for a, b in pts) + '"/>')
    parts.append(f'<circle cx="{x(lad["end"])}" cy="{bottom + 10}" r="6" class="marker"/>')
    parts.append(f'<text x="{x(lad["end"])}" y="{bottom + 32}" class="lead">{esc(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


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


# ---- records


def canonical(record: dict) -> bytes:
    """The bytes the id is computed from: sorted keys, no spaces, UTF-8, and `<`, `>`, `&` as \\u escapes.

    The escapes (legal only inside JSON strings, and parsed back to the same
    characters) let the page embed these exact bytes in a <script> element, so a
    browser can hash the embedded text and compare it with the id.
    """
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8")


def record_id(record: dict) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def _embed(data: Any) -> str:
    """JSON safe inside <script>: no `<`, `>` or `&` can close the element."""
    text = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _drawable(d: dict) -> bool:
    """A ladder whose numbers fit its pool (a hand-made record may hold anything)."""
    lad, pool = d.get("ladder"), d.get("pool")
    if not isinstance(lad, dict) or not isinstance(pool, list) or not pool:
        return False
    n = len(pool)
    rungs = lad.get("rungs")
    ints = isinstance(rungs, list) and all(isinstance(g, int) and 0 <= g < n - 1 for g in rungs)
    return ints and all(isinstance(lad.get(k), int) and 0 <= lad[k] < n for k in ("start", "end"))


def page_data(record: dict, seed: str | None) -> dict:
    """What the record template shows; the seed only once revealed."""
    rid = record_id(record)
    ladders = []
    for lead in record["leads"]:
        for d in lead.get("draws", []):
            if d.get("entered") and _drawable(d):
                label = f"{lead['lead_id']}"
                ladders.append({"lead_id": lead["lead_id"], "draw": d, "svg": ladder_svg(d["pool"], d["ladder"], label)})
    return {
        "id": rid,
        "record": record,
        "ladders": ladders,
        "seed": seed,
        "record_json": canonical(record).decode("utf-8"),
        "seed_json": _embed({"period": record["period"], "seed": seed, "commitment": record["commitment"]}) if seed else None,
    }


def render_page(record: dict, seed: str | None = None) -> str:
    """The record's HTML page: ladders as inline SVG, the record JSON embedded for verification."""
    from ..render.jinja import render_template

    if seed is not None and commit_hash(seed) != record.get("commitment"):
        raise RecordError(f"the seed does not match the record's commitment {record.get('commitment')}; refusing to publish it")
    return render_template("lottery_record.html.j2", page_data(record, seed))


def read_subject(path: str) -> tuple[str, dict, str | None, str | None]:
    """Read a file to verify: (kind, data, claimed record id, seed embedded in a page).

    kind is "record" or "decision". The claimed id comes from the page or from a
    file name that is a record id (`<id>.json`).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise RecordError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a text file (expected JSON or a record page)") from None
    stem = Path(path).name.split(".")[0]
    claimed = stem if _ID.match(stem) else None
    if text.lstrip().startswith("<"):
        data, page_id, seed = parse_page(text, path)
        return "record", data, page_id or claimed, seed
    data = _json(text, path)
    if not isinstance(data, dict):
        raise RecordError(f"{path}: expected a JSON object (a decision or a lottery record)")
    return ("record" if data.get("format") == RECORD_FORMAT else "decision"), data, claimed, None


def parse_page(text: str, where: str) -> tuple[dict, str | None, str | None]:
    """A record page's embedded (record, id, revealed seed or None): all a verifier needs."""
    blocks = dict(_SCRIPT.findall(text))
    if "lottery-record" not in blocks:
        raise RecordError(f"{where}: no embedded lottery record (expected a page written by `policyd distribute`)")
    data = _json(blocks["lottery-record"], where)
    if not isinstance(data, dict):
        raise RecordError(f"{where}: the embedded record is not a JSON object")
    m = re.search(r'<meta name="policyd-record-id" content="([0-9a-f]{64})">', text)
    seed = None
    if "lottery-seed" in blocks:
        block = _json(blocks["lottery-seed"], where)
        seed = block.get("seed") if isinstance(block, dict) else None
    return data, (m.group(1) if m else None), seed


def _json(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise RecordError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None


def write_record(record: dict, out_dir: str | Path, seed: str | None = None) -> tuple[str, Path]:
    """Write `<id>.json` and `<id>.html` under out_dir; returns (id, page path)."""
    rid = record_id(record)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{rid}.json").write_text(json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page = out / f"{rid}.html"
    page.write_text(render_page(record, seed), encoding="utf-8")
    return rid, page


def _open(db_path: str | None):
    from .seeds import SeedError, open_db

    try:
        return open_db(db_path)
    except SeedError as err:
        raise RecordError(str(err)) from None


def store_record(db_path: str | None, record: dict, now: float | None = None) -> str:
    """Keep the record in the store's db so the daemon can serve it at /lottery/<id>."""
    import time

    db = _open(db_path)
    rid = record_id(record)
    with db.atomic():
        db[RECORDS_TABLE].insert(
            {
                "id": rid,
                "period": record["period"],
                "record": canonical(record).decode("utf-8"),
                "created_at": now if now is not None else time.time(),
            },
            pk="id",
            ignore=True,
        )
    return rid


def list_records(db_path: str | None, period: str | None = None) -> list[dict]:
    """Records kept in the db, newest first: id, period, created_at and totals (for the dashboard's links)."""
    db = _open(db_path)
    if RECORDS_TABLE not in db.table_names():
        return []
    sql = f"select id, period, created_at, record from {RECORDS_TABLE}"
    rows = (
        db.query(sql + " where period = ? order by created_at desc, id", [period])
        if period
        else db.query(sql + " order by created_at desc, id")
    )
    return [
        {"id": r["id"], "period": r["period"], "created_at": r["created_at"], "totals": json.loads(r["record"])["totals"]} for r in rows
    ]


def load_record(record_id_: str, db_or_dir: str | Path) -> dict:
    """A record by id from a records directory or from the db; RecordNotFound otherwise."""
    if not _ID.match(record_id_ or ""):
        raise RecordNotFound(f"not a record id: {record_id_!r} (expected 64 lowercase hex digits)")
    where = Path(db_or_dir)
    if where.is_dir():
        path = where / f"{record_id_}.json"
        if not path.exists():
            raise RecordNotFound(f"no record {record_id_} in {where}")
        record = _json(path.read_text(encoding="utf-8"), str(path))
    else:
        db = _open(str(where))
        if RECORDS_TABLE not in db.table_names():
            raise RecordNotFound(f"no record {record_id_} in {where}")
        rows = list(db.query(f"select record from {RECORDS_TABLE} where id = ?", [record_id_]))
        if not rows:
            raise RecordNotFound(f"no record {record_id_} in {where}")
        record = json.loads(rows[0]["record"])
    if record_id(record) != record_id_:
        raise RecordError(f"record {record_id_} was altered: its content no longer hashes to its id")
    return record


def render_record(record_id_: str, db_or_dir: str | Path, seed_db: str | None = None) -> str:
    """The record page for the daemon's /lottery/<id>: the seed is shown once its period is revealed.

    `db_or_dir` is the store's db file (records and seeds) or a records directory;
    with a directory, seeds are read from `seed_db` when given.
    """
    from . import seeds

    record = load_record(record_id_, db_or_dir)
    seeds_db = seed_db if Path(db_or_dir).is_dir() else str(db_or_dir)
    seed = None
    if seeds_db is not None:
        rec = seeds.get(seeds_db, record["period"])
        if rec is not None and rec.revealed:
            seed = rec.seed
    return render_page(record, seed)


def republish(out_dir: str | Path, period: str, seed: str) -> list[Path]:
    """Rewrite the pages of `period` in out_dir with the revealed seed embedded."""
    written = []
    for path in sorted(Path(out_dir).glob("*.json")):
        if not _ID.match(path.stem):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT or record.get("period") != period:
            continue
        if record_id(record) != path.stem:
            continue
        page = path.with_suffix(".html")
        page.write_text(render_page(record, seed), encoding="utf-8")
        written.append(page)
    return written
