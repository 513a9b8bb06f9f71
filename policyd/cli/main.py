"""The `policyd` command line: thin click commands over library calls.

Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 an error (bad
policy, refused lead, failing example), 2 usage, 3 changes found (`--exit-code`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..engine.decide import decide
from ..engine.schema import LeadError
from ..engine.state import State, StateError
from ..lang.diagnostics import PolicyError, format_all, summary


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
    """A policy by ref: a file path, a stored version (@3, @active) or a git revision (REV:PATH); see refs.py."""
    from ..storage.refs import RefError, load_ref

    try:
        return load_ref(ref, _db_path())
    except RefError as err:
        raise PolicydError(str(err)) from None


def _db_path() -> str:
    """The store named by --db on this command line, else POLICYD_DB, else ./policyd.db."""
    from ..storage.store import default_db_path

    ctx = click.get_current_context(silent=True)
    return (ctx.meta.get("policyd.db") if ctx is not None else None) or default_db_path()


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
@click.argument("policies", metavar="POLICY...", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diagnostics as gcc-style text or JSON (one list, with counterexamples) for editors and CI.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def check(policies: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Check policies for errors, warnings and notes (see docs/diagnostics.md).

    Exits 1 when there are errors (or warnings with --strict), 0 otherwise; notes
    never fail. Several files can be checked at once (as pre-commit does).

    \b
    Example:
      policyd check policies/inbound.policy
      policyd check policies/inbound.policy --format json | jq '.[].code'
    """
    from ..lang.diagnostics import sort_key

    everything = []
    for policy in policies:
        kind = ""
        try:
            loaded = _resolve(policy)
            diags, sources = loaded.diagnostics, loaded.sources
            if _is_team_file(loaded.policy):  # a `team from` file: its own checks, no missing-block errors
                diags, kind = [d for d in diags if d.code != "S001"], "team file; "
        except PolicyError as err:
            diags, sources = err.diagnostics, err.sources
        everything.extend(diags)
        if fmt == "text":
            _print_diagnostics(diags, sources)
            click.echo(f"{policy}: {kind}{summary(diags)}", err=True)
    if fmt == "json":
        click.echo(json.dumps([d.to_json() for d in sorted(everything, key=sort_key)], indent=2))
    failing = any(d.is_error for d in everything) or (strict and any(d.severity == "warning" for d in everything))
    sys.exit(1 if failing else 0)


def _is_team_file(policy) -> bool:
    """A file holding only a `team { ... }` block, as loaded by `team from`."""
    p = policy
    return p.team is not None and not (p.info or p.fields or p.scores or p.tiers or p.exceptions or p.routes or p.sla or p.examples)


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
    from ..explain.explain import render

    loaded = load_policy(policy)
    lead = _read_json(lead_file, "lead")
    state = State()
    if state_file:
        try:
            state = State.load(state_file)
        except StateError as err:
            raise PolicydError(str(err)) from None
    try:
        decision = decide(loaded.compiled, lead, state, seed, lottery=not no_lottery)
    except LeadError as err:
        for e in err.errors:
            click.echo(f"{lead_file}: {e.message}", err=True)
        raise PolicydError(f"the lead was refused ({len(err.errors)} problem{'s' if len(err.errors) != 1 else ''})") from None
    if why_not is not None and why_not not in loaded.compiled.rep_index:
        from ..lang.diagnostics import did_you_mean

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
    from ..explain.examples import run_examples

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


# ---- store and diff commands
def _remember_db(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        ctx.meta["policyd.db"] = value
    return value


def db_option(f):
    """`--db FILE` (or POLICYD_DB): the policy store, for @N refs and the store commands."""
    return click.option(
        "--db",
        metavar="FILE",
        envvar="POLICYD_DB",
        expose_value=False,
        is_eager=True,
        callback=_remember_db,
        help="The policy store [default: ./policyd.db, or $POLICYD_DB].",
    )(f)


for _cmd in (check, assign, test_cmd):  # every command that takes a policy takes @N refs too
    db_option(_cmd.callback)
    _cmd.params.append(_cmd.callback.__click_params__.pop())


def _store(create: bool = False):
    """The store for this command; only `publish` may create the file."""
    from ..storage.refs import RefError, open_store
    from ..storage.store import Store, StoreError

    path = _db_path()
    try:
        return Store(path) if create else open_store(path)
    except (RefError, StoreError) as err:
        raise PolicydError(str(err)) from None


def _who(name: str | None) -> str:
    if name:
        return name
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _when(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _version_line(v, active: int | None) -> str:
    mark = "  (active)" if v.number == active else ""
    return f"@{v.number}  {_when(v.created_at)}  {v.short_hash}  {v.author}: {v.message}{mark}"


@main.command()
@click.argument("policy")
@click.option("-m", "--message", required=True, help="Why this version: shown in `policyd versions`.")
@click.option("--author", help="Who publishes it [default: your login name].")
@db_option
def publish(policy: str, message: str, author: str | None) -> None:
    """Store a policy (with its `team from` files) as the next version.

    A policy with check errors is refused (the errors are printed). Content
    identical to the latest version stores nothing. Publishing does not make the
    version active: run `policyd activate @N`.

    \b
    Example:
      policyd publish policies/inbound.policy -m "lottery 30% -> 25%" --author dana
      policyd publish main:policies/inbound.policy -m "as merged"
    """
    from ..storage.refs import RefError, read_bundle
    from ..storage.store import StoreError

    loaded = load_policy(policy)
    _print_diagnostics(loaded.warnings, loaded.sources)  # published anyway, but seen
    try:
        bundle = read_bundle(policy, _db_path())
    except RefError as err:
        raise PolicydError(str(err)) from None
    store = _store(create=True)
    try:
        v, created = store.publish(bundle.main_file, bundle.files, message, _who(author))
    except StoreError as err:
        raise PolicydError(str(err)) from None
    if not created:
        click.echo(f"{policy}: identical to the latest version @{v.number}; nothing stored", err=True)
    else:
        same = store.find_hash(v.hash)
        again = f" (same content as @{same.number})" if same is not None and same.number != v.number else ""
        click.echo(f"{policy}: published as @{v.number}{again}; {summary(loaded.diagnostics)}", err=True)
    click.echo(f"@{v.number}")


@main.command()
@click.option("--activations", is_flag=True, help="Show the activation log (who made which version active, when) instead.")
@db_option
def versions(activations: bool) -> None:
    """List stored versions, newest first (the active one is marked).

    \b
    Example:
      policyd versions
      policyd versions --activations
    """
    store = _store()
    active = store.active()
    if activations:
        for a in store.activation_log():
            what = "rolled back to" if a.action == "rollback" else "activated"
            before = f" (was @{a.previous})" if a.previous is not None else ""
            click.echo(f"{_when(a.at)}  {a.by} {what} @{a.number}{before}")
        return
    for v in store.versions():
        click.echo(_version_line(v, active.number if active else None))


@main.command()
@click.argument("ref")
@click.option("--raw", is_flag=True, help="Print only the policy file's text (for piping).")
@db_option
def show(ref: str, raw: bool) -> None:
    """Show a policy by ref: a stored version's details and files.

    Works for any ref: @N, @active, @previous, a git revision or a file.

    \b
    Example:
      policyd show @active
      policyd show @3 --raw > inbound.policy
    """
    from ..storage.refs import RefError, kind_of, read_bundle

    try:
        bundle = read_bundle(ref, _db_path())
    except RefError as err:
        raise PolicydError(str(err)) from None
    if raw:
        click.echo(bundle.files[bundle.main_file], nl=False)
        return
    if kind_of(ref) == "version":
        store = _store()
        v = store.get(bundle.label)
        active = store.active()
        acts = [a for a in store.activation_log() if a.number == v.number]
        click.echo(f"version  @{v.number}" + ("  (active)" if active and active.number == v.number else ""))
        click.echo(f"hash     {v.hash}")
        click.echo(f"parent   {'@' + str(v.parent) if v.parent else 'none'}")
        click.echo(f"author   {v.author}")
        click.echo(f"date     {_when(v.created_at)}")
        click.echo(f"message  {v.message}")
        for a in reversed(acts):
            click.echo(f"{'activated' if a.action == 'activate' else 'restored':10}{_when(a.at)} by {a.by}")
    else:
        click.echo(f"ref      {bundle.label} ({bundle.kind})")
    for name in [bundle.main_file] + sorted(n for n in bundle.files if n != bundle.main_file):
        click.echo(f"\n==> {name} <==")
        click.echo(bundle.files[name], nl=False)


@main.command()
@click.argument("ref")
@click.option("--by", help="Who activates it [default: your login name].")
@db_option
def activate(ref: str, by: str | None) -> None:
    """Make a stored version the active one (recorded with who and when).

    \b
    Example:
      policyd activate @3 --by dana
    """
    from ..storage.store import StoreError

    store = _store()
    try:
        before = store.active()
        v = store.activate(ref, _who(by))
    except StoreError as err:
        raise PolicydError(str(err)) from None
    if before is not None and before.number == v.number:
        click.echo(f"@{v.number} is already active; nothing recorded", err=True)
    else:
        was = f" (was @{before.number})" if before else ""
        click.echo(f"@{v.number} is now active{was}", err=True)
    click.echo(f"@{v.number}")


@main.command()
@click.option("--by", help="Who rolls back [default: your login name].")
@db_option
def rollback(by: str | None) -> None:
    """Go back to the previously active version (recorded like an activation).

    Rolling back twice goes back two activations, not forth again.

    \b
    Example:
      policyd rollback --by dana
    """
    from ..storage.store import StoreError

    store = _store()
    try:
        before, v = store.rollback(_who(by))
    except StoreError as err:
        raise PolicydError(str(err)) from None
    click.echo(f"rolled back from @{before.number} to @{v.number}", err=True)
    click.echo(f"@{v.number}")


@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 3 when there are changes in meaning (as `git diff --exit-code`).")
@click.option("--no-impact", is_flag=True, help="Only the changes, not what they do to leads.")
@db_option
def diff(old: str, new: str, fmt: str, exit_code: bool, no_impact: bool) -> None:
    """Say what changed between two policies, in the rules' own terms.

    One line per change with both values and its line, then the impact computed
    from the rules alone: totals that change tier, kinds of lead that go
    elsewhere, reps who gain or lose eligibility. Layout and comments are no
    change. Each side is any ref: a file, @N / @active / @previous, or REV:PATH.

    \b
    Example:
      policyd diff @active policies/inbound.policy
      policyd diff main:policies/inbound.policy policies/inbound.policy --format md
      policyd diff @previous @active --exit-code || echo changed
    """
    from ..changes.diff import render, report
    from ..changes.impact import impact

    a = load_policy(old)
    b = load_policy(new)
    imp = None if no_impact else impact(a.compiled, b.compiled)
    data = report(a.label or old, b.label or new, a.policy, b.policy, imp)
    click.echo(render(data, fmt), nl=False)
    if exit_code and data["changes"]:
        sys.exit(3)


# ---- analysis and formatting commands
@main.command("fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 when a file is not in the canonical layout.")
@click.option("--diff", "show_diff", is_flag=True, help="Change nothing; print a unified diff of what would change.")
def fmt_cmd(files: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite policy files in the one canonical layout (comments kept).

    Only white space changes: aligned tier, lead, sla and team columns, one blank
    line between blocks, statements in their order. A file that does not parse is
    reported and left alone; the other files are still formatted.

    \b
    Example:
      policyd fmt policies/*.policy
      policyd fmt --check policies/inbound.policy   # exit 1 if it would change
      policyd fmt --diff policies/inbound.policy
    """
    from ..lang.fmt import format_text, unified_diff

    changed = failed = 0
    for name in files:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            click.echo(f"policyd: cannot read {name}: {getattr(err, 'strerror', None) or err}", err=True)
            failed += 1
            continue
        try:
            out = format_text(text, name)
        except PolicyError as err:
            _print_diagnostics(err.diagnostics, err.sources)
            failed += 1
            continue
        if out == text:
            continue
        changed += 1
        if show_diff:
            click.echo(unified_diff(text, out, name), nl=False)
        if check_only:
            click.echo(f"would reformat {name}", err=True)
        elif not show_diff:
            Path(name).write_text(out, encoding="utf-8")
            click.echo(f"reformatted {name}", err=True)
    if failed or (check_only and changed):
        sys.exit(1)


# ---- lottery commands (seed, lottery, distribute)

_period_option = click.option("--period", required=True, metavar="YYYY-Www", help="The ISO week the seed is for, e.g. 2026-W48.")


def _seed_call(fn, *args):
    from ..lottery.seeds import SeedError

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
@db_option
def seed_commit(period: str) -> None:
    """Make a secret seed for PERIOD and print its SHA-256 commitment.

    Publish the commitment before any lead of the period is drawn. The seed is
    stored in the db and not shown until `policyd seed reveal`.

    \b
    Example:
      policyd seed commit --period 2026-W48
    """
    from ..lottery import seeds

    db_path = _db_path()

    rec = _seed_call(seeds.commit, db_path, period)
    click.echo(rec.commitment)
    click.echo(f"committed {period}; publish this commitment now, reveal the seed after the period", err=True)


@seed.command("reveal")
@_period_option
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

    db_path = _db_path()

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
@db_option
def seed_list() -> None:
    """Every committed period with its commitment, and its seed once revealed.

    \b
    Example:
      policyd seed list --db policyd.db
    """
    from ..lottery import seeds

    db_path = _db_path()

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
@db_option
def lottery_verify(subject: str, seed_value: str | None, period: str | None, policy_ref: str | None) -> None:
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

    db_path = _db_path()

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


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """An ISO date or time (UTC unless it says otherwise) as epoch seconds."""
    if value is None:
        return None
    from ..replay.history import parse_time

    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        raise click.BadParameter(f"expected an ISO date or time such as 2017-06-05, got {value!r}") from None


@main.command()
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
@_period_option
@click.option("--out", "out_dir", default="out/lottery", show_default=True, metavar="DIR", help="Where the record page and JSON go.")
@db_option
def distribute(
    policy: str,
    leads_file: str,
    map_file: str | None,
    since: float | None,
    until: float | None,
    state_file: str | None,
    period: str,
    out_dir: str,
) -> None:
    """Run the weekly meeting: assign a batch of leads, draw the lottery share, write the record.

    The rules place most leads; the lottery step draws with PERIOD's committed
    seed and each draw is drawn as an Amida ladder. The record (`<id>.html`
    and `<id>.json`, id = sha256 of its content) is written to --out and kept in
    the db. Leads are read as `replay` reads them (--map); --since/--until pick
    the week's leads out of a longer export by arrival time. Refused rows are
    reported and the rest goes on.

    \b
    Example:
      policyd seed commit --period 2026-W48
      policyd distribute policies/inbound.policy --leads policies/leads/week-2026-W48.csv --period 2026-W48
      policyd distribute policies/maven-crm.policy --leads ../shared/data/maven-crm/sales_pipeline.csv \\
          --map policies/maven-crm.map.toml --since 2017-06-05 --until 2017-06-12 --period 2026-W48
    """
    from ..lottery import seeds
    from ..lottery.distribute import LeadsFileError, file_info, read_leads, run_meeting, summary_lines
    from ..lottery.record import RecordError, store_record, write_record

    db_path = _db_path()

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
    if since is not None and until is not None and since >= until:
        raise PolicydError("--since must be before --until")
    try:
        leads = read_leads(leads_file, loaded.compiled, map_file, since=since, until=until)
    except LeadsFileError as err:
        raise PolicydError(str(err)) from None
    source = file_info(leads_file, since=since, until=until)
    record, _ = run_meeting(loaded.compiled, leads.rows, state, rec.seed, period, rec.commitment, source)
    if since is not None or until is not None:
        click.echo(f"{len(leads.rows)} rows in the window, {leads.outside} outside it, {leads.undated} without an arrival time", err=True)
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
        html = render_record(record_id, records_dir or _db_path(), seed_db=_db_path() if records_dir else None)
    except RecordError as err:
        raise PolicydError(str(err)) from None
    click.echo(html, nl=False)


# ---- replay and review commands


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
        click.option("--sort", "sort_rows", is_flag=True, help="Sort the history by arrival in memory (default: stream it, in order)."),
        click.option("--rejects", "rejects_file", help="Write rejected rows with their reasons (CSV, or JSON Lines for .jsonl)."),
        click.option("--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True),
        click.option("--html", "html_file", help="Also write a self-contained HTML report with charts to this file."),
        click.option("--no-lottery", is_flag=True, help="Skip lottery steps (isolates the rules from the draw)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _run_replay(refs, labels, o, sample: int = 0) -> None:
    from ..replay.history import HistoryError, MappingError
    from ..replay.replay import OrderError
    from ..replay.review import render_report, run_report

    policies = [(label, ref, load_policy(ref).compiled) for label, ref in zip(labels, refs)]
    state = None
    if o["state_file"]:
        try:
            state = State.load(o["state_file"])
        except StateError as err:
            raise PolicydError(str(err)) from None

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
        try:
            Path(o["html_file"]).parent.mkdir(parents=True, exist_ok=True)
            Path(o["html_file"]).write_text(render_report(report, "html"), encoding="utf-8")
        except OSError as err:
            raise PolicydError(f"cannot write {o['html_file']}: {err.strerror}") from None
        click.echo(f"wrote {o['html_file']}", err=True)
    i = report["input"]
    msg = f"{i['read']} rows read, {i['replayed']} replayed, {i['rejected']} rejected"
    if o["rejects_file"]:
        msg += f" (written to {o['rejects_file']})"
    click.echo(msg, err=True)


@main.command()
@click.argument("policy")
@_replay_options
def replay(policy: str, **o) -> None:
    """Replay past leads through POLICY: who would have got what, and how fair it was.

    Leads are taken in arrival order; each assignment opens a lead, which closes at
    its recorded close time (or after --hold days). Rows that cannot be mapped or
    that the policy's schema refuses are counted, listed and skipped.

    \b
    Example:
      policyd replay policies/maven-crm.policy \\
          --leads ../shared/data/maven-crm/sales_pipeline.csv \\
          --map policies/maven-crm.map.toml --hold 90 --rejects out/rejects.csv
    """
    _run_replay([policy], ["replay"], o)


@main.command()
@click.argument("old")
@click.argument("new")
@_replay_options
@click.option("--sample", default=2, show_default=True, type=click.IntRange(min=0), help="Moved leads to explain side by side.")
def review(old: str, new: str, sample: int, **o) -> None:
    """Replay OLD and NEW on the same leads with the same seed, and compare.

    Shows the leads that moved (a flip matrix and explained samples), per-rep
    counts by tier, fairness figures, lottery shares, exceptions, queues,
    agreement with history and, when outcomes exist, conversion by tier and score.

    \b
    Example:
      policyd review policies/maven-crm.policy policies/maven-crm-v2.policy \\
          --leads ../shared/data/maven-crm/sales_pipeline.csv \\
          --map policies/maven-crm.map.toml --hold 90 --format md --html out/review.html
    """
    _run_replay([old, new], ["old", "new"], o, sample=sample)


# ---- daemon commands (serve, token, audit)
@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8377, show_default=True, type=int, help="Port; 0 picks a free one (printed on start).")
@click.option("--sla-interval", default=1.0, show_default=True, type=float, help="Seconds between SLA deadline checks.")
@click.option("--access-log", is_flag=True, help="Log method, path, status and time of every request (never tokens or queries).")
def serve(host: str, port: int, sla_interval: float, access_log: bool) -> None:
    """Serve the active stored version over HTTP (JSON API under /v1, pages).

    `policyd activate` in another shell takes effect for the next decision,
    without a restart. Every endpoint but /v1/health needs a token.

    \b
    Example:
      policyd publish policies/inbound.policy -m "first version"
      policyd activate @1
      policyd token create --role assign --name crm
      policyd serve --port 8377
    """
    from ..web.serve import run

    if sla_interval <= 0:
        raise PolicydError("--sla-interval must be more than 0")
    try:
        run(_db_path(), host, port, sla_interval, access_log)
    except OSError as err:
        raise PolicydError(f"cannot listen on {host}:{port}: {err.strerror}") from None


@main.group()
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

    conn = connect(_db_path())
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

    for t in tokens.listing(connect(_db_path())):
        click.echo(f"{t['id']}\t{t['role']}\t{t['name']}")


@main.group("audit")
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

    path = _db_path()
    if not Path(path).exists():
        raise PolicydError(f"no database at {path}")
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

    path = _db_path()
    if not Path(path).exists():
        raise PolicydError(f"no database at {path}")
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        for r in audit.records(connect(path)):
            out.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    finally:
        if output:
            out.close()
