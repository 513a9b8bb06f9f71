"""Replay past leads through a policy (replay), or through two and compare them (review)."""

from __future__ import annotations

import sys

import click

from .common import PolicydError, db_option, load_policy, load_state, write_report


def _replay_options(f):
    """The options `replay` and `review` share: where the history is and how to replay it."""
    opts = [
        click.option("--leads", "leads_file", required=True, help="Lead history: CSV, JSON Lines (.jsonl) or SQLite (.db, with --table)."),
        click.option("--map", "map_file", help="Mapping file (TOML): source columns to lead fields, arrival, assignee, outcome."),
        click.option("--table", help="SQLite table holding the history (else [source] table of the mapping)."),
        click.option("--state", "state_file", help="Runtime state to start from (JSON), e.g. leads already open."),
        click.option("--seed", default="policyd", show_default=True, help="Lottery seed; the same seed gives the same draws."),
        click.option(
            "--hold", "hold_days", type=click.FloatRange(min=0), help="Days a lead stays open when the history has no close time."
        ),
        click.option(
            "--sort",
            "sort_rows",
            is_flag=True,
            help="Sort the history by arrival first, on disk in bounded memory (default: stream it, in order).",
        ),
        click.option("--rejects", "rejects_file", help="Write rejected rows with their reasons (CSV, or JSON Lines for .jsonl)."),
        click.option("--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True),
        click.option("--html", "html_file", help="Also write a self-contained HTML report with charts to this file."),
        click.option("--no-lottery", is_flag=True, help="Skip lottery steps (isolates the rules from the draw)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
        click.option(
            "--as-of",
            "as_of",
            metavar="TIME",
            help="Read `@active` (or `NAME@active`) as the version active at TIME, or scheduled to be (ISO 8601 or a date).",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _run_replay(refs, labels, o, sample: int = 0) -> None:
    from ..replay.records import HistoryError, MappingError
    from ..replay.replay import OrderError
    from ..replay.review import render_report, run_report

    if o.get("as_of"):
        from .governance_cmds import as_of_refs

        refs = as_of_refs(refs, o["as_of"])
    policies = [(label, ref, load_policy(ref).compiled) for label, ref in zip(labels, refs)]
    state = load_state(o["state_file"]) if o["state_file"] else None

    def progress(total):
        """A progress bar on stderr for long runs (20,000 rows or more)."""
        if o["quiet"] or total is None or total < 20000:
            return None
        bar = click.progressbar(length=total, label="replaying", file=sys.stderr)

        class _Bar:
            def __enter__(self):
                return bar.__enter__().update

            def __exit__(self, *exc):
                return bar.__exit__(*exc)

        return _Bar()

    try:
        report = run_report(
            policies,
            o["leads_file"],
            o["map_file"],
            seed=o["seed"],
            hold_days=o["hold_days"],
            state=state,
            lottery=not o["no_lottery"],
            sort=o["sort_rows"],
            sample=sample,
            table=o["table"],
            rejects_file=o["rejects_file"],
            progress=progress,
        )
    except (MappingError, HistoryError, OrderError) as err:
        raise PolicydError(str(err)) from None
    click.echo(render_report(report, o["fmt"]), nl=False)
    if o["html_file"]:
        write_report(o["html_file"], render_report(report, "html"))
    i = report["input"]
    msg = f"{i['read']} rows read, {i['replayed']} replayed, {i['rejected']} rejected"
    if o["rejects_file"]:
        msg += f" (written to {o['rejects_file']})"
    click.echo(msg, err=True)
    for w in report["warnings"]:
        click.echo(f"warning: {w['text']}", err=True)
    if not i["replayed"]:
        raise PolicydError("nothing was replayed")
    return report, refs


@click.command()
@click.argument("policy", nargs=-1, required=True, metavar="POLICY")
@click.option("--door", "door_file", metavar="FILE", help="A front door: split the leads among the team POLICYs, one state per team.")
@_replay_options
@db_option
def replay(policy: tuple[str, ...], door_file: str | None, **o) -> None:
    """Replay past leads through POLICY: who would have got what, and how fair it was.

    Leads are taken in arrival order; each assignment opens a lead, which closes at
    its recorded close time (or after --hold days). Rows that cannot be mapped or
    that the policy's schema refuses are counted, listed and skipped.

    \b
    Example:
      policyd replay policies/maven-crm.policy \\
          --leads ../shared/data/maven-crm/sales_pipeline.csv \\
          --map policies/maven-crm.map.toml --hold 90 --rejects out/rejects.csv
      policyd replay --door policies/maven/door.policy policies/maven/{central,east,west}.policy \\
          --leads ../shared/data/maven-crm/sales_pipeline.csv --map policies/maven/maven.map.toml --hold 90
    """
    if door_file is not None:
        from .door_cmds import replay_org

        replay_org(door_file, policy, o)
        return
    if len(policy) != 1:
        raise click.UsageError("give one POLICY (several only with --door)")
    _run_replay([policy[0]], ["replay"], o)


@click.command()
@click.argument("old")
@click.argument("new")
@_replay_options
@db_option
@click.option("--sample", default=2, show_default=True, type=click.IntRange(min=0), help="Moved leads to explain side by side.")
@click.option("--record", is_flag=True, help="Record this as the review of OLD (a stored version): its `review every` period starts again.")
@click.option("--by", help="Who reviewed, with --record [default: your login name].")
def review(old: str, new: str, sample: int, record: bool, by: str | None, **o) -> None:
    """Replay OLD and NEW on the same leads with the same seed, and compare.

    Shows the leads that moved (a flip matrix and explained samples), per-rep
    counts by tier, fairness figures, lottery shares, exceptions, queues,
    agreement with history and, when outcomes exist, conversion by tier and score.

    \b
    Example:
      policyd review policies/maven-crm.policy policies/maven-crm-v2.policy \\
          --leads ../shared/data/maven-crm/sales_pipeline.csv \\
          --map policies/maven-crm.map.toml --hold 90 --format md --html out/review.html
      policyd review inbound@active policies/inbound.policy --leads leads.csv --map inbound.map.toml \\
          --record --by lee     # the quarterly review of the version in force, recorded
    """
    if record:
        from .governance_cmds import check_recordable

        check_recordable(old)
    report, refs = _run_replay([old, new], ["old", "new"], o, sample=sample)
    if record:
        from .governance_cmds import record_review

        record_review(refs[0], by, report, o.get("as_of"))
