"""Lottery seeds, committed before the draws and revealed after them.

A period (an ISO week such as 2026-W48) gets one secret seed. Its SHA-256
commitment is published first, so nobody -- the ops manager included -- can pick a
seed after seeing the leads; the seed is published after the period, and anyone
can then recompute every draw. A seed that no longer hashes to its commitment is
refused everywhere: the db was altered and no draw made with it can be trusted.

A seed is committed only for a period that has not begun: a seed made while its
leads are already arriving could be chosen to suit them. Until the reveal the seed
is not in the database at all: it is derived from the seed key (seedkey.py), a
file of its own, so reading the database or a decision row gives nothing to grind
winning lead ids with.

The table lives in the store's SQLite file, made by its migration chain (storage/db.py).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..storage import db as dbfile
from ..storage.errors import StoreError
from ..storage.store import default_db_path
from . import seedkey

TABLE = "lottery_seeds"
_PERIOD = re.compile(r"^(\d{4})-W(\d{2})$")
_REVEALED = "the seed for {period} is already revealed, so its draws could be steered; commit a seed for a new period"


class SeedError(ValueError):
    """A period, seed or commitment that cannot be used; the message says why."""


@dataclass(frozen=True)
class SeedRecord:
    period: str
    commitment: str
    committed_at: float
    revealed_at: float | None
    seed: str | None  # secret until revealed_at is set: never print it before (None: derived from the seed key)

    @property
    def revealed(self) -> bool:
        return self.revealed_at is not None

    def public(self) -> dict:
        """What may be shown to anyone now: the seed only once revealed."""
        return {
            "period": self.period,
            "commitment": self.commitment,
            "committed_at": self.committed_at,
            "revealed_at": self.revealed_at,
            "seed": self.seed if self.revealed else None,
        }


def commit_hash(seed: str) -> str:
    """The commitment: SHA-256 of the seed's UTF-8 bytes (`printf %s SEED | sha256sum`)."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def check_period(period: str) -> str:
    """The period if it is an ISO week that exists (2026-W48), else SeedError."""
    m = _PERIOD.match(period or "")
    if not m:
        raise SeedError(f"period {period!r}: expected an ISO week like 2026-W48 (year, -W, two-digit week)")
    year, week = int(m.group(1)), int(m.group(2))
    weeks = date(year, 12, 28).isocalendar().week
    if not 1 <= week <= weeks:
        raise SeedError(f"period {period!r}: week {week} does not exist; {year} has weeks 01 to {weeks}")
    return period


def period_start(period: str) -> float:
    """When the ISO week `period` begins: Monday 00:00 UTC, as epoch seconds."""
    check_period(period)
    year, week = int(period[:4]), int(period[6:])
    return datetime.fromisocalendar(year, week, 1).replace(tzinfo=UTC).timestamp()


def period_end(period: str) -> float:
    """When `period` ends (the next Monday 00:00 UTC, excluded)."""
    return period_start(period) + 7 * 86400


def period_of(ts: float) -> str:
    """The ISO week (UTC) a timestamp falls in: the period whose seed the daemon draws with."""
    y, w, _ = datetime.fromtimestamp(ts, tz=UTC).isocalendar()
    return f"{y}-W{w:02d}"


def open_db(db_path: str | None):
    """The store's database (sqlite-utils, migrated); SeedError when it cannot be used. The caller closes it."""
    path = db_path or default_db_path()
    try:
        return dbfile.database(path)
    except StoreError as err:
        raise SeedError(str(err)) from None


@contextmanager
def _db(db_path: str | None) -> Iterator[Any]:
    db = open_db(db_path)
    try:
        yield db
    finally:
        db.close()


def _row(db, period: str) -> SeedRecord | None:
    rows = list(db.query(f"select * from {TABLE} where period = ?", [period]))
    if not rows:
        return None
    r = rows[0]
    return SeedRecord(r["period"], r["commitment"], r["committed_at"], r["revealed_at"], r["seed"])


def _db_path(db_path: str | None) -> str:
    return db_path or default_db_path()


def _secret(db_path: str | None, rec: SeedRecord) -> str:
    """The record's seed: from the row once revealed (or from a file made before the seed key), else from the key."""
    if rec.seed is not None:
        return rec.seed
    try:
        return seedkey.period_seed(seedkey.load(_db_path(db_path)), rec.period)
    except seedkey.SeedKeyError as err:
        raise SeedError(f"{rec.period}: {err}") from None


def _checked(db_path: str | None, rec: SeedRecord) -> SeedRecord:
    """The record with its seed at hand, refused when the seed does not hash to the commitment."""
    seed = _secret(db_path, rec)
    if commit_hash(seed) != rec.commitment:
        where = "stored" if rec.seed is not None else "derived from the seed key"
        raise SeedError(
            f"the seed {where} for {rec.period} does not match its commitment {rec.commitment[:16]}...; "
            "the database or the key was altered, so this seed is refused"
        )
    return SeedRecord(rec.period, rec.commitment, rec.committed_at, rec.revealed_at, seed)


def commit(db_path: str | None, period: str, now: float | None = None) -> SeedRecord:
    """Commit to the seed of a period that has not begun; refuses a period already committed.

    The returned record carries the seed (for the caller's own draws); the database
    keeps only the commitment until `reveal`.
    """
    check_period(period)
    at = now if now is not None else time.time()
    start = period_start(period)
    if start <= at:
        raise SeedError(
            f"{period} began on {day_text(start)}: a seed is committed before its period begins, so nobody can choose it"
            f" after seeing the period's leads; commit {period_of(at + 7 * 86400)} (or a later week) instead"
        )
    with _db(db_path) as db:
        existing = _row(db, period)
        if existing is not None:
            raise SeedError(f"{period} is already committed (commitment {existing.commitment}); a period has one seed")
        try:
            seed = seedkey.period_seed(seedkey.load_or_create(_db_path(db_path)), period)
        except seedkey.SeedKeyError as err:
            raise SeedError(str(err)) from None
        rec = SeedRecord(period, commit_hash(seed), at, None, seed)
        try:
            with db.atomic():
                db[TABLE].insert({"period": period, "seed": None, "commitment": rec.commitment, "committed_at": at, "revealed_at": None})
            return rec
        except sqlite3.IntegrityError:
            pass  # another commit of the same period won the race
    raise SeedError(f"{period} is already committed (commitment {commitment_for(db_path, period)}); a period has one seed")


def reveal(db_path: str | None, period: str, now: float | None = None) -> SeedRecord:
    """Publish the seed of `period` (idempotent): it is written into the database from then on."""
    rec = _checked(db_path, _require(db_path, period))
    if rec.revealed:
        return rec
    at = now if now is not None else time.time()
    with _db(db_path) as db, db.atomic():
        db[TABLE].update(period, {"revealed_at": at, "seed": rec.seed})
    return SeedRecord(rec.period, rec.commitment, rec.committed_at, at, rec.seed)


def _require(db_path: str | None, period: str) -> SeedRecord:
    check_period(period)
    with _db(db_path) as db:
        rec = _row(db, period)
    if rec is None:
        raise SeedError(f"no seed committed for {period}; run `policyd seed commit --period {period}` first")
    return rec


def get(db_path: str | None, period: str) -> SeedRecord | None:
    """The period's record (seed checked against its commitment), or None."""
    check_period(period)
    with _db(db_path) as db:
        rec = _row(db, period)
    return _checked(db_path, rec) if rec is not None else None


def seed_for_period(db_path: str | None, period: str, *, allow_revealed: bool = False) -> str:
    """The seed to draw with in `period` (secret until revealed: never show it).

    A revealed seed is refused unless `allow_revealed` (replays): anyone who knows
    it could pick lead ids that win, so new draws with it would prove nothing.
    """
    rec = _checked(db_path, _require(db_path, period))
    if rec.revealed and not allow_revealed:
        raise SeedError(_REVEALED.format(period=period))
    return rec.seed


def draw_record(db_path: str | None, period: str) -> SeedRecord:
    """The record new draws in `period` use (seed and commitment): committed, intact, unrevealed."""
    rec = get(db_path, period)
    if rec is None:
        raise SeedError(f"no seed committed for {period}; run `policyd seed commit --period {period}` and publish the commitment first")
    if rec.revealed:
        raise SeedError(_REVEALED.format(period=period))
    return rec


def revealed_seed(db_path: str | None, period: str) -> str:
    """The published seed of `period`, for verification; SeedError while still secret."""
    rec = _checked(db_path, _require(db_path, period))
    if not rec.revealed:
        raise SeedError(f"the seed for {period} is not revealed yet; run `policyd seed reveal --period {period}` after the period")
    return rec.seed


def commitment_for(db_path: str | None, period: str) -> str | None:
    """The published commitment of `period` (for the dashboard), or None when not committed."""
    check_period(period)
    with _db(db_path) as db:
        rec = _row(db, period)
    return rec.commitment if rec is not None else None


def periods(db_path: str | None) -> list[dict]:
    """Every committed period, newest first, as public data (seeds only once revealed)."""
    with _db(db_path) as db:
        rows = list(db.query(f"select * from {TABLE} order by period desc"))
    out = []
    for r in rows:
        rec = SeedRecord(r["period"], r["commitment"], r["committed_at"], r["revealed_at"], r["seed"])
        data = rec.public()
        try:
            _checked(db_path, rec)
            data["intact"], data["problem"] = True, None
        except SeedError as err:
            data["intact"], data["problem"] = False, str(err)
            data["seed"] = None
        data["in_database"] = rec.seed is not None and not rec.revealed  # committed by a release before the seed key
        out.append(data)
    return out


def day_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class DrawSeed:
    """The seed a decision made now draws with, or why there is none (`note`).

    The daemon asks this for every batch of decisions: a decision at time t draws
    with the committed, unrevealed seed of `period_of(t)`. Without one, the lead is
    still decided (never dropped), with its lottery steps skipped and `note` saying why.
    """

    period: str
    status: str  # committed (it draws), missing, revealed, or refused (the seed fails its commitment)
    seed: str | None
    commitment: str | None
    note: str | None

    def public(self) -> dict:
        """What health checks and dashboards may show: never the seed."""
        return {"period": self.period, "seed": self.status, "commitment": self.commitment, "note": self.note}


def draw_seed(db_path: str | None, ts: float) -> DrawSeed:
    """The seed to draw with for a decision at `ts` (see DrawSeed); never raises for a usable db."""
    period = period_of(ts)
    try:
        rec = get(db_path, period)
    except SeedError as err:  # the stored seed fails its commitment
        return DrawSeed(period, "refused", None, None, f"{err}; lottery steps are skipped")
    if rec is None:
        return DrawSeed(
            period,
            "missing",
            None,
            None,
            f"no committed seed for {period}: lottery steps are skipped (run `policyd seed commit --period {period}`)",
        )
    if rec.revealed:
        return DrawSeed(
            period,
            "revealed",
            None,
            rec.commitment,
            f"the seed for {period} is already revealed, so new draws could be steered: lottery steps are skipped",
        )
    return DrawSeed(period, "committed", rec.seed, rec.commitment, None)
