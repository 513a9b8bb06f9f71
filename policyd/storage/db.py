"""The one SQLite file: how to open it, and the one migration chain for every table in it.

Every user (the store, the daemon's writer and readers, tokens, the audit log,
lottery seeds and records, the CLI) opens the file through `connect`, so each gets
the same pragmas (WAL, fsync on every commit, a busy timeout) and finds every table
at the newest schema. This is the only module that imports sqlite-utils.

The schema grows through named migrations (sqlite-utils `Migrations`), applied
under SQLite's write lock, so two processes opening a fresh file at once cannot
both create it. The set is called `policyd.store` because the store's first three
migrations were recorded under that name; files made before the other tables had
migrations already hold some of them, so those migrations create only what is
missing and add columns a file lacks. A new table or column is a new migration at
the end; an applied migration is never edited.
"""

from __future__ import annotations

import os
import sqlite3

import sqlite_utils
from sqlite_utils import Migrations

from .errors import StoreError

MIGRATIONS = Migrations("policyd.store")


def connect(path: str | os.PathLike) -> sqlite3.Connection:
    """A connection in autocommit mode (callers BEGIN themselves), WAL, fsync on every commit, migrated.

    Usable from any thread (the daemon hands its connections to worker threads);
    StoreError, naming the file, when it cannot be opened or is not a database.
    """
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    except sqlite3.Error as err:
        raise StoreError(f"{path}: cannot open the policy store ({err})") from None
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        migrate(conn)
    except sqlite3.OperationalError as err:
        conn.close()
        raise StoreError(f"{path}: cannot open the policy store ({err})") from None
    except sqlite3.DatabaseError as err:
        conn.close()
        raise StoreError(f"{path}: not a policyd store ({err})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def database(path: str | os.PathLike) -> sqlite_utils.Database:
    """The file as a sqlite-utils Database over `connect` (for code that reads and writes rows by table)."""
    return sqlite_utils.Database(connect(path))


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations, holding the write lock so concurrent openers wait; returns the names applied."""
    db = sqlite_utils.Database(conn)
    if not MIGRATIONS.pending(db):
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        pending = [m.name for m in MIGRATIONS.pending(db)]  # again, under the lock: another opener may have applied them
        MIGRATIONS.apply(db)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return pending


def applied(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations this file has had, in order."""
    return [m.name for m in MIGRATIONS.applied(sqlite_utils.Database(conn))]


def _columns(db: sqlite_utils.Database, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"pragma table_info({table})").fetchall()}


# ---------------------------------------------------------------- the chain
@MIGRATIONS()
def m001_versions_and_activations(db: sqlite_utils.Database) -> None:
    """Policy versions and the activation log (also what stores made before migrations already hold)."""
    if "versions" not in db.table_names():
        db["versions"].create(
            {
                "number": int,
                "hash": str,
                "parent": int,
                "author": str,
                "message": str,
                "created_at": float,
                "main_file": str,
                "files": str,
            },
            pk="number",
            not_null={"hash", "author", "message", "created_at", "main_file", "files"},
        )
    if "activations" not in db.table_names():
        db["activations"].create(
            {"id": int, "number": int, "by": str, "at": float, "previous": int}, pk="id", foreign_keys=[("number", "versions")]
        )


@MIGRATIONS()
def m002_append_only(db: sqlite_utils.Database) -> None:
    """Versions and the activation log can be added to, never changed or removed."""
    for table in ("versions", "activations"):
        for event in ("UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
            )


@MIGRATIONS()
def m003_activation_action_and_hash_index(db: sqlite_utils.Database) -> None:
    """Rollbacks are recorded as such; versions are found by content hash."""
    if "action" not in _columns(db, "activations"):
        db["activations"].add_column("action", str, not_null_default="activate")
    db["versions"].create_index(["hash"], if_not_exists=True)


@MIGRATIONS()
def m004_tokens(db: sqlite_utils.Database) -> None:
    """Bearer tokens, kept as their sha256 only (storage/tokens.py)."""
    db.execute(
        "create table if not exists tokens (id integer primary key, name text not null, role text not null,"
        " hash text not null unique, created_at real not null)"
    )


@MIGRATIONS()
def m005_audit(db: sqlite_utils.Database) -> None:
    """The hash-chained audit log and its head (storage/audit.py), found by lead id."""
    db.execute(
        "create table if not exists audit (seq integer primary key, at real not null, kind text not null,"
        " actor text not null, data text not null, prev text not null, hash text not null)"
    )
    db.execute("create table if not exists audit_head (id integer primary key check (id = 1), seq integer not null, hash text not null)")
    db.execute("create index if not exists audit_lead on audit(json_extract(data, '$.lead_id'))")


@MIGRATIONS()
def m006_runtime(db: sqlite_utils.Database) -> None:
    """The daemon's decisions, state, away times and own seed; files from before period seeds get the seed columns."""
    db.execute(
        """create table if not exists rt_decisions (
  id integer primary key,
  lead_id text not null unique,
  version integer not null,
  at real not null,
  seed text not null,
  lottery integer not null,
  seed_id text,
  lottery_note text,
  lead text not null,
  snapshot text not null,
  rep text,
  queue text,
  tier text,
  by text not null,
  holder text,
  status text not null,
  deadline real,
  reassigned integer not null default 0,
  tried text not null,
  overridden integer not null default 0,
  override_reason text,
  updated_at real not null
)"""
    )
    have = _columns(db, "rt_decisions")
    for column in ("seed_id", "lottery_note"):  # decisions made before they named their period seed
        if column not in have:
            db.execute(f"alter table rt_decisions add column {column} text")
    db.execute("create index if not exists rt_decisions_deadline on rt_decisions(deadline) where deadline is not null")
    db.execute("create index if not exists rt_decisions_at on rt_decisions(at)")
    db.execute("create table if not exists rt_state (id integer primary key check (id = 1), state text not null, at real not null)")
    db.execute("create table if not exists rt_away (rep text primary key, until real not null, reason text not null, at real not null)")
    db.execute("create table if not exists rt_meta (key text primary key, value text not null)")


@MIGRATIONS()
def m007_lottery(db: sqlite_utils.Database) -> None:
    """Period seeds (lottery/seeds.py) and meeting records (lottery/record.py), once made on first use."""
    if "lottery_seeds" not in db.table_names():
        db["lottery_seeds"].create(
            {"period": str, "seed": str, "commitment": str, "committed_at": float, "revealed_at": float},
            pk="period",
            not_null={"seed", "commitment", "committed_at"},
        )
    if "lottery_records" not in db.table_names():
        db["lottery_records"].create({"id": str, "period": str, "record": str, "created_at": float}, pk="id")


@MIGRATIONS()
def m008_decided_queue_apart_from_current_queue(db: sqlite_utils.Database) -> None:
    """`rep` and `queue` say what the decision was, for ever; `holder` and `current_queue` where the lead is now.

    Before, an override or an SLA escalation wrote the lead's new place over the
    decision's queue, so the replay check compared a re-run decision with where the
    lead had moved to. The decision's queue is restored from its audit record.
    """
    if "current_queue" in _columns(db, "rt_decisions"):
        return
    db.execute("alter table rt_decisions add column current_queue text")
    db.execute("update rt_decisions set current_queue = queue where status in ('queued', 'escalated')")
    db.execute(
        "update rt_decisions set queue = (select json_extract(a.data, '$.queue') from audit a"
        " where a.kind = 'assign' and json_extract(a.data, '$.lead_id') = rt_decisions.lead_id order by a.seq limit 1)"
        " where exists (select 1 from audit a where a.kind = 'assign' and json_extract(a.data, '$.lead_id') = rt_decisions.lead_id)"
    )
    db.execute("update rt_decisions set queue = null where rep is not null")  # a decision that named a rep queued nothing


def migration_names() -> list[str]:
    """Every migration of the chain, in order (what a fully migrated file has applied)."""
    return [m.name for m in MIGRATIONS._migrations]
