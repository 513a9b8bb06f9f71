"""`policyd check`: the diagnostics of policies as text, JSON, GitHub annotations or SARIF."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..lang import model as m
from ..lang.diagnostics import ERROR, Diagnostic, PolicyError, summary
from .common import PolicydError, color_option, db_option, resolve
from .completion import policy_refs


@click.command()
@click.argument("policies", metavar="POLICY...", nargs=-1, required=True, shell_complete=policy_refs)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="gcc-style text; JSON (one list, with counterexamples); GitHub Actions annotations; SARIF 2.1.0.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--dependents", is_flag=True, help="For a team file, also check every policy in the repository that loads it.")
@click.option("--stdin-filename", metavar="PATH", help="With `-`: the file name to report (its folder is where `team from` looks).")
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="For a stored version (@active, inbound@3): warn (G001) when its `review every` period has passed since it was"
    " activated or last reviewed, as of TIME (ISO 8601 or a date) [default: now].",
)
@color_option
@db_option  # last, as every command that takes a policy takes @N refs too
def check(
    policies: tuple[str, ...], fmt: str, strict: bool, dependents: bool, stdin_filename: str | None, as_of: str | None, color: str
) -> None:
    """Check policies for errors, warnings and notes (see docs/diagnostics.md).

    Exits 1 when there are errors (or warnings with --strict), 0 otherwise; notes
    and accepted findings (`# policyd: accept CODE reason` on the line or above it)
    never fail. Several files can be checked at once (as pre-commit does); `-` reads
    the policy from stdin.

    \b
    Example:
      policyd check policies/inbound.policy
      policyd check policies/inbound.policy --format json | jq '.[].code'
      policyd check --strict --dependents policies/emea-team.policy   # and emea.policy, which loads it
      policyd check policies/*.policy --format github                 # annotations in a pull request
      policyd check inbound@active --as-of 2027-03-01                  # is its quarterly review due?
    """
    from importlib.metadata import version

    from ..report import color as colour
    from ..report.findings import failing, findings, github, sarif, to_json

    todo = list(dict.fromkeys(policies))
    if dependents:
        from .dependents import loaders

        for team, users in loaders([p for p in todo if p != "-"]).items():
            todo[todo.index(team) + 1 : todo.index(team) + 1] = [u for u in users if u not in todo]
    paint = fmt == "text" and colour.enabled(color, sys.stderr)
    from .door_cmds import is_door

    doors = [p for p in todo if p != "-" and is_door(p)]
    door_failed = False
    if doors:  # a door is checked with the team policies given beside it (names and lead fields)
        from .door_cmds import echo_door_check

        todo = [p for p in todo if p not in doors]
        door_failed = echo_door_check(doors, todo)
    everything = []
    for policy in todo:
        diags, sources, kind = _diagnose(policy, stdin_filename)
        if kind == "" and policy != "-":
            from .governance_cmds import now_or, review_warning

            diags = diags + review_warning(policy, now_or(as_of))
        found = findings(diags, sources)
        everything.extend(found)
        if fmt == "text" and kind == "ref":  # names no policy at all: said as every command says it
            click.echo(f"policyd: {diags[0].message}", err=True)
        elif fmt == "text":
            shown = [f.diagnostic for f in found if f.fails]
            if shown:
                from ..lang.diagnostics import format_all

                text = format_all(shown, sources)
                click.echo(colour.diagnostics(text) if paint else text, err=True, color=paint or None)
            accepted = [f for f in found if not f.fails]
            for f in accepted:
                s = f.diagnostic.span
                click.echo(f"{s.file}:{s.line}:{s.col}: accepted {f.diagnostic.code}: {f.diagnostic.message} ({f.accepted})", err=True)
            tail = f"; {len(accepted)} accepted" if accepted else ""
            click.echo(f"{_name(policy, stdin_filename)}: {kind}{summary(shown)}{tail}", err=True)
    if fmt == "json":
        click.echo(json.dumps(to_json(everything), indent=2, ensure_ascii=False))
    elif fmt == "github":
        click.echo(github(everything), nl=False)
    elif fmt == "sarif":
        click.echo(json.dumps(sarif(everything, version("policyd")), indent=2, ensure_ascii=False))
    sys.exit(1 if door_failed or failing(everything, strict) else 0)


def _name(policy: str, stdin_filename: str | None) -> str:
    return (stdin_filename or "<stdin>") if policy == "-" else policy


def _diagnose(policy: str, stdin_filename: str | None) -> tuple[list[Diagnostic], dict[str, str], str]:
    """(diagnostics, sources, "team file; ", "ref" or "") of one ref; a ref that names nothing is a P006 diagnostic."""
    try:
        if policy == "-":
            from ..checks.load import load_text

            name = stdin_filename or "<stdin>"
            base = Path(stdin_filename).parent if stdin_filename else Path.cwd()
            loaded = load_text(sys.stdin.read(), name, base)
        else:
            loaded = resolve(policy)
    except PolicyError as err:
        return err.diagnostics, err.sources, ""
    except PolicydError as err:
        return [Diagnostic("P006", ERROR, m.Span(policy, 0, 0), err.message)], {}, "ref"
    if loaded.policy.is_team_file:  # a `team from` file: its own checks, no missing-block errors
        return [d for d in loaded.diagnostics if d.code != "S001"], loaded.sources, "team file; "
    return loaded.diagnostics, loaded.sources, ""
