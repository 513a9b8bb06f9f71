"""Activating a set of versions at once, and the rule that a rep belongs to one team.

One daemon serves every active policy, each as a team of its own (daemon/policy.py).
`activate_set` records several activations (`inbound@3 emea@2`) in ONE transaction,
so a daemon that reads the activation log sees either none of them or all of them,
and switches every team between the same two decisions.

A rep belongs to one team: a rep's open leads, capacity, away time and fairness are
counted in one place, and `PUT /v1/reps/{rep}/away` needs no team to be exact. So
activating a version is refused (RepInTwoTeams, naming the rep and the other policy)
when one of its reps is a rep of another policy that is, or would become, active.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .approvals import check_activation
from .db import write_lock
from .doors import check_door_set, is_door_version, split_active
from .errors import Conflict
from .store import BadReference, Store, Version

Reps = Callable[[Version], frozenset[str]]


class RepInTwoTeams(Conflict):
    """A version whose reps are also reps of another active policy: a rep belongs to one team."""


def reps_of(v: Version) -> frozenset[str]:
    """The rep names of a stored version (none for one that does not load: its activation is refused elsewhere)."""
    if is_door_version(v):
        return frozenset()  # a front door has no reps
    loaded = v.load()
    return frozenset() if loaded.errors else frozenset(loaded.compiled.rep_names)


def check_reps(after: dict[str, Version], changed: Sequence[str], reps: Reps = reps_of) -> None:
    """Refuse a set of active versions where a rep of a changed policy is on another policy's team."""
    for name in changed:
        mine = reps(after[name])
        for other in sorted(after):
            if other == name:
                continue
            shared = sorted(mine & reps(after[other]))
            if shared:
                raise RepInTwoTeams(
                    f"{shared[0]} is a rep of {name}@{after[name].number} and of {other}@{after[other].number}, which "
                    f"{'is' if other not in changed else 'would be'} active too: a rep belongs to one team, so take "
                    f"{shared[0]} out of one of them (reps in both: {', '.join(shared)})",
                    rep=shared[0],
                    reps=shared,
                    policy=other,
                )


def activate_set(
    store: Store,
    refs: Sequence[str | int],
    by: str,
    now: float | None = None,
    reps: Reps = reps_of,
    then: Callable[[list[Version]], None] | None = None,
) -> list[Version]:
    """Make every version named active in one transaction (all or none); the versions, in the order named.

    Two versions of one policy in the set are refused, and so is a set that would put
    a rep on two active teams, or a version that needs an approval it lacks
    (storage/approvals.py). Activating a version that is active already logs nothing.
    `then(chosen)` runs inside the same transaction (a scheduled activation marks itself done).
    """
    with write_lock(store.db.conn):
        chosen = check_set(store, refs, reps)
        for v in {v.policy: v for v in chosen}.values():
            store.make_active(v, by, now)
        if then is not None:
            then(chosen)
    return chosen


def check_set(store: Store, refs: Sequence[str | int], reps: Reps = reps_of) -> list[Version]:
    """Every refusal `activate_set` would give, as the store stands (inside a write_lock); the versions named."""
    if not refs:
        raise BadReference("name at least one version to activate, e.g. inbound@3")
    cache: dict[int, frozenset[str]] = {}

    def cached(v: Version) -> frozenset[str]:
        if v.number not in cache:
            cache[v.number] = reps(v)
        return cache[v.number]

    chosen = [store.get(r) for r in refs]
    seen: dict[str, Version] = {}
    for v in chosen:
        if v.policy in seen and seen[v.policy].number != v.number:
            raise BadReference(
                f"{v.policy}@{seen[v.policy].number} and {v.policy}@{v.number} are both named: one version of a policy is active at a time"
            )
        seen[v.policy] = v
    doors = [v for v in seen.values() if is_door_version(v)]
    if len(doors) > 1:
        raise BadReference(f"{', '.join(f'{v.policy}@{v.number}' for v in doors)} are all doors: one front door is active at a time")
    after = {**store.active_versions(), **seen}
    order = {r["policy"]: r["id"] for r in latest_activations(store).values()}
    order.update({name: 1 << 62 for name in seen})  # the set named now is the newest
    door, teams = split_active(after, order)
    check_reps(teams, sorted(n for n in seen if n in teams), cached)
    check_door_set(door, teams)
    active = store.active_versions()
    check_activation(store, [v for v in seen.values() if getattr(active.get(v.policy), "number", None) != v.number])
    return chosen


def latest_activations(store: Store) -> dict[str, dict]:
    """The newest activation row of each policy, read in ONE statement (one snapshot: a set activated together is seen whole)."""
    rows = store.db.query("select * from activations where id in (select max(id) from activations group by policy) order by policy")
    return {r["policy"]: r for r in rows}


def rollback(store: Store, by: str, now: float | None = None, policy: str | None = None, reps: Reps = reps_of) -> tuple[Version, Version]:
    """`Store.rollback`, refused like an activation when the version it goes back to would put a rep on two active
    teams, or leave the active front door failing its checks with the teams (DoorRefused)."""

    def check(target: Version) -> None:
        order = {r["policy"]: r["id"] for r in latest_activations(store).values()}
        order[target.policy] = 1 << 62  # the version gone back to is the newest activation
        door, teams = split_active({**store.active_versions(), target.policy: target}, order)
        check_reps(teams, [target.policy] if target.policy in teams else [], reps)
        check_door_set(door, teams)

    return store.rollback(by, now, policy, check)
