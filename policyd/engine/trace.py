"""The trace of one decision: what each step saw and did, as small typed events.

Recorded only when a decision is made with `trace=True` (explanations, the
analysis, meeting records); the fast path records nothing and an explanation
decides again from the stored inputs. Readers match events by class and read
them by field name, never by position. Reps are team indices (`Roster.rep_names`
turns them into names); `key` names a pipeline, `route:TIER` or
`exception:NAME`; `step` is the step's position in that pipeline's model
(-1 for the implied `pick least loaded`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Union

from .draw import LotteryDraw


def event(cls: type) -> type:
    """`@dataclass(frozen=True, slots=True)`, with an `__init__` that fills the slots directly.

    The frozen dataclass `__init__` calls `object.__setattr__` once per field; a
    traced decision builds half a dozen events, and writing through the slot
    descriptors builds each about a third faster. Immutable all the same: the
    frozen `__setattr__` still refuses every later assignment.
    """
    cls = dataclass(frozen=True, slots=True)(cls)
    names = [f.name for f in fields(cls)]
    ns = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names) or "    pass\n"
    exec(f"def __init__(self, {', '.join(names)}):\n{body}", ns)  # noqa: S102 - our own generated source
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # part of the class's definition, as dataclass's own methods are
    return cls


@event
class Scores:
    """Each score block's matching line (-1: none), the total, and the tier it falls in
    (index into the policy's tiers; None: in no tier)."""

    lines: tuple[int, ...]
    total: int
    tier: int | None


@event
class ExceptionSkip:
    """Exceptions whose `when` is false (indices, in file order)."""

    indices: tuple[int, ...]


@event
class ExceptionTry:
    """An exception whose `when` holds: its actions run next."""

    index: int


@event
class ExceptionFallthrough:
    """An exception that placed no one, so the next rule is tried."""

    index: int


@event
class Start:
    """A pipeline starts from the available reps."""

    key: str
    available: tuple[int, ...]


@event
class Require:
    key: str
    step: int
    before: tuple[int, ...]
    after: tuple[int, ...]


@event
class Prefer:
    """`option` is the option that kept someone (-1: none did, all were kept)."""

    key: str
    step: int
    option: int
    before: tuple[int, ...]
    after: tuple[int, ...]


@event
class Pick:
    key: str
    step: int
    kind: str
    candidates: tuple[int, ...]
    chosen: int


@event
class LotteryOff:
    """A lottery step skipped because the lottery is switched off for this decision."""

    key: str
    step: int


@event
class Lottery:
    key: str
    step: int
    draw: LotteryDraw


@event
class Assign:
    """`assign`: `who` is the rep named (None: the field is missing), `rep` its index (-1: not on the team)."""

    key: str
    step: int
    who: str | None
    rep: int
    ok: bool


@event
class Queue:
    key: str
    step: int
    queue: str


@event
class Empty:
    """No candidate left in a pipeline."""

    key: str


@event
class OtherwiseQueue:
    key: str
    queue: str


@event
class GotoRoute:
    """`otherwise route`: from one tier's route to another's."""

    source: str
    target: str


@event
class Unassigned:
    reason: str


Event = Union[
    Scores,
    ExceptionSkip,
    ExceptionTry,
    ExceptionFallthrough,
    Start,
    Require,
    Prefer,
    Pick,
    LotteryOff,
    Lottery,
    Assign,
    Queue,
    Empty,
    OtherwiseQueue,
    GotoRoute,
    Unassigned,
]
