"""The lottery commands: verify draws and records, print a record page, run the weekly meeting."""

from __future__ import annotations

import secrets
import sys

import click

from ..engine.state import State
from .common import PolicydError, current_db, db_option, echo_json, json_format, load_policy, load_state
from .seed_cmds import seed_call


@click.group()
def lottery() -> None:
    """Check lottery draws and meeting records.

    \b
    Example:
      policyd lottery verify out/lottery/<id>.html
      policyd assign policies/inbound.policy --lead lead.json --format json > d.json
      policyd lottery verify d.json
    """


@lottery.command("verify")
@click.argument("subject", metavar="DECISION|RECORD")
@click.option("--seed", "seed_value", metavar="SEED", help="The revealed seed (default: from the page, or from the db by period).")
@click.option("--period", metavar="YYYY-Www", help="Verify a decision against this period's revealed seed from the db.")
@click.option("--policy", "policy_ref", metavar="POLICY", help="Also replay a record's leads through POLICY from its starting state.")
@json_format()
@db_option
def lottery_verify(subject: str, seed_value: str | None, period: str | None, policy_ref: str | None, fmt: str) -> None:
    """Recompute every draw of a decision or meeting record; exit 1 on a mismatch.

    A record (its .json or .html page) is checked whole: its id against its
    content, the seed against the commitment, then every entry draw, winner and
    ladder. With --policy, the record's leads are also replayed through the
    policy from its starting state, which catches an edited pool. A decision
    (`policyd assign --format json`, or the daemon's `GET /v1/decisions/<id>`
    answer) has its lottery draws recomputed from --seed, --period, or what it
    names: a period (its revealed seed from the db) or a seed.

    \b
    Example:
      policyd lottery verify out/lottery/<id>.html
      policyd lottery verify out/lottery/<id>.json --policy policies/inbound.policy
      policyd lottery verify decision.json --period 2026-W48
      curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8377/v1/decisions/L-2 > L-2.json
      policyd lottery verify L-2.json --db policyd.db     # once its week is revealed
    """
    from ..lottery import seeds
    from ..lottery.record import RecordError, decision_seed_id, is_period, read_subject, verify_decision, verify_record

    db_path = current_db()

    try:
        kind, data, claimed, embedded = read_subject(subject)
        if kind == "record":
            rec_period = data.get("period")
            if seed_value is not None:
                seed_used, source = seed_value, "--seed"
            elif embedded is not None:
                seed_used, source = embedded, "the page"
            else:
                if not isinstance(rec_period, str):
                    raise PolicydError(f"{subject}: the record names no period; give --seed")
                seed_used, source = seed_call(seeds.revealed_seed, db_path, rec_period), f"the db ({rec_period})"
            v = verify_record(data, seed_used, claimed)
            if policy_ref is not None:
                from ..lottery.distribute import replay_record

                for check in replay_record(data, load_policy(policy_ref).compiled, seed_used):
                    v.add(*check)
        else:
            named = decision_seed_id(data)
            if seed_value is None and period is None and named is not None and is_period(named):
                period = named  # a draw that names its period: the revealed seed is in the db
            if seed_value is not None:
                seed_used, source = seed_value, "--seed"
            elif period is not None:
                seed_used, source = seed_call(seeds.revealed_seed, db_path, period), f"the db ({period})"
            else:
                seed_used, source = None, "the decision"
            v = verify_decision(data, seed_used)
    except RecordError as err:
        raise PolicydError(str(err)) from None
    if fmt == "json":
        checks = [{"subject": c.subject, "what": c.what, "ok": c.ok, "detail": c.detail} for c in v.checks]
        echo_json({"subject": subject, "kind": kind, "ok": v.ok, "draws": v.draws, "seed_from": source, "checks": checks})
        sys.exit(0 if v.ok else 1)
    for chk in v.checks:
        click.echo(f"{'match   ' if chk.ok else 'MISMATCH'}  {chk.subject}  {chk.what}: {chk.detail}")
    if v.ok:
        click.echo(f"match: {v.draws} draw{'s' if v.draws != 1 else ''} recomputed with the seed from {source}")
        return
    click.echo(f"mismatch: {len(v.mismatches)} of {len(v.checks)} checks differ (seed from {source})")
    sys.exit(1)


@lottery.command("page")
@click.argument("record_id", metavar="ID")
@click.option("--dir", "records_dir", metavar="DIR", help="Read the record from DIR/<ID>.json instead of the db.")
@db_option
def lottery_page(record_id: str, records_dir: str | None) -> None:
    """Print the HTML page of a meeting record, as the daemon serves it at /lottery/ID.

    The seed appears once its period is revealed in the db.

    \b
    Example:
      policyd lottery page 3d958c4988084a5148ece6bead4badd4f1fdcaa19290045d997d28a5855b17d8 > record.html
    """
    from ..lottery.record import RecordError, render_record

    try:
        html = render_record(record_id, records_dir or current_db(), seed_db=current_db() if records_dir else None)
    except RecordError as err:
        raise PolicydError(str(err)) from None
    click.echo(html, nl=False)


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """An ISO date or time (UTC unless it says otherwise) as epoch seconds."""
    if value is None:
        return None
    from ..replay.values import parse_time

    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        raise click.BadParameter(f"expected an ISO date or time such as 2017-06-05, got {value!r}") from None


@click.command()
@click.argument("policy")
@click.option(
    "--leads",
    "leads_file",
    required=True,
    metavar="FILE",
    help="The leads: a CSV whose header names lead fields, or any source --map reads.",
)
@click.option("--map", "map_file", metavar="MAP.toml", help="Mapping file, as for `replay` (columns, joins, value maps, arrival).")
@click.option("--since", callback=_day, metavar="DATE", help="Only leads that arrived at or after DATE (needs an arrival time).")
@click.option("--until", callback=_day, metavar="DATE", help="Only leads that arrived before DATE (excluded).")
@click.option("--state", "state_file", metavar="FILE", help="Runtime state before the meeting (open counts, away reps).")
@click.option("--period", metavar="YYYY-Www", help="The ISO week of the meeting, whose committed seed draws (e.g. 2026-W49).")
@click.option("--practice", is_flag=True, help="Rehearse: draw with a fresh seed, shown on the page; the record proves nothing.")
@click.option("--out", "out_dir", default="out/lottery", show_default=True, metavar="DIR", help="Where the record page and JSON go.")
@json_format()
@db_option
def distribute(
    policy: str,
    leads_file: str,
    map_file: str | None,
    since: float | None,
    until: float | None,
    state_file: str | None,
    period: str | None,
    practice: bool,
    out_dir: str,
    fmt: str,
) -> None:
    """Run the weekly meeting: assign a batch of leads, draw the lottery share, write the record.

    The rules place most leads; the lottery step draws with PERIOD's committed
    seed and each draw is drawn as an Amida ladder. The record (`<id>.html` and
    `<id>.json`, id = sha256 of its content) is written to --out and kept in the
    db. Leads are read as `replay` reads them (--map). Refused rows are reported
    and the rest goes on.

    PERIOD is the leads' own week, never a choice: leads with arrival times are
    those that arrived in PERIOD (--since/--until may narrow it), leads without
    are drawn in the week the meeting is held, and a lead already drawn in
    another period is refused. Leads that repeat one prospect under new ids are
    marked in the record. --practice draws with a fresh seed instead (for
    rehearsals and past data): its record says so and proves nothing.

    \b
    Example:
      policyd seed commit --period 2026-W49      # in 2026-W48 or before
      policyd distribute policies/inbound.policy --leads week.csv --period 2026-W49   # in 2026-W49
      policyd distribute policies/maven-crm.policy --leads ../shared/data/maven-crm/sales_pipeline.csv \\
          --map policies/maven-crm.map.toml --since 2017-06-05 --until 2017-06-12 --practice
    """
    from ..lottery import seeds
    from ..lottery.distribute import LeadsFileError, file_info, read_leads, refuse_drawn_elsewhere, run_meeting, summary_lines
    from ..lottery.record import RecordError, store_record, write_record

    db_path = current_db()

    if practice == (period is not None):
        raise PolicydError("give --period (a meeting, drawn with the period's committed seed) or --practice (a rehearsal), not both")
    loaded = load_policy(policy)
    if practice:
        seed = secrets.token_hex(32)
        label, commitment = "practice", seeds.commit_hash(seed)
    else:
        rec = seed_call(seeds.draw_record, db_path, period)
        seed, label, commitment = rec.seed, rec.period, rec.commitment
    state = load_state(state_file) if state_file else State()
    if since is not None and until is not None and since >= until:
        raise PolicydError("--since must be before --until")
    try:
        leads = read_leads(leads_file, loaded.compiled, map_file, since=since, until=until, period=period)
        if not practice:
            refuse_drawn_elsewhere(db_path, label, leads.rows)
    except LeadsFileError as err:
        raise PolicydError(str(err)) from None
    since, until = leads.window
    source = file_info(leads_file, since=since, until=until)
    record, _ = run_meeting(loaded.compiled, leads.rows, state, seed, label, commitment, source)
    if practice:
        record["practice"] = True
    if since is not None or until is not None:
        click.echo(f"{len(leads.rows)} rows in the window, {leads.outside} outside it, {leads.undated} without an arrival time", err=True)
    for lead in record["leads"]:
        if lead["same_prospect_as"]:
            click.echo(
                f"{leads_file}:{lead['line']}: lead {lead['lead_id']} is the same prospect as {lead['same_prospect_as']} (marked in the record)",
                err=True,
            )
    for r in record["refused"]:
        click.echo(f"{leads_file}:{r['line']}: refused: {'; '.join(r['errors'])}", err=True)
    if fmt == "text":
        for line in summary_lines(record):
            click.echo(line)
    try:
        rid, page = write_record(record, out_dir, seed if practice else None)
        if not practice:
            store_record(db_path, record)
    except OSError as err:
        raise PolicydError(f"cannot write the record to {out_dir}: {err.strerror}") from None
    except RecordError as err:
        raise PolicydError(str(err)) from None
    t = record["totals"]
    click.echo(f"{t['by_rules']} by rules, {t['by_lottery']} by lottery, {t['queued']} queued, {t['refused']} refused", err=True)
    if fmt == "json":
        echo_json({"id": rid, "page": str(page), "json": str(page.with_suffix(".json")), "record": record})
    else:
        click.echo(f"record {rid}")
    click.echo(f"wrote {page} and {page.with_suffix('.json')}", err=True)
    if practice:
        click.echo("a practice record: its seed was made for this run and is on the page, so it proves nothing", err=True)
