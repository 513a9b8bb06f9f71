"""Commands on one policy: assign, test, diff (with impact), fmt (check is in check_cmd.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..engine.decide import decide
from ..engine.hours import parse_time
from ..engine.schema import LeadError
from ..engine.state import State
from ..lang.diagnostics import PolicyError
from .clock import now
from .common import PolicydError, color_option, db_option, echo_json, load_policy, load_state, print_diagnostics, read_json
from .completion import policy_refs


@click.command()
@click.argument("policy", nargs=-1, required=True, metavar="POLICY")
@click.option("--door", "door_file", metavar="FILE", help="A front door: route the lead through it to one of the team POLICYs given.")
@click.option("--lead", "lead_file", required=True, help="The lead as a JSON object, from a file or - for stdin.")
@click.option(
    "--state",
    "state_files",
    multiple=True,
    metavar="[TEAM=]FILE",
    help="Runtime state as JSON (open counts, away reps, cursors). With --door, TEAM=FILE is one team's state (repeat per team);"
    " a plain FILE is every team's.",
)
@click.option("--seed", default="policyd", show_default=True, help="Lottery seed: the same seed gives the same draw.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]), default="text", show_default=True)
@click.option("--why-not", "why_not", metavar="REP", help="Also say why REP did not get the lead.")
@click.option("--no-lottery", is_flag=True, help="Skip lottery steps (as examples do by default).")
@click.option("--at", "at_text", metavar="TIME", help="Time of the decision, ISO 8601 with offset (caps and working hours); default: now.")
@db_option  # last, as every command that takes a policy takes @N refs too
def assign(
    policy: tuple[str, ...],
    door_file: str | None,
    lead_file: str,
    state_files: tuple[str, ...],
    seed: str,
    fmt: str,
    why_not: str | None,
    no_lottery: bool,
    at_text: str | None,
) -> None:
    """Decide who gets one lead, and explain it line by line.

    \b
    Example:
      echo '{"id": "L-9", "company": "Acme", "employees": 1500, "budget": "stated",
             "authority": "decision_maker", "industry": "it", "segment": "enterprise",
             "country": "US"}' | policyd assign policies/inbound.policy --lead - --why-not erin
      policyd assign --door door.policy east.policy west.policy --lead deal.json \
          --state east=east-state.json --state west=west-state.json
    """
    from ..explain.explain import render

    routed = None
    lead = read_json(lead_file, "lead")
    if door_file is not None:  # the door's step first: which team's policy decides
        from ..door.route import route
        from .door_cmds import load_door_cli

        door, teams = load_door_cli(door_file, policy)
        try:
            routed = route(door.compiled, lead)
        except LeadError as err:
            for e in err.errors:
                click.echo(f"{lead_file}: {e.message}", err=True)
            raise PolicydError(
                f"the front door refused the lead ({len(err.errors)} problem{'s' if len(err.errors) != 1 else ''})"
            ) from None
        if routed.team is None or routed.team not in teams:
            click.echo(routed.step())
            raise PolicydError(
                "the front door placed the lead with no team given" if routed.team else "no send rule of the door matched the lead"
            )
        loaded = teams[routed.team][1]
    elif len(policy) != 1:
        raise click.UsageError("give one POLICY (several only with --door)")
    else:
        loaded = load_policy(policy[0])
    state = team_state(state_files, routed.team if routed is not None else None, list(teams) if routed is not None else None)
    try:
        at = parse_time(at_text) if at_text is not None else now()
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
    if routed is not None:
        from ..explain.door import explain_routed

        click.echo(explain_routed(routed, loaded.compiled, decision, fmt, why_not), nl=False)
        return
    if fmt == "json":  # the API's shape: {"decision": ..., "explanation": ...}
        from ..explain.decision_json import document

        echo_json(document(loaded.compiled, decision, why_not))
        return
    click.echo(render(loaded.compiled, decision, fmt, why_not), nl=False)


def team_state(given: tuple[str, ...], team: str | None, teams: list[str] | None) -> State:
    """The state a decision starts from: `team`'s own (`--state TEAM=FILE`), else the plain `--state FILE`, else empty.

    Without a door (`teams` None) one plain FILE at most; with one, each TEAM must be a team given."""
    plain: list[str] = []
    per_team: dict[str, str] = {}
    for item in given:
        name, sep, path = item.partition("=")
        if sep and name.isidentifier() and not Path(item).exists():
            if teams is None:
                raise click.UsageError(f"--state {item}: TEAM=FILE is for --door; without a door give --state FILE")
            if name not in teams:
                raise click.UsageError(f"--state {item}: no team {name!r} is given; the teams are {', '.join(sorted(teams))}")
            if name in per_team:
                raise click.UsageError(f"--state {item}: team {name} has a state already ({per_team[name]})")
            per_team[name] = path
        else:
            plain.append(item)
    if len(plain) > 1:
        raise click.UsageError(f"--state: give one FILE (or, with --door, TEAM=FILE per team), not {len(plain)}")
    chosen = per_team.get(team or "") or (plain[0] if plain else None)
    return load_state(chosen) if chosen else State()


@click.command("test")
@click.argument("policies", metavar="POLICY...", nargs=-1, required=True, shell_complete=policy_refs)
@click.option(
    "-k",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Only examples whose name contains PATTERN (or matches it as a glob); repeatable.",
)
@click.option("-v", "--verbose", is_flag=True, help="Print the explanation of every example, not only failures.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="Text, JSON, or JUnit XML for CI.",
)
@color_option
@db_option  # last, as every command that takes a policy takes @N refs too
def test_cmd(policies: tuple[str, ...], patterns: tuple[str, ...], verbose: bool, fmt: str, color: str) -> None:
    """Run the policies' `example` blocks; exit 1 when one fails (or a policy cannot load).

    A failing example prints what it expected and the explanation of the decision
    it got.

    \b
    Example:
      policyd test policies/inbound.policy
      policyd test policies/*.policy -k enterprise --format junit > examples.xml
    """
    from ..explain.examples import run_examples
    from ..report import color as colour
    from ..report.examples import FileResults, junit, selected, to_json

    files = []
    from .door_cmds import is_door

    for policy in policies:
        if is_door(policy):  # a door's examples: each lead through the door, `expect team NAME`
            from ..explain.door import run_door_examples
            from .door_cmds import load_door_cli

            loaded_door, _ = load_door_cli(policy, ())
            files.append(
                FileResults(policy, policy, tuple(r for r in run_door_examples(loaded_door.compiled) if selected(r.name, patterns)))
            )
            continue
        try:
            loaded = load_policy(policy)
        except PolicydError as err:
            files.append(FileResults(policy, policy, (), err.message))
            if fmt == "text":
                err.show()
            continue
        results = tuple(r for r in run_examples(loaded.compiled) if selected(r.name, patterns))
        files.append(FileResults(policy, loaded.policy.file, results))
        if not results:
            click.echo(f"{policy}: no examples to run" + (" (none matched -k)" if patterns else ""), err=True)
    if fmt == "json":
        echo_json(to_json(files))
    elif fmt == "junit":
        click.echo(junit(files), nl=False)
    else:
        _print_results(files, verbose, len(policies) > 1, colour.enabled(color, sys.stdout))
    sys.exit(1 if any(f.error or not all(r.ok for r in f.results) for f in files) else 0)


def _print_results(files, verbose: bool, several: bool, paint: bool) -> None:
    from ..report.color import paint as tint

    failed = total = 0
    for f in files:
        for r in f.results:
            total += 1
            prefix = f"{f.policy}: " if several else ""
            if r.ok:
                click.echo(f"{tint('PASS', 'ok') if paint else 'PASS'}  {prefix}{r.name}", color=paint or None)
            else:
                failed += 1
                click.echo(f"{tint('FAIL', 'fail') if paint else 'FAIL'}  {prefix}{r.name}  ({f.file}:{r.line})", color=paint or None)
                for problem in r.problems:
                    click.echo(f"      {problem}")
            if (not r.ok or verbose) and r.explanation:
                click.echo("")
                click.echo("      " + r.explanation.rstrip("\n").replace("\n", "\n      "))
                click.echo("")
    click.echo(f"{total - failed} passed, {failed} failed")


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
    Two front doors are compared by their send rules (added, removed, changed,
    moved), lead fields and examples, with the kinds of lead that change team.

    \b
    Example:
      policyd diff @active policies/inbound.policy
      policyd diff main:policies/inbound.policy policies/inbound.policy --format md
      policyd diff @previous @active --exit-code || echo changed
      policyd diff maven@4 policies/maven/door.policy   # two doors
    """
    from ..changes.diff import render, report
    from ..changes.impact import impact
    from .door_cmds import diff_doors_cli

    if diff_doors_cli(old, new, fmt, exit_code, no_impact):  # two front doors: their send rules, fields and examples
        return
    a = load_policy(old)
    b = load_policy(new)
    imp = None if no_impact else impact(a.compiled, b.compiled)
    data = report(a.label or old, b.label or new, a.policy, b.policy, imp)
    click.echo(render(data, fmt), nl=False)
    if exit_code and data["changes"]:
        sys.exit(3)


@click.command("fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True), shell_complete=policy_refs)
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 when a file is not in the canonical layout.")
@click.option("--diff", "show_diff", is_flag=True, help="Change nothing; print a unified diff of what would change, exit 1 if any.")
@click.option("--stdin-filename", metavar="PATH", help="With `-`: the file name to report in messages and diff headers.")
@color_option
def fmt_cmd(files: tuple[str, ...], check_only: bool, show_diff: bool, stdin_filename: str | None, color: str) -> None:
    """Rewrite policy files in the one canonical layout (comments kept).

    Only white space changes: aligned tier, lead, sla and team columns, one blank
    line between blocks, statements in their order. A file that does not parse is
    reported and left alone; the other files are still formatted. `-` reads stdin
    and writes the formatted policy to stdout (as an editor's format-on-save wants).
    --check and --diff exit 1 when something would change (as ruff does).

    \b
    Example:
      policyd fmt policies/*.policy
      policyd fmt --check policies/inbound.policy   # exit 1 if it would change
      policyd fmt --diff policies/inbound.policy
      policyd fmt - < draft.policy > formatted.policy
    """
    from ..lang.fmt import format_text, unified_diff
    from ..report import color as colour

    paint = colour.enabled(color, sys.stdout)
    changed = failed = 0
    for name in files:
        shown = (stdin_filename or "<stdin>") if name == "-" else name
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            click.echo(f"policyd: cannot read {name}: {getattr(err, 'strerror', None) or err}", err=True)
            failed += 1
            continue
        try:
            out = format_text(text, shown)
        except PolicyError as err:
            print_diagnostics(err.diagnostics, err.sources)
            failed += 1
            continue
        if name == "-" and not (check_only or show_diff):
            click.echo(out, nl=False)
            continue
        if out == text:
            continue
        changed += 1
        if show_diff:
            patch = unified_diff(text, out, diff_name(shown))
            click.echo(colour.diff(patch) if paint else patch, nl=False, color=paint or None)
        if check_only:
            click.echo(f"would reformat {shown}", err=True)
        elif not show_diff:
            Path(name).write_text(out, encoding="utf-8")
            click.echo(f"reformatted {name}", err=True)
    if failed or ((check_only or show_diff) and changed):
        sys.exit(1)


def diff_name(name: str) -> str:
    """The path a diff header shows: relative to the current folder when inside it, never with `a//`."""

    p = Path(name)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return p.as_posix().lstrip("/")
    return p.as_posix()
