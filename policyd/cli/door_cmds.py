"""The front door on the command line: check, test, assign and replay through a door file."""

from __future__ import annotations

from pathlib import Path

import click

from ..lang.diagnostics import PolicyError, format_all, summary
from .common import PolicydError, load_policy, loaded_or_stop, write_report


def is_door(ref: str) -> bool:
    """Whether a ref is a door file (its first statement is `door`)."""
    from ..lang.door import is_door_text

    p = Path(ref)
    try:
        return p.is_file() and is_door_text(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


def load_door_cli(door_file: str, team_refs: tuple[str, ...] | list[str]):
    """The door checked with its teams, and the teams by name; stops with the diagnostics on errors."""
    from ..checks.door import _team_name, load_door

    teams = [load_policy(ref) for ref in team_refs]
    loaded = loaded_or_stop(lambda: load_door(door_file, [t.policy for t in teams] if teams else None), door_file)
    return loaded, {_team_name(t.policy): (ref, t) for ref, t in zip(team_refs, teams)}


def check_door_files(doors: list[str], teams: list[str]) -> tuple[list, dict]:
    """Diagnostics of each door, checked with the team policies given beside it."""
    from ..checks.door import load_door

    team_policies = [load_policy(t, allow_errors=True).policy for t in teams]
    diags, sources = [], {}
    for d in doors:
        try:
            loaded = load_door(d, team_policies if team_policies else None)
        except PolicyError as err:
            diags.extend(err.diagnostics)
            sources.update(err.sources)
            continue
        diags.extend(loaded.diagnostics)
        sources.update(loaded.sources)
    return diags, sources


def echo_door_check(doors: list[str], teams: list[str]) -> bool:
    """Print the doors' diagnostics as `policyd check` does; True when there are errors."""
    diags, sources = check_door_files(doors, teams)
    if diags:
        click.echo(format_all(diags, sources), err=True)
    for d in doors:
        click.echo(f"{d}: door; {summary([x for x in diags if x.span.file == d])}", err=True)
    return any(x.is_error for x in diags)


def replay_org(door_file: str, team_refs: tuple[str, ...], o: dict) -> None:
    """`policyd replay --door`: the door splits the leads, each team replays them, one report."""
    from ..replay.org import render_org, run_org
    from ..replay.records import HistoryError, MappingError
    from ..replay.replay import OrderError

    door, teams = load_door_cli(door_file, team_refs)
    try:
        report = run_org(
            door.compiled,
            [(name, ref, t.compiled) for name, (ref, t) in teams.items()],
            o["leads_file"],
            o["map_file"],
            seed=o["seed"],
            hold_days=o["hold_days"],
            lottery=not o["no_lottery"],
            sort=o["sort_rows"],
            table=o["table"],
        )
    except (MappingError, HistoryError, OrderError) as err:
        raise PolicydError(str(err)) from None
    click.echo(render_org(report, o["fmt"]), nl=False)
    if o["html_file"]:
        write_report(o["html_file"], render_org(report, "html"))
    org = report["org"]
    click.echo(f"{report['input']['read']} rows read, {org['placed']} placed by the door, {org['unplaced']} not placed", err=True)


def door_ref(ref: str) -> tuple[str, str, str] | None:
    """(label, file name, text) of a ref naming a door (a door file, a stored door version, a git revision's door);
    None for a policy."""
    from ..lang.door import is_door_text
    from ..storage.refs import RefError, kind_of, read_bundle
    from .common import current_db

    if kind_of(ref) == "file":
        return (ref, ref, Path(ref).read_text(encoding="utf-8")) if is_door(ref) else None
    try:
        b = read_bundle(ref, current_db())
    except RefError as err:
        raise PolicydError(str(err)) from None
    text = b.files.get(b.main_file, "")
    return (b.label or ref, b.main_file, text) if is_door_text(text) else None


def diff_doors_cli(old: str, new: str, fmt: str, exit_code: bool, no_impact: bool) -> bool:
    """`policyd diff` when both sides are doors: the door diff printed (exit 3 on changes with --exit-code).
    False when both are policies; a door against a policy is refused."""
    import sys

    from ..changes.diff import render
    from ..changes.door_diff import door_report
    from ..checks.door import load_door_text

    sides = door_ref(old), door_ref(new)
    if sides == (None, None):
        return False
    if None in sides:
        door, policy = (old, new) if sides[0] is not None else (new, old)
        raise PolicydError(f"{door} is a front door and {policy} a policy: diff compares two policies or two doors")
    doors = []
    for ref, (label, file, text) in zip((old, new), sides):
        loaded = loaded_or_stop(lambda text=text, file=file: load_door_text(text, file), ref)
        doors.append((label, loaded.door))
    data = door_report(doors[0][0], doors[1][0], doors[0][1], doors[1][1], impact=not no_impact)
    click.echo(render(data, fmt), nl=False)
    if exit_code and data["changes"]:
        sys.exit(3)
    return True
