"""The daemon commands: serve, its tokens and (audit_cmds.py) its audit log.

A database that cannot be used (damaged, not a database, empty, read-only, a full
disk, served by another daemon) is exit 2 with a message that names the file and
says what to do; never a traceback.
"""

from __future__ import annotations

import json
import sqlite3
import time

import click

from ..storage.engines import redact
from . import clock
from .audit_cmds import audit_cmd
from .common import PolicydError, current_db, db_option, when
from .db_errors import StorageProblem, storage_errors

__all__ = ["serve", "token", "audit_cmd"]


def choose_policy(path: str, name: str | None) -> None:
    """Before serving: `--policy` names a policy of the store (PolicydError otherwise); without it every active policy is served."""
    from ..daemon.policy import SeveralActive, served_policy
    from ..storage.store import Store

    if name is None:
        return
    store = Store(path)
    try:
        served_policy(store, name)
    except SeveralActive as err:
        raise PolicydError(str(err)) from None
    finally:
        store.close()


def preflight(path: str) -> None:
    """Before serving: the file opens, migrates, and passes SQLite's quick check (StoreError in words otherwise)."""
    from ..storage.db import connect, explain, is_postgres
    from ..storage.errors import StoreError

    conn = connect(path)
    if is_postgres(conn):  # the server checks its own pages; connecting and migrating is the check
        conn.close()
        return
    try:
        found = [line for r in conn.execute("pragma quick_check(3)").fetchall() for line in r[0].splitlines() if not line.startswith("***")]
    except sqlite3.Error as err:
        raise StoreError(explain(path, err)) from None
    finally:
        conn.close()
    if found != ["ok"]:
        raise StoreError(
            f"{path}: the database is damaged (SQLite's quick check: {'; '.join(found[:3])}): it was truncated or overwritten "
            f"in part; restore it from a backup (`sqlite3 {path} .recover` may save what is left)"
        )


def intake_sources(maps: tuple[str, ...], owners: str | None):
    """The --map sources (NAME=FILE, or FILE for POST /v1/intake) and --owners, checked before serving."""
    from ..daemon.intake import DEFAULT_SOURCE, Sources, load_owners
    from ..replay.records import MappingError

    files: dict[str, str] = {}
    for item in maps:
        name, sep, file = item.partition("=")
        if not sep:
            name, file = DEFAULT_SOURCE, item
        if not name.replace("-", "").replace("_", "").isalnum() or not file:
            raise PolicydError(f"--map {item}: expected FILE or NAME=FILE, NAME of letters, digits, - and _")
        if name in files:
            raise PolicydError(f"--map {item}: source {name!r} is given twice")
        files[name] = file
    try:
        return Sources(files, load_owners(owners) if owners else None)
    except MappingError as err:
        raise PolicydError(str(err)) from None


def webhook_config(urls: tuple[str, ...], secret_env: str, timeout: float):
    """The outbox's configuration (None without --webhook); the secret must be in the environment."""
    import os

    from ..daemon.outbox import OutboxConfig

    if not urls:
        return None
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise PolicydError(f"--webhook {url}: expected an http:// or https:// URL")
    secret = os.environ.get(secret_env)
    if not secret:
        raise PolicydError(
            f"--webhook needs a secret to sign events: set the environment variable {secret_env} (or name another with --webhook-secret-env)"
        )
    if not timeout > 0:
        raise PolicydError("--webhook-timeout must be more than 0")
    return OutboxConfig(tuple(urls), secret, timeout=timeout)


def free_port(host: str) -> int:
    """A free port on `host` (for --port 0: the daemon's lease names the address before it listens)."""
    from ..web.serve import bind

    sock = bind(host, 0)
    try:
        return sock.getsockname()[1]
    finally:
        sock.close()


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8377, show_default=True, type=int, help="Port; 0 picks a free one (printed on start).")
@click.option("--sla-interval", default=1.0, show_default=True, type=float, help="Seconds between SLA deadline checks.")
@click.option("--access-log", is_flag=True, help="Log method, path, status and time of every request (never tokens or queries).")
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=float,
    help="Seconds a request's line and headers may take to arrive (else 408).",
)
@click.option(
    "--body-timeout",
    default=30.0,
    show_default=True,
    type=float,
    help="Seconds a request's body may take to arrive after its headers (else 408).",
)
@click.option("--keep-alive", default=5.0, show_default=True, type=float, help="Seconds an idle connection is kept open between requests.")
@click.option(
    "--max-connections",
    default=1000,
    show_default=True,
    type=int,
    help="Connections held at once (lowered to fit the file descriptor limit); beyond it the longest idle or slow one is closed, or 503.",
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="[NAME=]FILE",
    help="Mapped intake: a replay mapping file for JSON payloads, at POST /v1/intake/NAME (without NAME, POST /v1/intake). Repeatable.",
)
@click.option("--owners", type=click.Path(dir_okay=False), help='The CRM\'s ids of each rep (TOML: [alice] hubspot_owner_id = "...").')
@click.option(
    "--webhook", "webhooks", multiple=True, metavar="URL", help="POST signed lead events (assigned, moved, closed...) here. Repeatable."
)
@click.option(
    "--webhook-secret-env",
    default="POLICYD_WEBHOOK_SECRET",
    show_default=True,
    help="The environment variable holding the secret that signs webhook events.",
)
@click.option("--webhook-timeout", default=5.0, show_default=True, type=float, help="Seconds a webhook receiver may take to answer.")
@click.option("--max-pending", default=2000, show_default=True, type=int, help="Writer operations waiting beyond which requests get 429.")
@click.option("--policy", metavar="NAME", help="The policy to serve when the store holds several active ones [default: the one active].")
@storage_errors
def serve(
    host: str,
    port: int,
    sla_interval: float,
    access_log: bool,
    header_timeout: float,
    body_timeout: float,
    keep_alive: float,
    max_connections: int,
    maps: tuple[str, ...] = (),
    owners: str | None = None,
    webhooks: tuple[str, ...] = (),
    webhook_secret_env: str = "POLICYD_WEBHOOK_SECRET",
    webhook_timeout: float = 5.0,
    max_pending: int = 2000,
    policy: str | None = None,
) -> None:
    """Serve the active stored version over HTTP (JSON API under /v1, pages).

    `policyd activate` in another shell takes effect for the next decision,
    without a restart. Every endpoint but /v1/health needs a token. Slow or idle
    clients cannot hold the server: see the timeouts and docs/security.md.

    One daemon per database: a second `policyd serve` on the same file refuses
    to start and names the first (pid, host, address, since when). A daemon
    that died (even by kill -9) leaves no lock behind.

    The daemon runs on the real clock. For a rehearsal on a staging database
    (never in production), POLICYD_NOW=2026-12-07T09:00:00Z starts its clock at
    that time and POLICYD_CLOCK_SPEED=600 runs it 600 times real time (a 2h SLA
    comes due in 12 s; --sla-interval stays in real seconds). POLICYD_CLOCK_FROM
    is the real instant (ISO 8601 with a zone) the clock reads POLICYD_NOW
    (default: when the daemon starts): give every daemon of the database the
    same three values and their clocks agree, a restarted one's too. The
    startup line names the clock in force.

    \b
    Example:
      policyd publish policies/inbound.policy -m "first version"
      policyd activate @1
      policyd token create --role assign --name crm
      policyd serve --port 8377
      HUBSPOT_CLIENT_SECRET=... policyd serve --map hubspot=policies/intake/hubspot.map.toml --webhook https://hooks.example.com/policyd
    """
    from ..storage import lease
    from ..web.serve import Limits, run

    for name, value in (("--sla-interval", sla_interval), ("--header-timeout", header_timeout), ("--body-timeout", body_timeout)):
        if not value > 0:
            raise PolicydError(f"{name} must be more than 0")
    if keep_alive < 0 or max_connections < 1:
        raise PolicydError("--keep-alive must be 0 or more, --max-connections 1 or more")
    limits = Limits(header_timeout, body_timeout, keep_alive, max_connections)
    sources = intake_sources(maps, owners)
    if max_pending < 1:
        raise PolicydError("--max-pending must be 1 or more")
    outbox = webhook_config(webhooks, webhook_secret_env, webhook_timeout)
    rehearsal = clock.daemon_clock()  # PolicydError, naming the variable, for a bad value
    path = current_db()
    preflight(path)
    choose_policy(path, policy)
    try:
        port = port or free_port(host)
    except OSError as err:
        raise PolicydError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    where = f"[{host}]" if ":" in host else host
    held = lease.reserve(path, f"http://{where}:{port}")  # LeaseHeld, naming the other daemon
    if held.took_over is not None and held.took_over.pid != held.holder.pid:
        click.echo(f"policyd: {redact(path)}: {held.took_over_text()}", err=True)
    if rehearsal is not None:
        click.echo(f"policyd: {rehearsal.describe()}", err=True)
    app = {"sources": sources, "max_pending": max_pending, "outbox": outbox, "policy": policy, "clock": rehearsal or time.time}
    try:
        run(path, host, port, sla_interval, access_log, limits, **app)
    except OSError as err:
        raise PolicydError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    except SystemExit as exc:
        if exc.code == 3:  # uvicorn: the app did not start; its log above says why
            raise StorageProblem(f"{redact(path)}: the daemon could not start; the messages above say why") from None
        raise
    finally:
        held.release()


@click.group()
def token() -> None:
    """Bearer tokens for the daemon (roles: rep < read < assign < admin).

    \b
    Example:
      policyd token create --role assign --name crm --expires 90d
      policyd token list
      policyd token revoke crm
    """


@token.command("create")
@db_option
@click.option(
    "--role",
    required=True,
    type=click.Choice(["rep", "read", "assign", "admin"]),
    help="rep: one rep's own page (--name is the rep); read: dashboards; assign: CRM clients; admin: overrides, availability, activation.",
)
@click.option("--name", required=True, help="Who or what uses the token (shown in the audit log).")
@click.option(
    "--expires",
    metavar="WHEN",
    help="When it stops working: a duration (90m, 12h, 30d, 2w) or a date or time (2026-12-31 is 00:00 UTC that day). Default: never.",
)
@storage_errors
def token_create(role: str, name: str, expires: str | None) -> None:
    """Create a token and print it once (only its sha256 is stored).

    \b
    Example:
      TOKEN=$(policyd token create --role assign --name crm --expires 30d)
    """
    from ..storage import tokens
    from ..storage.db import connect

    now = clock.now()
    try:
        expires_at = tokens.parse_expiry(expires, now) if expires else None
        conn = connect(current_db())
        try:
            secret = tokens.create(conn, name, role, now=now, expires_at=expires_at, actor="cli")
        finally:
            conn.close()
    except tokens.TokenError as err:
        raise PolicydError(str(err)) from None
    click.echo(secret)
    until = f", expires {when(expires_at)}" if expires_at is not None else ""
    click.echo(f"token {name!r} (role {role}{until}) created; it is shown only this once", err=True)


@token.command("list")
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@storage_errors
def token_list(fmt: str) -> None:
    """List tokens: role, name, status (active, expired, revoked), expiry, last use (never the tokens).

    Last use is recorded by the daemon within a few seconds (in batches).

    \b
    Example:
      policyd token list
      policyd token list --format json | jq '.[] | select(.status == "active")'
    """
    from ..storage import tokens

    listed = tokens.listing(_connect_existing(), now=clock.now())
    if fmt == "json":
        click.echo(json.dumps(listed, indent=2))
        return
    rows = [("id", "role", "name", "status", "created", "expires", "last used")]
    for t in listed:
        status = t["status"] + (f" {when(t['revoked_at'])} by {t['revoked_by']}" if t["revoked_at"] is not None else "")
        expires = when(t["expires_at"]) if t["expires_at"] is not None else "never"
        used = when(t["last_used_at"]) if t["last_used_at"] is not None else "never"
        rows.append((str(t["id"]), t["role"], t["name"], status, when(t["created_at"]), expires, used))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])


@token.command("revoke")
@db_option
@click.argument("ref", metavar="NAME|ID")
@click.option("--all", "every", is_flag=True, help="Revoke every live token of that name (refused without it when several share it).")
@click.option("--by", "by", metavar="NAME", help="Who revokes it (recorded; default: your login name).")
@storage_errors
def token_revoke(ref: str, every: bool, by: str | None) -> None:
    """Revoke a token, by its name or id: a running daemon refuses it from the next request on.

    The row stays (the audit log names it), marked revoked with who and when.

    \b
    Example:
      policyd token revoke crm
      policyd token revoke 3
    """
    from ..storage import tokens
    from .common import who

    conn = _connect_existing()
    try:
        revoked, before = tokens.revoke(conn, ref, who(by), now=clock.now(), every=every)
    except tokens.TokenError as err:
        raise PolicydError(str(err)) from None
    for t in revoked:
        click.echo(f"token {t['id']} {t['name']!r} (role {t['role']}) revoked; a running daemon refuses it from now on", err=True)
    if not revoked:
        for t in before:
            click.echo(f"token {t['id']} {t['name']!r} was already revoked at {when(t['revoked_at'])}; nothing to do", err=True)


def _connect_existing():
    """The db of this command, which must exist: listing or revoking never creates one."""

    from ..storage.db import connect, exists

    path = current_db()
    if not exists(path):
        raise PolicydError(f"no database at {redact(path)}")
    return connect(path)
