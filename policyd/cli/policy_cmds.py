"""Commands on one policy: check, assign, test, diff (with impact), fmt."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ..engine.decide import decide
from ..engine.hours import parse_time
from ..engine.schema import LeadError
from ..engine.state import State
from ..lang.diagnostics import PolicyError, summary
from .common import PolicydError, db_option, load_policy, load_state, print_diagnostics, read_json, resolve


@click.command()
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
@db_option  # last, as every command that takes a policy takes @N refs too
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
            loaded = resolve(policy)
            diags, sources = loaded.diagnostics, loaded.sources
            if loaded.policy.is_team_file:  # a `team from` file: its own checks, no missing-block errors
                diags, kind = [d for d in diags if d.code != "S001"], "team file; "
        except PolicyError as err:
            diags, sources = err.diagnostics, err.sources
        everything.extend(diags)
        if fmt == "text":
            print_diagnostics(diags, sources)
            click.echo(f"{policy}: {kind}{summary(diags)}", err=True)
    if fmt == "json":
        click.echo(json.dumps([d.to_json() for d in sorted(everything, key=sort_key)], indent=2))
    failing = any(d.is_error for d in everything) or (strict and any(d.severity == "warning" for d in everything))
    sys.exit(1 if failing else 0)


@click.command()
@click.argument("policy")
@click.option("--lead", "lead_file", required=True, help="The lead as a JSON object, from a file or - for stdin.")
@click.option("--state", "state_file", help="Runtime state as JSON (open counts, away reps, cursors).")
@click.option("--seed", default="policyd", show_default=True, help="Lottery seed: the same seed gives the same draw.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]), default="text", show_default=True)
@click.option("--why-not", "why_not", metavar="REP", help="Also say why REP did not get the lead.")
@click.option("--no-lottery", is_flag=True, help="Skip lottery steps (as examples do by default).")
@click.option("--at", "at_text", metavar="TIME", help="Time of the decision, ISO 8601 with offset (caps and working hours); default: now.")
@db_option  # last, as every command that takes a policy takes @N refs too
def assign(
    policy: str, lead_file: str, state_file: str | None, seed: str, fmt: str, why_not: str | None, no_lottery: bool, at_text: str | None
) -> None:
    """Decide who gets one lead, and explain it line by line.

    \b
    Example:
      echo '{"id": "L-9", "company": "Acme", "employees": 1500, "budget": "stated",
             "authority": "decision_maker", "industry": "it", "segment": "enterprise",
             "country": "US"}' | policyd assign policies/inbound.policy --lead - --why-not erin
    """
    from ..explain.explain import render

    loaded = load_policy(policy)
    lead = read_json(lead_file, "lead")
    state = load_state(state_file) if state_file else State()
    try:
        at = parse_time(at_text) if at_text is not None else time.time()
    except ValueError as err:
        raise PolicydError(f"--at {at_text}: {err}") from None
    try:
        decision = decide(loaded.compiled, lead, state, seed, lottery=not no_lottery, at=at)
    except LeadError as err:
        for e in err.errors:
            click.echo(f"{lead_file}: {e.message}", err=True)
        raise PolicydError(f"the lead was refused ({len(err.errors)} problem{'s' if len(err.errors) != 1 else ''})") from None
    if why_not is not None and why_not not in loaded.compiled.rep_index:
        from ..lang.diagnostics import did_you_mean

        guess = did_you_mean(why_not, loaded.compiled.rep_names)
        raise PolicydError(f"--why-not {why_not}: no such rep" + (f"; did you mean {guess}?" if guess else ""))
    click.echo(render(loaded.compiled, decision, fmt, why_not), nl=False)


@click.command("test")
@click.argument("policy")
@click.option("-v", "--verbose", is_flag=True, help="Print the explanation of every example, not only failures.")
@db_option  # last, as every command that takes a policy takes @N refs too
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


@click.command()
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


@click.command("fmt")
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
            print_diagnostics(err.diagnostics, err.sources)
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
