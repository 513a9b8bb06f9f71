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
    from .diagnostics import sort_key

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
    from .fmt import format_text, unified_diff

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
