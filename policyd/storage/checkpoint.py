"""Checkpoints: the audit log's head, signed with a key kept outside the database.

The chain and its head live in the database, so whoever can write the database can
cut the tail and reset the head, re-chain every record after an edit, or append a
forged record with a new head, and the chain still verifies. A checkpoint anchors
the head outside: the number and hash of the last record, when it was made, and an
HMAC-SHA256 of all that with a key from a key file the database never holds.
`verify(conn, checkpoint, key)` then proves the log still extends it:

* record N is still there (else the log was cut: "the log ends at record M");
* its hash is still the one signed (else records up to N were edited, deleted,
  inserted or re-chained: every hash after a change differs);
* no record after N is dated before the checkpoint was made (a forged record
  back-dated into the past the checkpoint covers), allowing SKEW seconds for a
  batch that was being committed as the checkpoint was read.

What a checkpoint cannot see: records appended after it, forged together with rows
that match them. Take checkpoints often (cron), keep them and the key where the
daemon's user cannot write, and verify against the newest one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from typing import Any

from .audit import GENESIS, canonical, tables
from .audit_state import Problem

KIND = "policyd-audit-checkpoint"
SKEW = 60.0
FIELDS = ("kind", "format", "seq", "hash", "record_at", "made_at", "records", "decisions", "database")


class CheckpointError(ValueError):
    """A key or checkpoint file that cannot be used (missing, unreadable, not a checkpoint)."""


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def new_key(path: str | os.PathLike) -> None:
    """Write a new random key (32 bytes, hex) to a file only its owner may read; never overwrites."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(f"{path}: a key file is already there; it is never overwritten") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot create the key file ({err.strerror})") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")


def load_key(path: str | os.PathLike) -> bytes:
    try:
        raw = open(path, "rb").read().strip()  # noqa: SIM115
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read the checkpoint key ({err.strerror})") from None
    if len(raw) < 16:
        raise CheckpointError(f"{path}: too short to be a checkpoint key (make one with `policyd audit checkpoint --key NEWFILE`)")
    return raw


def _mac(key: bytes, body: dict) -> str:
    return hmac.new(key, canonical({k: body.get(k) for k in FIELDS}).encode("utf-8"), hashlib.sha256).hexdigest()


def make(conn: sqlite3.Connection, key: bytes, database: str = "", now: float | None = None) -> dict[str, Any]:
    """A signed checkpoint of the log's last record (its number, hash and time) as it is now."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        have = tables(conn)
        last = conn.execute("select seq, hash, at from audit order by seq desc limit 1").fetchone() if "audit" in have else None
        count = conn.execute("select count(*) from audit").fetchone()[0] if "audit" in have else 0
        decisions = conn.execute("select count(*) from rt_decisions").fetchone()[0] if "rt_decisions" in have else 0
    finally:
        if own:
            conn.execute("COMMIT")
    seq, h, at = last if last else (0, GENESIS, None)
    body: dict[str, Any] = {
        "kind": KIND,
        "format": 1,
        "seq": seq,
        "hash": h,
        "record_at": at,
        "made_at": time.time() if now is None else now,
        "records": count,
        "decisions": decisions,
        "database": os.path.basename(database),
    }
    body["mac"] = _mac(key, body)
    return body


def read(path: str | os.PathLike) -> dict[str, Any]:
    try:
        data = json.loads(open(path, encoding="utf-8").read())  # noqa: SIM115
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({err.strerror})") from None
    except ValueError as err:
        raise CheckpointError(f"{path}: not a checkpoint (not JSON: {err})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND or not all(k in data for k in (*FIELDS, "mac")):
        raise CheckpointError(f"{path}: not a policyd audit checkpoint (make one with `policyd audit checkpoint`)")
    return data


def verify(conn: sqlite3.Connection, cp: dict[str, Any], key: bytes, name: str = "the checkpoint") -> list[Problem]:
    """Problems, in words, when the log no longer extends the checkpoint `cp` (signed with `key`)."""
    if not hmac.compare_digest(str(cp.get("mac", "")), _mac(key, cp)):
        return [Problem(0, f"{name} was not signed with this key, or it was edited since: it proves nothing about the log")]
    seq, h, made = int(cp["seq"]), str(cp["hash"]), float(cp["made_at"])
    when = f"{name} (made {_utc(made)})"
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        if "audit" not in tables(conn):
            return [Problem(seq, f"{when} anchors record {seq}, but the audit log table is gone")]
        row = conn.execute("select hash from audit where seq = ?", (seq,)).fetchone() if seq else (GENESIS,)
        last = conn.execute("select max(seq) from audit").fetchone()[0] or 0
        later = conn.execute("select seq, at from audit where seq > ? and at < ? order by seq limit 5", (seq, made - SKEW)).fetchall()
    finally:
        if own:
            conn.execute("COMMIT")
    problems = []
    if row is None:
        if last < seq:
            problems.append(Problem(seq, f"the log was cut: {when} anchors record {seq}, but the log now ends at record {last}"))
        else:
            problems.append(Problem(seq, f"record {seq}, which {when} anchors, is missing: the log was cut and refilled, or renumbered"))
    elif row[0] != h:
        problems.append(
            Problem(
                seq,
                f"the log was rewritten before {when}: record {seq}'s hash is now {row[0][:16]}..., the checkpoint signed "
                f"{h[:16]}...: records up to {seq} were edited, deleted, inserted or re-chained",
            )
        )
    for later_seq, at in later:
        problems.append(
            Problem(
                later_seq,
                f"record {later_seq} comes after record {seq}, which {when} anchors, but is dated {_utc(at)}, before that "
                "checkpoint was made: it was appended later and back-dated",
            )
        )
    return problems
