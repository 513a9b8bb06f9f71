"""Where records are kept: `<id>.json` and `<id>.html` files, and the store's db.

Its own module because keeping and finding records is storage, apart from what
a record says (record.py) and how its page looks (page.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from .canonical import _ID, RECORD_FORMAT, RecordError, RecordNotFound, _json, canonical, record_id
from .page import render_page

RECORDS_TABLE = "lottery_records"


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


def drawn_elsewhere(db_path: str | None, period: str, lead_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Lead ids of this meeting already in a record of another period: {lead_id: (period, record id)}.

    A lead is drawn in one period only: the same leads under several periods' seeds
    would give several winner sets to choose from.
    """
    db = _open(db_path)
    if RECORDS_TABLE not in db.table_names():
        return {}
    wanted, found = set(lead_ids), {}
    for r in db.query(f"select id, period, record from {RECORDS_TABLE} where period != ? order by created_at, id", [period]):
        for lead in json.loads(r["record"]).get("leads", []):
            lid = lead.get("lead_id")
            if lid in wanted and lid not in found:
                found[lid] = (r["period"], r["id"])
    return found


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
