"""The outbox: a durable queue of signed lead events, delivered to webhook URLs at least once, in order per lead.

When a lead is assigned, re-routed, accepted, moved by the SLA, escalated, overridden
or closed, the CRM that holds it has to hear, or the owner it records goes stale. An
event row per URL is written in the same transaction as the change (from the batch's
audit records, `enqueue`), so an answered change always has its events, across a
crash. A delivery thread posts them (`Deliverer`), oldest first, never one for a lead
before the earlier ones for that lead and URL have been delivered; a failure (an
error status, a refused connection, a timeout) is retried with exponential backoff,
without end: a receiver that comes back gets everything. Marking a row delivered
goes through the writer, like every change; a crash between the receiver's 2xx and
that mark sends the event again, so receivers de-duplicate by `X-Policyd-Delivery`.

Each POST carries `X-Policyd-Event`, `X-Policyd-Delivery` (the row id),
`X-Policyd-Timestamp` (seconds) and `X-Policyd-Signature: sha256=` hex
HMAC-SHA256(secret, `timestamp.body`): the generic scheme the intake checks too.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from ..storage.db import connect, is_postgres
from .rows import find

log = logging.getLogger(__name__)

CLAIM_FOR = 60.0  # seconds an event taken by one daemon's delivery thread is left to it

EVENTS = {
    "assign": "lead.assigned",
    "reroute": "lead.rerouted",
    "accept": "lead.accepted",
    "sla_reassign": "lead.reassigned",
    "sla_escalate": "lead.escalated",
    "override": "lead.overridden",
    "close": "lead.closed",
}


@dataclass(frozen=True)
class OutboxConfig:
    urls: tuple[str, ...]
    secret: str
    owner_ids: Callable[[str | None], dict[str, str]] = lambda rep: {}
    timeout: float = 5.0  # seconds a receiver may take to answer
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    max_backoff: float = 300.0
    interval: float = 0.5  # seconds between looks for due events when nothing wakes the thread


def enqueue(conn: sqlite3.Connection, config: OutboxConfig, since_seq: int, now: float) -> int:
    """In the batch's transaction: one outbox row per URL for each lead event recorded after `since_seq`."""
    n = 0
    rows = conn.execute("select seq, at, kind, actor, data from audit where seq > ? order by seq", (since_seq,)).fetchall()
    for seq, at, kind, actor, data in rows:
        event = EVENTS.get(kind)
        if event is None:
            continue
        rec = json.loads(data)
        lead_id = rec.get("lead_id")
        row = find(conn, lead_id) if isinstance(lead_id, str) else None
        if row is None:
            continue
        holder, status, queue = placed(kind, rec)  # as of this record, not the batch's end
        payload = {
            "event": event,
            "lead_id": lead_id,
            "rep": holder,
            "owner_ids": config.owner_ids(holder),
            "status": status,
            "queue": queue,
            "tier": row["tier"],
            "by": row["by"],
            "version": row["version"],
            "audit_seq": seq,
            "actor": actor,
            "at": at,
            "details": {k: v for k, v in rec.items() if k != "lead_id"},
        }
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        for url in config.urls:
            conn.execute(
                "insert into outbox (url, lead_id, event, body, created_at, next_at) values (?, ?, ?, ?, ?, ?)",
                (url, lead_id, event, body, now, now),
            )
            n += 1
    return n


def placed(kind: str, rec: dict) -> tuple[str | None, str, str | None]:
    """(holder, status, queue) right after a lead event, from its audit record alone."""
    if kind in ("assign", "reroute"):
        rep = rec.get("rep")
        return rep, "assigned" if rep else "queued", rec.get("queue")
    if kind in ("override", "sla_reassign"):
        return rec.get("to"), "assigned", None
    if kind == "sla_escalate":
        return None, "escalated", "escalated"
    if kind == "close":
        return rec.get("rep"), str(rec.get("outcome")), None
    return rec.get("rep"), "accepted", None


def due(conn: sqlite3.Connection, now: float, limit: int = 50) -> list[dict]:
    """Events to send now: per (URL, lead) only the oldest undelivered one, and only once its retry time has come."""
    cur = conn.execute(
        "select o.id, o.url, o.lead_id, o.event, o.body, o.attempts from outbox o"
        " join (select min(id) id from outbox where delivered_at is null group by url, lead_id) h on h.id = o.id"
        " where o.next_at <= ? order by o.id limit ?",
        (now, limit),
    )
    return [dict(zip([c[0] for c in cur.description], r)) for r in cur.fetchall()]


def claim(conn: sqlite3.Connection, rid: int, now: float) -> bool:
    """Take an event for this daemon's delivery thread (several daemons on one PostgreSQL database read the same
    outbox): its retry time moves CLAIM_FOR ahead, so the others skip it; one that dies with it lets it come due again."""
    cur = conn.execute("update outbox set next_at = ? where id = ? and delivered_at is null and next_at <= ?", (now + CLAIM_FOR, rid, now))
    return cur.rowcount == 1


def mark(conn: sqlite3.Connection, rid: int, now: float, error: str | None, retry_at: float | None) -> None:
    if error is None:
        conn.execute("update outbox set delivered_at = ?, attempts = attempts + 1, last_error = null where id = ?", (now, rid))
    else:
        conn.execute("update outbox set attempts = attempts + 1, next_at = ?, last_error = ? where id = ?", (retry_at, error[:500], rid))


def stats(conn: sqlite3.Connection) -> dict:
    """Pending, failing (pending after a failed attempt) and delivered counts, and the failing rows (metrics, dashboard)."""
    pending, failing, delivered = conn.execute(
        "select count(*) filter (where delivered_at is null), count(*) filter (where delivered_at is null and attempts > 0),"
        " count(*) filter (where delivered_at is not null) from outbox"
    ).fetchone()
    cur = conn.execute(
        "select id, url, lead_id, event, attempts, next_at, last_error from outbox"
        " where delivered_at is null and attempts > 0 order by id limit 20"
    )
    failures = [dict(zip([c[0] for c in cur.description], r)) for r in cur.fetchall()]
    return {"pending": pending, "failing": failing, "delivered": delivered, "failures": failures}


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The generic scheme (web/signatures.py checks the same): hex HMAC-SHA256 of `timestamp.body`."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def post(config: OutboxConfig, item: dict, now: float) -> str | None:
    """Send one event; None on a 2xx, else what went wrong in words."""
    body = item["body"].encode("utf-8")
    stamp = str(int(now))
    req = urllib.request.Request(
        item["url"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "policyd-outbox",
            "X-Policyd-Event": item["event"],
            "X-Policyd-Delivery": str(item["id"]),
            "X-Policyd-Timestamp": stamp,
            "X-Policyd-Signature": sign(config.secret, body, stamp),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=config.timeout) as resp:  # noqa: S310 (configured URLs only)
            resp.read()
            return None
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code} from the receiver"
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return f"not delivered: {reason}"


class Deliverer:
    """The delivery thread: reads due events on its own connection, marks them through the runtime's writer."""

    def __init__(self, path: str, config: OutboxConfig, submit: Callable, clock: Callable[[], float]):
        self.path, self.config, self.submit, self.clock = path, config, submit, clock
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="policyd-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout + 5)

    def _run(self) -> None:
        conn = connect(self.path)
        try:
            while not self._stop.is_set():
                try:
                    sent = self.round(conn)
                except Exception:  # a failing disk: the writer's health says so; try again later
                    log.exception("outbox round failed")
                    sent = 0
                if not sent:
                    self.wake.wait(self.config.interval)
                    self.wake.clear()
        finally:
            conn.close()

    def round(self, conn: sqlite3.Connection) -> int:
        """Send what is due (one event per lead and URL at a time); how many were tried."""
        items = due(conn, self.clock())
        shared = is_postgres(conn)
        for item in items:
            if self._stop.is_set():
                break
            if shared and not claim(conn, item["id"], self.clock()):
                continue  # another daemon sends it
            error = post(self.config, item, self.clock())
            now = self.clock()
            retry_at = None
            if error is None:
                self.delivered += 1
            else:
                self.failed += 1
                retry_at = now + min(self.config.backoff * 2 ** item["attempts"], self.config.max_backoff)
                log.warning("outbox event %d (%s for %s) to %s: %s", item["id"], item["event"], item["lead_id"], item["url"], error)
            rid = item["id"]
            self.submit(lambda tx, rid=rid, error=error, retry_at=retry_at: mark(tx.conn, rid, tx.now, error, retry_at)).result(timeout=60)
        return len(items)
