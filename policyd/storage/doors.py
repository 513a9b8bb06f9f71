"""The front door as a stored version: which stored door is active, and the checks its activation passes.

A door file is published like a policy and filed under its `door NAME` (storage/names.py).
At most one door is active: the door activated last (activating another door replaces it).
Activating a door, or a team while a door is active, runs the checks `policyd check DOOR
TEAMS...` runs against the team policies that would be active; an error finding refuses
the activation with the finding's words, so a daemon never serves a door that sends leads
to a team it does not serve, or with fields the team would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..checks.door import LoadedDoor, load_door_text
from ..lang.door import is_door_text
from .errors import Conflict
from .store import Store, Version


class DoorRefused(Conflict):
    """A door whose checks against the active teams find an error: it is not activated."""


def is_door_version(v: Version) -> bool:
    """Whether a stored version is a front door rather than a team policy."""
    return is_door_text(v.files.get(v.main_file, ""))


def load_stored_door(v: Version, teams: Mapping[str, Version] | None = None) -> LoadedDoor:
    """Parse and check a stored door (with the team versions given: their names and lead fields)."""
    policies = None
    if teams is not None:
        policies = []
        for t in teams.values():
            loaded = t.load()
            if not loaded.errors:
                policies.append(loaded.policy)
    return load_door_text(v.files[v.main_file], v.main_file, policies)


def split_active(after: Mapping[str, Version], order: Mapping[str, int]) -> tuple[Version | None, dict[str, Version]]:
    """(the active door, the team versions) of a set of active versions; `order` ranks activations (newest highest)."""
    doors = [v for v in after.values() if is_door_version(v)]
    door = max(doors, key=lambda v: order.get(v.policy, 0), default=None)
    return door, {k: v for k, v in after.items() if not is_door_version(v)}


def check_door_set(door: Version | None, teams: Mapping[str, Version]) -> None:
    """Refuse (DoorRefused, with the first error's words) a door that does not pass its checks with the teams."""
    if door is None:
        return
    loaded = load_stored_door(door, teams)
    if loaded.errors:
        first = loaded.errors[0]
        more = f" (and {len(loaded.errors) - 1} more)" if len(loaded.errors) > 1 else ""
        hint = f"; {first.hint}" if getattr(first, "hint", None) else ""
        raise DoorRefused(
            f"door {door.policy}@{door.number} cannot be active with teams {', '.join(sorted(teams)) or 'none'}: "
            f"{first.code} line {first.span.line}: {first.message}{hint}{more}",
            finding=first.code,
        )


def active_door(store: Store) -> Version | None:
    """The active front door of a store (the door activated last), or None."""
    rows = store.db.query("select policy, max(id) as id from activations group by policy")
    order = {r["policy"]: r["id"] for r in rows}
    door, _ = split_active(store.active_versions(), order)
    return door
