"""The lottery seed commands: commit before the draws, reveal after, list."""

from __future__ import annotations

import click

from .clock import now
from .common import PolicydError, current_db, db_option, echo_json, iso, json_format

period_option = click.option("--period", required=True, metavar="YYYY-Www", help="The ISO week the seed is for, e.g. 2026-W48.")


def seed_call(fn, *args):
    from ..lottery.seeds import SeedError

    try:
        return fn(*args)
    except SeedError as err:
        raise PolicydError(str(err)) from None


@click.group()
def seed() -> None:
    """Commit to a period's lottery seed before drawing, reveal it after.

    \b
    Example:
      policyd seed commit --period 2026-W48     # prints the commitment; the seed stays secret
      policyd seed reveal --period 2026-W48     # after the period: prints the seed
      policyd seed list
    """


@seed.command("commit")
@period_option
@db_option
def seed_commit(period: str) -> None:
    """Make a secret seed for PERIOD and print its SHA-256 commitment.

    PERIOD must not have begun (a seed chosen while its leads arrive could be
    chosen to suit them): commit next week's seed this week. Publish the
    commitment at once. The seed is derived from the seed key (DB.seed-key
    beside the db, or $POLICYD_SEED_KEY), never written into the db, and not
    shown until `policyd seed reveal`.

    \b
    Example:
      policyd seed commit --period 2026-W49     # during 2026-W48 or earlier
    """
    from ..lottery import seeds

    db_path = current_db()

    rec = seed_call(seeds.commit, db_path, period, now())
    click.echo(rec.commitment)
    click.echo(f"committed {period}; publish this commitment now, reveal the seed after the period", err=True)


@seed.command("reveal")
@period_option
@db_option
@click.option("--records", "records_dir", metavar="DIR", help="Also rewrite the record pages of PERIOD in DIR with the seed embedded.")
def seed_reveal(period: str, records_dir: str | None) -> None:
    """Publish PERIOD's seed (refused when it does not match its commitment).

    \b
    Example:
      policyd seed reveal --period 2026-W48 --records out/lottery
    """
    from ..lottery import seeds
    from ..lottery.record import republish

    db_path = current_db()

    rec = seed_call(seeds.reveal, db_path, period, now())
    click.echo(rec.seed)
    click.echo(f"revealed {period}: sha256(seed) = {rec.commitment}", err=True)
    if records_dir:
        try:
            pages = republish(records_dir, period, rec.seed)
        except OSError as err:
            raise PolicydError(f"cannot update the record pages in {records_dir}: {err.strerror}") from None
        for page in pages:
            click.echo(f"updated {page}", err=True)
        if not pages:
            click.echo(f"no record of {period} in {records_dir}", err=True)


@seed.command("list")
@json_format()
@db_option
def seed_list(fmt: str) -> None:
    """Every committed period with its commitment, and its seed once revealed.

    \b
    Example:
      policyd seed list --db policyd.db
      policyd seed list --format json | jq '.[] | select(.seed == null) | .period'
    """
    from ..lottery import seeds

    db_path = current_db()

    found = seed_call(seeds.periods, db_path)
    if fmt == "json":
        echo_json([{**p, "committed_at": iso(p["committed_at"]), "revealed_at": iso(p["revealed_at"])} for p in found])
        return
    for p in found:
        if not p["intact"]:
            state = "TAMPERED: " + p["problem"] if "does not match" in p["problem"] else "UNUSABLE: " + p["problem"]
        elif p["seed"]:
            state = "revealed " + p["seed"]
        else:
            state = "secret" + (" (kept in the database by an earlier release)" if p["in_database"] else "")
        click.echo(f"{p['period']}  {p['commitment']}  {state}")
