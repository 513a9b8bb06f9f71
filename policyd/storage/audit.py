"""An append-only audit log, each record hash-chained to the one before.

record.hash = sha256(previous record's hash + canonical JSON of the record), the
first record chaining to 64 zeros. Editing a record changes its hash; deleting or
moving one breaks the link of the record after it; `verify` walks the chain and
names the first record where it breaks. The newest hash is also kept in
`audit_head`, so deleting the last records is caught too (unless the head is
edited as well: export the log, or note the head hash elsewhere, to anchor it).

Records are appended inside the caller's transaction, so a decision and its audit
record commit together or not at all. The tables are made by the migration chain
(storage/db.py): pass a `db.connect` connection.

`verify` also checks what the chain cannot: that the audit tables are there at all
(a log emptied or dropped while decisions exist is reported, not "0 records, chain
intact"), and that the decisions and away tables hold what the records imply
(audit_state.py). A checkpoint (checkpoint.py), signed with a key kept outside the
database, anchors the head elsewhere: `verify` with it proves the chain still
extends it, so a cut tail, a re-chained log or a back-dated append are caught even
when the head row was rewritten to match.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from .audit_state import Problem, cross_check, read_tables
from .db import is_postgres, table_names

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev: str, at: float, kind: str, actor: str, data: Any) -> str:
    body = canonical({"at": at, "kind": kind, "actor": actor, "data": data})
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


class Appender:
    """A transaction's records, chained at `finish` under the head's row lock.

    The chain has one head for the whole database, so whoever appends must hold it
    until COMMIT. Records are kept until `finish` and the head is taken last, for the
    few statements before COMMIT: transactions of different teams, in different
    daemons, do their work side by side and queue only for the append.
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.pending: list[tuple[float, str, str, dict]] = []
        self.written: tuple[int, int] | None = None  # (first, last) seq that `finish` wrote

    def append(self, at: float, kind: str, actor: str, data: dict) -> None:
        self.pending.append((at, kind, actor, data))

    def mark(self) -> int:
        """Where the records stand, for `restore` when the work after it is rolled back."""
        return len(self.pending)

    def restore(self, mark: int) -> None:
        del self.pending[mark:]

    def count(self, kind: str, actor: str, since: float) -> int:
        """Records of `kind` by `actor` at or after `since` not yet written (what a count of the log must add)."""
        return sum(1 for at, k, a, _ in self.pending if k == kind and a == actor and at >= since)

    def finish(self) -> tuple[int, int] | None:
        """Chain and write the records, and move the head; call once, last, before COMMIT. (first, last) seq, or None."""
        if not self.pending:
            return None
        conn = self.conn
        seq, prev = head_locked(conn)
        first = seq + 1
        for at, kind, actor, data in self.pending:
            h = chain_hash(prev, at, kind, actor, data)
            seq += 1
            conn.execute(
                "insert into audit (seq, at, kind, actor, data, prev, hash) values (?, ?, ?, ?, ?, ?, ?)",
                (seq, at, kind, actor, canonical(data), prev, h),
            )
            prev = h
        conn.execute("update audit_head set seq = ?, hash = ? where id = 1", (seq, prev))
        self.pending = []
        self.written = (first, seq)
        return self.written


def head_locked(conn: sqlite3.Connection) -> tuple[int, str]:
    """The chain's last (seq, hash), its head row locked until COMMIT (PostgreSQL: `FOR UPDATE`; SQLite's
    write transaction already holds the file). The chain is read from the log itself, as `verify` reads it."""
    lock = " for update" if is_postgres(conn) else ""
    if conn.execute("select 1 from audit_head where id = 1" + lock).fetchone() is None:
        conn.execute(f"insert into audit_head (id, seq, hash) values (1, 0, '{GENESIS}') on conflict (id) do nothing")
        conn.execute("select 1 from audit_head where id = 1" + lock).fetchone()
    row = conn.execute("select seq, hash from audit order by seq desc limit 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def append_one(conn: sqlite3.Connection, at: float, kind: str, actor: str, data: dict) -> None:
    """One record in its own transaction (CLI use, e.g. a token created)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        a = Appender(conn)
        a.append(at, kind, actor, data)
        a.finish()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def records(conn: sqlite3.Connection) -> Iterator[dict]:
    for seq, at, kind, actor, data, prev, h in conn.execute("select seq, at, kind, actor, data, prev, hash from audit order by seq"):
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError:
            parsed = data  # an edited record; verify reports it
        yield {"seq": seq, "at": at, "kind": kind, "actor": actor, "data": parsed, "prev": prev, "hash": h}


def tables(conn: sqlite3.Connection) -> set[str]:
    return table_names(conn)


def verify(conn: sqlite3.Connection) -> tuple[int, list[Problem]]:
    """Walk the chain, then check the tables against it; (records seen, problems), each in words.

    Records, head and tables are read in one read transaction, so a daemon appending
    meanwhile cannot make the head look ahead of the records, nor a row ahead of its record.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        have = tables(conn)
        rows = list(records(conn)) if "audit" in have else []
        head = conn.execute("select seq, hash from audit_head where id = 1").fetchone() if "audit_head" in have else None
        decisions, away = read_tables(conn, have)
    finally:
        if own:
            conn.execute("COMMIT")
    problems = _missing(have, rows, head, decisions)
    problems += chain_problems(rows, head)
    problems += cross_check(rows, decisions, away)
    return len(rows), problems


def _missing(have: set[str], rows: list[dict], head: tuple | None, decisions: list[dict] | None) -> list[Problem]:
    """A log that is gone or emptied, said as such (a chain of nothing is intact, and proves nothing)."""
    n = len(decisions or [])
    held = f", but the decisions table holds {n} decision{'s' if n != 1 else ''}" if n else ""
    out = []
    if "audit" not in have:
        out.append(Problem(0, f"the audit log table is missing (dropped?){held}: no record can be checked"))
    elif not rows and n:
        out.append(Problem(0, f"the audit log is empty{held}: its records were deleted"))
    if "audit_head" not in have:
        out.append(Problem(0, "the audit head table is missing (dropped?): a cut at the end of the log cannot be seen without it"))
    elif head is None and rows:
        out.append(Problem(rows[-1]["seq"], f"the audit head is missing although the log holds {len(rows)} records: it was deleted"))
    return out


def chain_problems(rows: list[dict], head: tuple | None) -> list[Problem]:
    """Each record's hash and link, and the head against the last record."""
    by_hash = {r["hash"]: r["seq"] for r in rows}
    problems: list[Problem] = []
    prev_hash, prev_seq = GENESIS, 0
    for r in rows:
        seq = r["seq"]
        if chain_hash(r["prev"], r["at"], r["kind"], r["actor"], r["data"]) != r["hash"]:
            problems.append(Problem(seq, f"record {seq} was edited: its content does not match its hash"))
        elif r["prev"] != prev_hash:
            if seq != prev_seq + 1:
                missing = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1}..{seq - 1}"
                problems.append(Problem(seq, f"record {missing} deleted: record {seq} does not chain to record {prev_seq}"))
            elif r["prev"] in by_hash:
                problems.append(
                    Problem(
                        seq, f"record {seq} is out of order: it was written after record {by_hash[r['prev']]}, not after record {prev_seq}"
                    )
                )
            elif r["prev"] == GENESIS:
                problems.append(Problem(seq, f"record {seq} is out of order: it was written first"))
            else:
                problems.append(Problem(seq, f"record {seq} does not chain to record {prev_seq}: a record before it was deleted or edited"))
        prev_hash, prev_seq = r["hash"], seq
    if head is not None and (head[0], head[1]) != (prev_seq, prev_hash):
        if head[0] > prev_seq:
            missing = f"{prev_seq + 1}" if head[0] == prev_seq + 1 else f"{prev_seq + 1}..{head[0]}"
            problems.append(Problem(head[0], f"record {missing} deleted from the end: the head says the log ends at record {head[0]}"))
        else:
            problems.append(Problem(prev_seq, f"record {prev_seq}: the log's last record does not match the recorded head"))
    return problems
