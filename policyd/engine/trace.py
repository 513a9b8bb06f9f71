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

from dataclasses import dataclass
from typing import Union

from .draw import LotteryDraw


@dataclass(frozen=True, slots=True)
class Scores:
    """Each score block's matching line (-1: none) and the total."""

    lines: tuple[int, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Tier:
    """The tier the total falls in (index into the policy's tiers; None: in no tier)."""

    index: int | None


@dataclass(frozen=True, slots=True)
class ExceptionSkip:
    """An exception whose `when` is false."""

    index: int


@dataclass(frozen=True, slots=True)
class ExceptionTry:
    """An exception whose `when` holds: its actions run next."""

    index: int


@dataclass(frozen=True, slots=True)
class ExceptionFallthrough:
    """An exception that placed no one, so the next rule is tried."""

    index: int


@dataclass(frozen=True, slots=True)
class Start:
    """A pipeline starts from the available reps."""

    key: str
    available: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Require:
    key: str
    step: int
    before: tuple[int, ...]
    after: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Prefer:
    """`option` is the option that kept someone (-1: none did, all were kept)."""

    key: str
    step: int
    option: int
    before: tuple[int, ...]
    after: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Pick:
    key: str
    step: int
    kind: str
    candidates: tuple[int, ...]
    chosen: int


@dataclass(frozen=True, slots=True)
class LotteryOff:
    """A lottery step skipped because the lottery is switched off for this decision."""

    key: str
    step: int


@dataclass(frozen=True, slots=True)
class Lottery:
    key: str
    step: int
    draw: LotteryDraw


@dataclass(frozen=True, slots=True)
class Assign:
    """`assign`: `who` is the rep named (None: the field is missing), `rep` its index (-1: not on the team)."""

    key: str
    step: int
    who: str | None
    rep: int
    ok: bool


@dataclass(frozen=True, slots=True)
class Queue:
    key: str
    step: int
    queue: str


@dataclass(frozen=True, slots=True)
class Empty:
    """No candidate left in a pipeline."""

    key: str


@dataclass(frozen=True, slots=True)
class OtherwiseQueue:
    key: str
    queue: str


@dataclass(frozen=True, slots=True)
class GotoRoute:
    """`otherwise route`: from one tier's route to another's."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Unassigned:
    reason: str


Event = Union[
    Scores,
    Tier,
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
