"""The one database: how to open it, and the one migration chain for every table in it.

Every user (the store, the daemon's writer and readers, tokens, the audit log,
lottery seeds and records, the CLI) opens it through `connect`, so each finds every
table at the newest schema. The target is a SQLite file (the default; `engines.sqlite`
sets WAL, fsync on every commit, a busy timeout) or a `postgresql://` URL
(`engines.postgres`). This is the only module that imports sqlite-utils.

The chain is one for both engines: each step is given a `db` answering sqlite-utils'
calls (`engines.pg_schema.Database` on PostgreSQL), and writes SQLite's SQL, which
`engines.pg_sql` says in PostgreSQL's. A step that must say something differently
asks `is_postgres(db)` (m002's triggers).

The schema grows through named migrations (sqlite-utils `Migrations`), applied
under SQLite's write lock, so two processes opening a fresh file at once cannot
both create it. The set is called `policyd.store` because the store's first three
migrations were recorded under that name; files made before the other tables had
migrations already hold some of them, so those migrations create only what is
missing and add columns a file lacks. A new table or column is a new migration at
the end; an applied migration is never edited.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from .engines import data_version, exists, explain, is_postgres, is_url, pg_schema, table_names, target_of
from .engines import sqlite as sqlite_engine
from .engines.sqlite import EmptyDatabase, refuse_empty
from .errors import StoreError

__all__ = ["EmptyDatabase", "refuse_empty", "connect", "database", "write_lock", "migrate", "applied", "explain", "is_postgres"]
__all__ += ["data_version", "exists", "table_names", "target_of"]

MIGRATIONS = Migrations("policyd.store")


def connect(target: str | os.PathLike) -> Any:
    """A connection in autocommit mode (callers BEGIN themselves), migrated: to a SQLite file, or to PostgreSQL for a URL.

    A path is a SQLite file (WAL, fsync on every commit; `engines.sqlite`): usable from
    any thread (the daemon hands its connections to worker threads); a missing file is
    a new database; an existing file of zero bytes is refused (`EmptyDatabase`). A
    `postgresql://` URL is a PostgreSQL database (`engines.postgres`, psycopg imported
    only then). StoreError, naming the file or the server and database and what to do,
    when it cannot be opened, is damaged or is not a database.
    """
    if is_url(target):
        from .engines import postgres

        conn = postgres.connect(str(target))
        try:
            migrate(conn)
        except sqlite3.Error as err:
            conn.close()
            raise StoreError(str(err)) from None
        except BaseException:
            conn.close()
            raise
        return conn
    return sqlite_engine.connect(target, migrate)


def database(target: str | os.PathLike) -> Any:
    """The database as a sqlite-utils Database over `connect` (on PostgreSQL, `pg_schema.Database`, which answers the same calls)."""
    conn = connect(target)
    return pg_schema.Database(conn) if is_url(target) else sqlite_utils.Database(conn)


@contextlib.contextmanager
def write_lock(conn: Any):
    """One transaction under the database's write lock (BEGIN IMMEDIATE): reads inside it see what
    the writes will be checked against, and any exception rolls everything back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def migrate(conn: Any) -> list[str]:
    """Apply pending migrations, holding the write lock so concurrent openers wait; returns the names applied."""
    if is_postgres(conn):
        return pg_schema.migrate(conn, MIGRATIONS)
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


def applied(conn: Any) -> list[str]:
    """Names of the migrations this database has had, in order."""
    if is_postgres(conn):
        return pg_schema.applied(conn, MIGRATIONS.name)
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
            name = f"{table}_no_{event.lower()}"
            if is_postgres(db):  # a trigger's body is the one thing the engines say differently
                db.conn.raw_execute(
                    f"CREATE OR REPLACE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW "
                    f"EXECUTE FUNCTION policyd_refuse('{table} are append-only')"
                )
                continue
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON {table} BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
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


@MIGRATIONS()
def m009_token_expiry_revocation_last_use(db: sqlite_utils.Database) -> None:
    """A token may expire, may be revoked (the row stays, for the audit log's names) and records when it was last used."""
    have = _columns(db, "tokens")
    for column in ("expires_at", "revoked_at", "last_used_at"):
        if column not in have:
            db.execute(f"alter table tokens add column {column} real")
    if "revoked_by" not in have:
        db.execute("alter table tokens add column revoked_by text")


@MIGRATIONS()
def m010_daemon_lease(db: sqlite_utils.Database) -> None:
    """Who serves this file: one row, written by the daemon holding the lock file beside it (storage/lease.py)."""
    db.execute(
        "create table if not exists daemon_lease (id integer primary key check (id = 1), nonce text not null,"
        " pid integer not null, host text not null, started_at real not null, address text, heartbeat_at real not null)"
    )


@MIGRATIONS()
def m011_seeds_out_of_the_database_and_prospects(db: sqlite_utils.Database) -> None:
    """Unrevealed seeds leave the database; a decision records its prospect and what it re-enters.

    A period seed is derived from the seed key file (lottery/seedkey.py) until its
    reveal, so `lottery_seeds.seed` and `rt_decisions.seed` may be empty. Seeds that
    files made earlier hold stay where they are (still drawn with, and reported as
    kept in the database). `prospect` is the fingerprint of a lead without its id, so
    the same prospect sent again under a new id is shown as a re-entry (`reentry_of`).
    """
    db["lottery_seeds"].transform(not_null={"seed": False})
    if "prospect" not in _columns(db, "rt_decisions"):
        db["rt_decisions"].transform(not_null={"seed": False})
        db.execute("alter table rt_decisions add column prospect text")
        db.execute("alter table rt_decisions add column reentry_of text")
    db.execute("create index if not exists rt_decisions_prospect on rt_decisions(prospect) where prospect is not null")


@MIGRATIONS()
def m012_refused_requests(db: sqlite_utils.Database) -> None:
    """Requests the daemon refused (signature, JSON, mapping, schema, conflict), kept with their reasons for re-submission."""
    db.execute(
        "create table if not exists intake_refused (id integer primary key, at real not null, source text not null,"
        " kind text not null, reasons text not null, body text not null, headers text not null, lead_id text,"
        " status text not null default 'refused', resolved_at real, resolved_by text)"
    )
    db.execute("create index if not exists intake_refused_status on intake_refused(status, id)")


@MIGRATIONS()
def m013_outbox(db: sqlite_utils.Database) -> None:
    """Lead events waiting for (or delivered to) each webhook URL: written with the change, sent at least once (daemon/outbox.py)."""
    db.execute(
        "create table if not exists outbox (id integer primary key, url text not null, lead_id text not null, event text not null,"
        " body text not null, created_at real not null, next_at real not null, attempts integer not null default 0,"
        " delivered_at real, last_error text)"
    )
    db.execute("create index if not exists outbox_pending on outbox(url, lead_id, id) where delivered_at is null")


@MIGRATIONS()
def m014_versions_per_policy(db: sqlite_utils.Database) -> None:
    """Versions and activations are filed under their policy's name (`policy NAME`), so one store holds several policies."""
    import json

    from .names import policy_name

    if "policy" not in _columns(db, "versions"):
        db["versions"].add_column("policy", str, not_null_default="")
    if "policy" not in _columns(db, "activations"):
        db["activations"].add_column("policy", str, not_null_default="")
    rows = db.execute("select number, main_file, files from versions where policy = ''").fetchall()
    if rows:  # the append-only triggers stand aside for this one filing, and only here
        for table in ("versions", "activations"):
            db.execute(f"DROP TRIGGER IF EXISTS {table}_no_update" + (f" ON {table}" if is_postgres(db) else ""))
        for number, main_file, files in rows:
            db.execute(
                "update versions set policy = ? where number = ?", [policy_name(main_file, json.loads(files).get(main_file, "")), number]
            )
        db.execute(
            "update activations set policy = (select v.policy from versions v where v.number = activations.number) where policy = ''"
        )
        m002_append_only(db)
    db["versions"].create_index(["policy", "number"], if_not_exists=True)


@MIGRATIONS()
def m015_decisions_name_their_team(db: sqlite_utils.Database) -> None:
    """Each decision names its team (its policy) and each team keeps its own state, so one daemon serves several."""
    if "team" not in _columns(db, "rt_decisions"):
        db.execute("alter table rt_decisions add column team text")
        db.execute("update rt_decisions set team = (select v.policy from versions v where v.number = rt_decisions.version)")
    db.execute("create table if not exists rt_team_state (team text primary key, state text not null, at real not null)")
    db.execute(  # the one state a daemon kept before: its team is the one that decided last
        "insert or ignore into rt_team_state select t.team, s.state, s.at from rt_state s"
        " cross join (select team from rt_decisions where team is not null order by id desc limit 1) t"
    )


@MIGRATIONS()
def m016_decisions_keep_the_door_step(db: sqlite_utils.Database) -> None:
    """A decision routed by the front door keeps the door's step (JSON), so its explanation starts with it."""
    if "door" not in _columns(db, "rt_decisions"):
        db.execute("alter table rt_decisions add column door text")


@MIGRATIONS()
def m017_governance(db: sqlite_utils.Database) -> None:
    """Approvals (of versions, of overrides waiting for one), recorded reviews and scheduled activations: docs/governance.md."""
    db.execute(
        "create table if not exists governance (id integer primary key, kind text not null, subject text not null, data text not null,"
        " by text not null, at real not null, due real, status text not null, decided_by text, decided_at real)"
    )


@MIGRATIONS()
def m020_open_leads_index(db: sqlite_utils.Database) -> None:
    """Open leads by team and holder, indexed: the open counts a daemon reads again whenever another daemon wrote."""
    db.execute(
        "create index if not exists rt_decisions_open on rt_decisions(team, holder)"
        " where holder is not null and status in ('assigned', 'accepted')"
    )


@MIGRATIONS()
def m021_refused_requests_keep_their_team(db: sqlite_utils.Database) -> None:
    """A refused request keeps the team its path named (`/v1/teams/{team}/...`), so its re-submission is decided there."""
    if "team" not in _columns(db, "intake_refused"):
        db.execute("alter table intake_refused add column team text")


@MIGRATIONS()
def m022_team_locks(db: sqlite_utils.Database) -> None:
    """A row per team that its decisions lock, with a counter of its state's writes (storage/team_lock.py)."""
    db.execute("create table if not exists rt_team_lock (team text primary key, writes integer not null default 0)")


def migration_names() -> list[str]:
    """Every migration of the chain, in order (what a fully migrated file has applied)."""
    return [m.name for m in MIGRATIONS._migrations]
