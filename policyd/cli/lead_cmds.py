"""Leads held in the daemon's database, handled while no daemon serves it."""

from __future__ import annotations

import getpass

import click

from .common import PolicydError, current_db, db_option
from .db_errors import storage_errors


@click.group()
def lead() -> None:
    """Act on a decided lead while the daemon is stopped (the API does it while it runs).

    \b
    Example:
      policyd lead list --unreachable --db policyd.db
      policyd lead close "a/b" --outcome lost --db policyd.db
    """


@lead.command("close")
@click.argument("lead_id", metavar="ID")
@click.option("--outcome", type=click.Choice(["won", "lost"]), required=True, help="How the lead ended.")
@db_option
@storage_errors
def lead_close(lead_id: str, outcome: str) -> None:
    """Close lead ID and free its rep's place, through the daemon's own transition.

    For a lead no URL can name (an id such as "a/b" or "", taken by releases before
    lead ids had a safe alphabet): the daemon cannot be asked, so this runs the same
    close on the database, holding the daemon's lease (refused while a daemon
    serves it) and writing the close into the audit log.

    \b
    Example:
      policyd lead close "a/b" --outcome lost --db policyd.db
    """
    from ..daemon.runtime import Runtime
    from ..storage.errors import DomainError

    rt = Runtime(current_db())
    rt.start()  # LeaseHeld, naming the serving daemon, when one runs
    try:
        row = rt.close_lead(lead_id, outcome, f"cli:{getpass.getuser()}").result(timeout=60)
    except DomainError as err:
        raise PolicydError(str(err)) from None
    finally:
        rt.stop()
    click.echo(f"closed {lead_id!r} ({outcome}); {row['holder'] or 'no rep'} has a place free again")


@lead.command("list")
@click.option("--unreachable", is_flag=True, required=True, help="Open leads whose id no URL can name.")
@db_option
@storage_errors
def lead_list(unreachable: bool) -> None:
    """List open leads whose id no URL can name (close each with `policyd lead close`).

    \b
    Example:
      policyd lead list --unreachable --db policyd.db
    """
    from ..daemon import rows
    from ..storage.db import connect

    conn = connect(current_db())
    try:
        found = rows.unreachable(conn)
    finally:
        conn.close()
    for r in found:
        click.echo(f"{r['lead_id']!r}  {r['status']}  {r['holder'] or '-'}")
    click.echo(f"{len(found)} open lead{'s' if len(found) != 1 else ''} no URL can name", err=True)
