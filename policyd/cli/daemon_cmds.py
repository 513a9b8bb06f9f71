"""The daemon commands: serve, its tokens and its audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import PolicydError, current_db, db_option


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
def serve(
    host: str,
    port: int,
    sla_interval: float,
    access_log: bool,
    header_timeout: float,
    body_timeout: float,
    keep_alive: float,
    max_connections: int,
) -> None:
    """Serve the active stored version over HTTP (JSON API under /v1, pages).

    `policyd activate` in another shell takes effect for the next decision,
    without a restart. Every endpoint but /v1/health needs a token. Slow or idle
    clients cannot hold the server: see the timeouts and docs/security.md.

    \b
    Example:
      policyd publish policies/inbound.policy -m "first version"
      policyd activate @1
      policyd token create --role assign --name crm
      policyd serve --port 8377
    """
    from ..web.serve import Limits, run

    for name, value in (("--sla-interval", sla_interval), ("--header-timeout", header_timeout), ("--body-timeout", body_timeout)):
        if not value > 0:
            raise PolicydError(f"{name} must be more than 0")
    if keep_alive < 0 or max_connections < 1:
        raise PolicydError("--keep-alive must be 0 or more, --max-connections 1 or more")
    try:
        run(current_db(), host, port, sla_interval, access_log, Limits(header_timeout, body_timeout, keep_alive, max_connections))
    except OSError as err:
        raise PolicydError(f"cannot listen on {host}:{port}: {err.strerror}") from None


@click.group()
def token() -> None:
    """Bearer tokens for the daemon (roles: read < assign < admin).

    \b
    Example:
      policyd token create --role assign --name crm
      policyd token list
    """


@token.command("create")
@db_option
@click.option(
    "--role",
    required=True,
    type=click.Choice(["read", "assign", "admin"]),
    help="read: dashboards; assign: CRM clients; admin: overrides, availability, activation.",
)
@click.option("--name", required=True, help="Who or what uses the token (shown in the audit log).")
def token_create(role: str, name: str) -> None:
    """Create a token and print it once (only its sha256 is stored).

    \b
    Example:
      TOKEN=$(policyd token create --role assign --name crm)
    """
    import time

    from ..daemon.runtime import connect
    from ..storage import audit, tokens

    conn = connect(current_db())
    try:
        secret = tokens.create(conn, name, role)
    except tokens.TokenError as err:
        raise PolicydError(str(err)) from None
    audit.append_one(conn, time.time(), "token_create", "cli", {"name": name, "role": role})
    click.echo(secret)
    click.echo(f"token {name!r} (role {role}) created; it is shown only this once", err=True)


@token.command("list")
@db_option
def token_list() -> None:
    """List tokens (names and roles; the tokens themselves are not stored).

    \b
    Example:
      policyd token list
    """
    from ..daemon.runtime import connect
    from ..storage import tokens

    for t in tokens.listing(connect(current_db())):
        click.echo(f"{t['id']}\t{t['role']}\t{t['name']}")


@click.group("audit")
def audit_cmd() -> None:
    """The hash-chained audit log of the daemon.

    \b
    Example:
      policyd audit verify
      policyd audit export > audit.jsonl
    """


@audit_cmd.command("verify")
@db_option
def audit_verify() -> None:
    """Check the chain; name every edited, deleted or reordered record (exit 1).

    \b
    Example:
      policyd audit verify --db policyd.db
    """
    from ..daemon.runtime import connect
    from ..storage import audit

    path = _existing_db()
    n, problems = audit.verify(connect(path))
    for p in problems:
        click.echo(f"{path}: {p.message}", err=True)
    if problems:
        raise PolicydError(f"audit log is not intact: {len(problems)} problem{'s' if len(problems) != 1 else ''} in {n} records")
    click.echo(f"{path}: {n} records, chain intact", err=True)


@audit_cmd.command("export")
@db_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file instead of stdout.")
def audit_export(output: str | None) -> None:
    """Write the audit log as JSON Lines (one record a line, in order).

    \b
    Example:
      policyd audit export | jq -c 'select(.kind == "override")'
    """
    from ..daemon.runtime import connect
    from ..storage import audit

    path = _existing_db()
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        for r in audit.records(connect(path)):
            out.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    finally:
        if output:
            out.close()


def _existing_db() -> str:
    """The db the audit commands read; reading never creates one."""
    path = current_db()
    if not Path(path).exists():
        raise PolicydError(f"no database at {path}")
    return path
