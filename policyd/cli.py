"""The `policyd` command line: thin click commands over library calls.

Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 an error (bad
policy, refused lead, failing example), 2 usage, 3 changes found (`--exit-code`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .diagnostics import PolicyError, format_all, summary
from .leads import LeadError
from .state import State, StateError


class PolicydError(click.ClickException):
    """A user-facing error: printed without a traceback, exit 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"policyd: {self.message}", err=True)


def _print_diagnostics(diags, sources) -> None:
    if diags:
        click.echo(format_all(diags, sources), err=True)


def load_policy(ref: str, *, allow_errors: bool = False):
    """Load a policy; print its diagnostics and stop when it has errors."""
    try:
        loaded = _resolve(ref)
    except PolicyError as err:
        _print_diagnostics(err.diagnostics, err.sources)
        raise PolicydError(f"{ref}: cannot be parsed") from None
    if loaded.errors and not allow_errors:
        _print_diagnostics(loaded.diagnostics, loaded.sources)
        raise PolicydError(f"{ref}: {summary(loaded.diagnostics)}; fix the errors first")
    return loaded


def _resolve(ref: str):
    """A policy by file path. (Stored versions and git revisions: see refs.py once it exists.)"""
    from .load import load_path

    return load_path(ref)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="policyd")
def main() -> None:
    """policyd: fair lead distribution, written as code.

    Write the policy in a .policy file, check it, run its examples, and ask who
    gets a lead and why:

    \b
      policyd check policies/inbound.policy
      policyd test policies/inbound.policy
      policyd assign policies/inbound.policy --lead lead.json
    """


@main.command()
@click.argument("policy")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diagnostics as gcc-style text or JSON for editors and CI.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def check(policy: str, fmt: str, strict: bool) -> None:
    """Check a policy for errors and warnings.

    Exits 1 when there are errors (or warnings with --strict), 0 otherwise.

    \b
    Example:
      policyd check policies/inbound.policy
      policyd check policies/inbound.policy --format json | jq '.[].code'
    """
    try:
        loaded = _resolve(policy)
        diags, sources = loaded.diagnostics, loaded.sources
    except PolicyError as err:
        diags, sources = err.diagnostics, err.sources
    if fmt == "json":
        from .diagnostics import sort_key

        click.echo(json.dumps([d.to_json() for d in sorted(diags, key=sort_key)], indent=2))
    else:
        _print_diagnostics(diags, sources)
        click.echo(f"{policy}: {summary(diags)}", err=True)
    failing = any(d.is_error for d in diags) or (strict and any(d.severity == "warning" for d in diags))
    sys.exit(1 if failing else 0)


def _read_json(source: str, what: str):
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise PolicydError(f"cannot read {what} {source}: {err.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PolicydError(f"{source}:{err.lineno}:{err.colno}: {what} is not valid JSON: {err.msg}") from None


@main.command()
@click.argument("policy")
@click.option("--lead", "lead_file", required=True, help="The lead as a JSON object, from a file or - for stdin.")
@click.option("--state", "state_file", help="Runtime state as JSON (open counts, away reps, cursors).")
@click.option("--seed", default="policyd", show_default=True, help="Lottery seed: the same seed gives the same draw.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]), default="text", show_default=True)
@click.option("--why-not", "why_not", metavar="REP", help="Also say why REP did not get the lead.")
@click.option("--no-lottery", is_flag=True, help="Skip lottery steps (as examples do by default).")
def assign(policy: str, lead_file: str, state_file: str | None, seed: str, fmt: str, why_not: str | None, no_lottery: bool) -> None:
    """Decide who gets one lead, and explain it line by line.

    \b
    Example:
      echo '{"id": "L-9", "company": "Acme", "employees": 1500, "budget": "stated",
             "authority": "decision_maker", "industry": "it", "segment": "enterprise",
             "country": "US"}' | policyd assign policies/inbound.policy --lead - --why-not erin
    """
    from .explain import render

    loaded = load_policy(policy)
    lead = _read_json(lead_file, "lead")
    state = State()
    if state_file:
        try:
            state = State.load(state_file)
        except StateError as err:
            raise PolicydError(str(err)) from None
    try:
        decision = loaded.compiled.decide(lead, state, seed, lottery=not no_lottery)
    except LeadError as err:
        for e in err.errors:
            click.echo(f"{lead_file}: {e.message}", err=True)
        raise PolicydError(f"the lead was refused ({len(err.errors)} problem{'s' if len(err.errors) != 1 else ''})") from None
    if why_not is not None and why_not not in loaded.compiled.rep_index:
        from .diagnostics import did_you_mean

        guess = did_you_mean(why_not, loaded.compiled.rep_names)
        raise PolicydError(f"--why-not {why_not}: no such rep" + (f"; did you mean {guess}?" if guess else ""))
    click.echo(render(loaded.compiled, decision, fmt, why_not), nl=False)


@main.command("test")
@click.argument("policy")
@click.option("-v", "--verbose", is_flag=True, help="Print the explanation of every example, not only failures.")
def test_cmd(policy: str, verbose: bool) -> None:
    """Run the policy's `example` blocks; exit 1 when one fails.

    A failing example prints what it expected and the explanation of the decision
    it got.

    \b
    Example:
      policyd test policies/inbound.policy
    """
    from .examples import run_examples

    loaded = load_policy(policy)
    results = run_examples(loaded.compiled)
    failed = 0
    for r in results:
        if r.ok:
            click.echo(f"PASS  {r.name}")
        else:
            failed += 1
            click.echo(f"FAIL  {r.name}  ({loaded.policy.file}:{r.line})")
            for problem in r.problems:
                click.echo(f"      {problem}")
        if (not r.ok or verbose) and r.explanation:
            click.echo("")
            click.echo("      " + r.explanation.rstrip("\n").replace("\n", "\n      "))
            click.echo("")
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if not results:
        click.echo(f"{policy}: no examples to run", err=True)
    sys.exit(1 if failed else 0)


# ---- lottery commands (seed, lottery, distribute)

_db_option = click.option(
    "--db",
    "db_path",
    envvar="POLICYD_DB",
    default=None,
    metavar="FILE",
    help="The store's SQLite file (default: $POLICYD_DB or policyd.db).",
)
_period_option = click.option("--period", required=True, metavar="YYYY-Www", help="The ISO week the seed is for, e.g. 2026-W48.")


def _seed_call(fn, *args):
    from .seeds import SeedError

    try:
        return fn(*args)
    except SeedError as err:
        raise PolicydError(str(err)) from None


@main.group()
def seed() -> None:
    """Commit to a period's lottery seed before drawing, reveal it after.

    \b
    Example:
      policyd seed commit --period 2026-W48     # prints the commitment; the seed stays secret
      policyd seed reveal --period 2026-W48     # after the period: prints the seed
      policyd seed list
    """


@seed.command("commit")
@_period_option
@_db_option
def seed_commit(period: str, db_path: str | None) -> None:
    """Make a secret seed for PERIOD and print its SHA-256 commitment.

    Publish the commitment before any lead of the period is drawn. The seed is
    stored in the db and not shown until `policyd seed reveal`.

    \b
    Example:
      policyd seed commit --period 2026-W48
    """
    from . import seeds

    rec = _seed_call(seeds.commit, db_path, period)
    click.echo(rec.commitment)
    click.echo(f"committed {period}; publish this commitment now, reveal the seed after the period", err=True)


@seed.command("reveal")
@_period_option
@_db_option
@click.option("--records", "records_dir", metavar="DIR", help="Also rewrite the record pages of PERIOD in DIR with the seed embedded.")
def seed_reveal(period: str, db_path: str | None, records_dir: str | None) -> None:
    """Publish PERIOD's seed (refused when it does not match its commitment).

    \b
    Example:
      policyd seed reveal --period 2026-W48 --records out/lottery
    """
    from . import seeds
    from .lottery import republish

    rec = _seed_call(seeds.reveal, db_path, period)
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
@_db_option
def seed_list(db_path: str | None) -> None:
    """Every committed period with its commitment, and its seed once revealed.

    \b
    Example:
      policyd seed list --db policyd.db
    """
    from . import seeds

    for p in _seed_call(seeds.periods, db_path):
        state = "TAMPERED" if not p["intact"] else ("revealed " + p["seed"] if p["seed"] else "secret")
        click.echo(f"{p['period']}  {p['commitment']}  {state}")


@main.group()
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
@_db_option
def lottery_verify(subject: str, seed_value: str | None, period: str | None, policy_ref: str | None, db_path: str | None) -> None:
    """Recompute every draw of a decision or meeting record; exit 1 on a mismatch.

    A record (its .json or .html page) is checked whole: its id against its
    content, the seed against the commitment, then every entry draw, winner and
    ladder. With --policy, the record's leads are also replayed through the
    policy from its starting state, which catches an edited pool. A decision
    (`policyd assign --format json`) has its lottery draws recomputed from
    --seed, --period, or the seed it names.

    \b
    Example:
      policyd lottery verify out/lottery/<id>.html
      policyd lottery verify out/lottery/<id>.json --policy policies/inbound.policy
      policyd lottery verify decision.json --period 2026-W48
    """
    from . import seeds
    from .lottery import RecordError, decision_seed_id, is_period, read_subject, verify_decision, verify_record

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
                seed_used, source = _seed_call(seeds.revealed_seed, db_path, rec_period), f"the db ({rec_period})"
            v = verify_record(data, seed_used, claimed)
            if policy_ref is not None:
                from .distribute import replay_record

                for check in replay_record(data, load_policy(policy_ref).compiled, seed_used):
                    v.add(*check)
        else:
            named = decision_seed_id(data)
            if seed_value is None and period is None and named is not None and is_period(named):
                period = named  # a draw that names its period: the revealed seed is in the db
            if seed_value is not None:
                seed_used, source = seed_value, "--seed"
            elif period is not None:
                seed_used, source = _seed_call(seeds.revealed_seed, db_path, period), f"the db ({period})"
            else:
                seed_used, source = None, "the decision"
            v = verify_decision(data, seed_used)
    except RecordError as err:
        raise PolicydError(str(err)) from None
    for chk in v.checks:
        click.echo(f"{'match   ' if chk.ok else 'MISMATCH'}  {chk.subject}  {chk.what}: {chk.detail}")
    if v.ok:
        click.echo(f"match: {v.draws} draw{'s' if v.draws != 1 else ''} recomputed with the seed from {source}")
        return
    click.echo(f"mismatch: {len(v.mismatches)} of {len(v.checks)} checks differ (seed from {source})")
    sys.exit(1)


@main.command()
@click.argument("policy")
@click.option("--leads", "leads_file", required=True, metavar="WEEK.csv", help="The week's leads: a CSV whose header names lead fields.")
@click.option("--map", "map_file", metavar="MAP", help="JSON object of lead field -> CSV column, for exports with other column names.")
@click.option("--state", "state_file", metavar="FILE", help="Runtime state before the meeting (open counts, away reps).")
@_period_option
@click.option("--out", "out_dir", default="out/lottery", show_default=True, metavar="DIR", help="Where the record page and JSON go.")
@_db_option
def distribute(
    policy: str, leads_file: str, map_file: str | None, state_file: str | None, period: str, out_dir: str, db_path: str | None
) -> None:
    """Run the weekly meeting: assign a batch of leads, draw the lottery share, write the record.

    The rules place most leads; the lottery step draws with PERIOD's committed
    seed and each draw is drawn as an Amida ladder. The record (`<id>.html`
    and `<id>.json`, id = sha256 of its content) is written to --out and kept in
    the db. Refused rows are reported and the rest goes on.

    \b
    Example:
      policyd seed commit --period 2026-W48
      policyd distribute policies/inbound.policy --leads policies/leads/week-2026-W48.csv --period 2026-W48
    """
    from . import seeds
    from .distribute import LeadsFileError, file_info, load_map, read_leads, run_meeting, summary_lines
    from .lottery import RecordError, store_record, write_record

    loaded = load_policy(policy)
    rec = _seed_call(seeds.get, db_path, period)
    if rec is None:
        raise PolicydError(f"no seed committed for {period}; run `policyd seed commit --period {period}` and publish the commitment first")
    if rec.revealed:
        raise PolicydError(f"the seed for {period} is already revealed, so its draws could be steered; commit a seed for a new period")
    state = State()
    if state_file:
        try:
            state = State.load(state_file)
        except StateError as err:
            raise PolicydError(str(err)) from None
    try:
        mapping = load_map(map_file) if map_file else None
        rows = read_leads(leads_file, loaded.compiled, mapping)
    except LeadsFileError as err:
        raise PolicydError(str(err)) from None
    record, _ = run_meeting(loaded.compiled, rows, state, rec.seed, period, rec.commitment, file_info(leads_file))
    for r in record["refused"]:
        click.echo(f"{leads_file}:{r['line']}: refused: {'; '.join(r['errors'])}", err=True)
    for line in summary_lines(record):
        click.echo(line)
    try:
        rid, page = write_record(record, out_dir)
        store_record(db_path, record)
    except OSError as err:
        raise PolicydError(f"cannot write the record to {out_dir}: {err.strerror}") from None
    except RecordError as err:
        raise PolicydError(str(err)) from None
    t = record["totals"]
    click.echo(f"{t['by_rules']} by rules, {t['by_lottery']} by lottery, {t['queued']} queued, {t['refused']} refused", err=True)
    click.echo(f"record {rid}")
    click.echo(f"wrote {page} and {page.with_suffix('.json')}", err=True)
