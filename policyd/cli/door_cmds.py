"""The front door on the command line: check, test, assign and replay through a door file."""

from __future__ import annotations

from pathlib import Path

import click

from ..lang.diagnostics import PolicyError, format_all, summary
from .common import PolicydError, load_policy, print_diagnostics, write_report


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
    try:
        loaded = load_door(door_file, [t.policy for t in teams] if teams else None)
    except PolicyError as err:
        print_diagnostics(err.diagnostics, err.sources)
        raise PolicydError(f"{door_file}: cannot be parsed") from None
    if loaded.errors:
        print_diagnostics(loaded.diagnostics, loaded.sources)
        raise PolicydError(f"{door_file}: {summary(loaded.diagnostics)}; fix the errors first")
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
