"""Warnings about a replay's set-up: what makes its figures misleading, said out loud.

Each check reads what the history and the replay counted anyway (no second pass):
nothing replayed, every rep full while leads queue, outcome values that match
neither `won` nor `lost`, repeated lead ids, reps of the history missing from the
team. Also the one check of a starting state against the team.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .fairness import day_label
from .mapping_options import did_you_mean
from .records import HistoryError


def _n(k: int, word: str) -> str:
    return f"{k:,} {word}{'' if k == 1 else 's'}"


def setup_warnings(replay, intake, history) -> list[dict[str, Any]]:
    """The warnings of a finished replay, each {"code", "text"}: shown first by every format."""
    out: list[dict[str, Any]] = []

    def warn(code: str, text: str) -> None:
        out.append({"code": code, "text": text})

    if intake.replayed == 0:
        why = f"all {_n(intake.read, 'row')} read were rejected" if intake.read else "the history holds no rows"
        warn("nothing-replayed", f"no lead was replayed ({why}), so every figure below is empty; fix the rejects listed and run again")
    for lane in replay.lanes:
        if lane.saturated:
            share = lane.saturated / intake.replayed if intake.replayed else 0.0
            who = f"{lane.label}: " if len(replay.lanes) > 1 else ""
            text = (
                f"{who}{_n(lane.saturated, 'lead')} ({100 * share:.0f}% of those replayed) were queued because every rep was "
                f"at capacity, from {day_label(lane.saturated_first)} on"
            )
            if replay.hold is None:
                text += "; without --hold a lead with no recorded close time never closes: pass --hold DAYS (e.g. --hold 30)"
            warn("saturated", text)
    if history is None:
        return out
    m = history.mapping
    if m.outcome:
        other = history.outcomes_other
        if not m.won and not m.lost:
            warn("outcome-words", f"history.outcome names {m.outcome!r} but neither won nor lost is set, so no lead counts as closed")
        elif other:
            total = sum(other.values())
            seen = ", ".join(f"{v!r} ({c:,})" for v, c in other.most_common(5))
            text = (
                f"{_n(total, 'row')} {'has' if total == 1 else 'have'} a {m.outcome} value matching neither won {list(m.won)} "
                f"nor lost {list(m.lost)}: {seen}{', ...' if len(other) > 5 else ''}; they count as still open "
                "(list the values that are open in history.open, and fix won/lost if one is missing)"
            )
            closed = replay.lanes[0].tally.outcomes if replay.lanes else 0
            if not closed:
                text += ", so there is no conversion by tier or score"
            warn("outcome-unmatched", text)
    if history.duplicate_count:
        warn(
            "duplicate-ids",
            f"{_n(history.duplicate_count, 'row')} repeat an earlier lead id ({', '.join(history.duplicates)}"
            f"{', ...' if history.duplicate_count > len(history.duplicates) else ''}); each is replayed as another lead",
        )
    return out


def check_state_reps(state, policies: Sequence[tuple[str, str, Any]], file: str = "--state") -> None:
    """A starting state naming a rep no policy's team has is a mistake (a typo, another team): refuse it."""
    if state is None:
        return
    names: list[str] = []
    for _, _, c in policies:
        names += [n for n in c.rep_names if n not in names]
    mentioned = set(state.open) | set(state.away) | set(state.last) | set(state.quota)
    for rep in sorted(mentioned):
        if rep not in names:
            raise HistoryError(
                f"{file}: rep {rep!r} is not on the team{did_you_mean(rep, names) or ';'} expected one of {', '.join(names)}"
            )
