"""Pick strategies, the registry: how a pipeline chooses one rep among its candidates.

Each strategy says three things, and nothing else in the code says them again:
how it chooses (`choose`), how it goes on when the holder lets the lead go under
the SLA (`reassign`, over the remaining available candidates), and how it is
explained (`summary`, `passed_over`). The compiler resolves `pick KIND` here (an
unknown kind fails when the policy is checked or compiled, never when a lead is
decided); the checks read `words` and `draws`; explanations ask the strategy.

Adding a strategy: a subclass here and its entry in `PICKS`, one alternative in
the grammar (policyd/lang/policy.lark), docs/language.md, and tests.

A strategy returns `(rep index, updates)`; `updates` are the rotation moves
`state.apply` makes (`("cursor", key, rep)`, `("wrr", key, weights)`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ..lang.levers import share_kind, share_members
from .availability import available, counted, gate, open_counts
from .decision import Decision
from .draw import draw, draw_index
from .hours import period_key, zone
from .roster import NEVER, Roster, rank
from .state import State

Choice = tuple[int, tuple]


@dataclass(frozen=True, slots=True)
class Seen:
    """What a pick saw, for its explanation: the state, the candidates and the rep it chose."""

    roster: Roster
    opens: Sequence[int]
    state: State
    key: str
    candidates: tuple[int, ...]
    chosen: int
    at: float | None = None  # the time of the decision (shares are kept per period)

    def load(self, i: int) -> str:
        cap = self.roster.capacity[i]
        o = self.opens[i]
        return f"{o}/{cap} = {o / cap:.2f}" if cap else f"{o}/0"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}".rstrip("0").rstrip(".")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class Strategy:
    """One way to pick. Subclasses set `name` (as in the model), `words` (as written)."""

    name = ""
    words = ""
    draws = False  # reads the lead id for a verifiable draw: the lead needs an `id` field
    reads_opens = False  # reads the open counts (else the compiled pipeline need not build them)
    each_reason = False  # every candidate passed over has its own reason (else: they wait their turn)
    takes_time = False  # `choose` also takes the time of the decision (the pipeline passes `at`)
    sample = ""  # a whole `pick` line's words, for docs and tests (default: `words`)

    def bind(self, node) -> Strategy:
        """The strategy configured by its `pick` line (most take no options: themselves)."""
        return self

    def choose(self, r: Roster, O: Sequence[int], state: State, seed: str, lead_id: str, key: str, cands: list[int]) -> Choice:
        raise NotImplementedError

    def reassign(
        self, r: Roster, O: Sequence[int], state: State, seed: str, lead_id: str, key: str, cands: list[int], attempt: int
    ) -> Choice:
        """The next holder among the remaining candidates; by default the same choice on today's state."""
        return self.choose(r, O, state, seed, lead_id, key, cands)

    def summary(self, seen: Seen) -> str:
        raise NotImplementedError

    def passed_over(self, seen: Seen, i: int) -> str:
        raise NotImplementedError


# ---------------------------------------------------------------- least loaded
def _rank(seen: Seen, i: int) -> tuple:
    r = seen.roster
    return rank(r.capacity[i], seen.opens[i], seen.state.last.get(r.rep_names[i], NEVER), i)


def _load_words(seen: Seen, i: int, w: int) -> str:
    return f"load {seen.load(i)}, higher than {seen.roster.rep_names[w]}'s {_rank(seen, w)[0]:.2f}"


def _open_words(seen: Seen, i: int, w: int) -> str:
    return f"same load as {seen.roster.rep_names[w]}, more open leads ({seen.opens[i]} vs {seen.opens[w]})"


def _since_words(seen: Seen, i: int, w: int) -> str:
    return f"same load and open count as {seen.roster.rep_names[w]}, assigned more recently"


# Why a rep lost to the chosen one, by the first part of their ranks (roster.rank) that differs
RANK_WORDS: tuple[Callable[[Seen, int, int], str], ...] = (_load_words, _open_words, _since_words)


class LeastLoaded(Strategy):
    name = "least_loaded"
    words = "least loaded"
    each_reason = True
    reads_opens = True

    def choose(self, r, O, state, seed, lead_id, key, cands):
        """The lowest rank (roster.rank). The state's reading keeps every rep's rank beside
        the open counts `O` it came with; other counts (an SLA move's) are ranked here."""
        if len(cands) == 1:
            return cands[0], ()
        s = state._seats
        if s is not None and s[1] is O:
            return min(cands, key=s[3].__getitem__), ()
        cap, last, names = r.capacity, state.last, r.rep_names
        return min([rank(cap[i], O[i], last.get(names[i], NEVER), i) for i in cands])[3], ()

    def summary(self, seen):
        n = _plural(len(seen.candidates), "candidate")
        return f"{seen.roster.rep_names[seen.chosen]} (load {seen.load(seen.chosen)}) from {n}"

    def passed_over(self, seen, i):
        w = seen.chosen
        for a, b, words in zip(_rank(seen, i), _rank(seen, w), RANK_WORDS):
            if a != b:
                return words(seen, i, w)
        name = seen.roster.rep_names[w]
        return f"tied with {name} on load ({seen.load(i)}), open count and last assignment; {name} comes first in team order"


# ---------------------------------------------------------------- rotations and draws
class RoundRobin(Strategy):
    name = "round_robin"
    words = "round robin"

    def choose(self, r, O, state, seed, lead_id, key, cands):
        """The first candidate after the rep this pipeline picked last, in team order, wrapping."""
        last = state.cursors.get(key)
        k = bisect_right(cands, r.rep_index.get(last, -1)) if last is not None else 0
        i = cands[k] if k < len(cands) else cands[0]
        return i, (("cursor", key, r.rep_names[i]),)

    def summary(self, seen):
        after = seen.state.cursors.get(seen.key, "the start of the team")
        return f"{seen.roster.rep_names[seen.chosen]}: next in rotation after {after}"

    def passed_over(self, seen, i):
        return f"{seen.roster.rep_names[seen.chosen]} comes first in the rotation"


class Weighted(Strategy):
    name = "weighted"
    words = "weighted"

    def choose(self, r, O, state, seed, lead_id, key, cands):
        """Smooth weighted round robin (as nginx), over this pipeline's current weights."""
        current = state.wrr.get(key, {})
        names, weights = r.rep_names, r.weights
        cw = {names[i]: current.get(names[i], 0.0) + weights[i] for i in cands}
        total = math.fsum(weights[i] for i in cands)
        best = max(cands, key=lambda i: (cw[names[i]], -i))
        new = dict(current)
        new.update(cw)
        new[names[best]] -= total
        return best, (("wrr", key, new),)

    def summary(self, seen):
        w = seen.chosen
        return f"{seen.roster.rep_names[w]}: next by smooth weighted rotation (weight {_num(seen.roster.weights[w])})"

    def passed_over(self, seen, i):
        return f"{seen.roster.rep_names[seen.chosen]} is next in the weighted rotation"


class Random(Strategy):
    name = "random"
    words = "random"
    draws = True

    def choose(self, r, O, state, seed, lead_id, key, cands):
        """`draw(seed, lead id, "pick:KEY")`: anyone with the seed can check it."""
        return cands[draw_index(draw(seed, lead_id, f"pick:{key}"), None, len(cands))], ()

    def reassign(self, r, O, state, seed, lead_id, key, cands, attempt):
        """A fresh verifiable draw per move: the purpose names the attempt."""
        return cands[draw_index(draw(seed, lead_id, f"pick:{key}:reassign:{attempt}"), None, len(cands))], ()

    def summary(self, seen):
        return f"{seen.roster.rep_names[seen.chosen]}: drawn at random from {_plural(len(seen.candidates), 'candidate')}"

    def passed_over(self, seen, i):
        return f"the draw chose {seen.roster.rep_names[seen.chosen]}"


DEFAULT_PICK = "least_loaded"  # a pipeline without `pick`, and moves of leads no pick placed


# ---------------------------------------------------------------- target shares
class Shares(Strategy):
    """`pick shares veteran 50%, mid 30%, new 20% per month then least loaded`; a share may
    name a level, a team `group`, or `others` (every rep in none of the other shares).

    The pipeline's assignments are counted by share per period (`state.counts`, key
    `share:KEY:UNIT:PERIOD`, moved by `state.apply`). Each lead goes to the share with a
    candidate that is furthest below its target if it got this lead (target x (placed
    + 1) - placed by that share; ties: the order written), and the `then` strategy
    chooses inside that share (a rotation keeps one cursor per share, `KEY:SHARE`).
    Reps in no share get leads only when no share has a candidate. A move under the SLA
    is not counted toward the shares and goes least loaded over the remaining candidates.
    """

    name = "shares"
    words = "shares"
    sample = "shares new 100%"
    reads_opens = True
    takes_time = True
    each_reason = True

    def __init__(self, targets: tuple[tuple[str, float], ...] = (), per: str = "month", inner: str = DEFAULT_PICK):
        self.targets, self.per, self.inner = targets, per, inner
        self._of: tuple[Roster, tuple[str | None, ...]] | None = None

    def bind(self, node) -> Strategy:
        return Shares(tuple(node.shares), node.per, node.then or DEFAULT_PICK)

    def share_of(self, r: Roster) -> tuple[str | None, ...]:
        """Per rep (team order) the share it counts toward, or None (`lang.levers.share_members`, once per roster)."""
        if self._of is None or self._of[0] is not r:
            members = share_members(r.team, tuple(g for g, _ in self.targets))
            of: list[str | None] = [None] * len(r.rep_names)
            for g, names in members.items():
                for n in names:
                    if of[r.rep_index[n]] is None:
                        of[r.rep_index[n]] = g
            self._of = (r, tuple(of))
        return self._of[1]

    def counter(self, r: Roster, key: str, at: float | None) -> str:
        label = period_key(self.per, at, zone(r.zone_name)).split(":", 1)[1] if at is not None else "any"
        return f"share:{key}:{self.per}:{label}"

    def _group(self, r: Roster, state: State, key: str, cands: Sequence[int], at: float | None):
        done = state.counts.get(self.counter(r, key, at), {})
        total = sum(done.get(g, 0) for g, _ in self.targets)
        of = self.share_of(r)
        best = None
        for g, pct in self.targets:
            members = [i for i in cands if of[i] == g]
            if members:
                gap = pct / 100.0 * (total + 1) - done.get(g, 0)
                if best is None or gap > best[0]:
                    best = (gap, g, members)
        return (None, list(cands), done, total) if best is None else (best[1], best[2], done, total)

    def choose(self, r, O, state, seed, lead_id, key, cands, at=None):
        inner = PICKS[self.inner]
        g, members, _, _ = self._group(r, state, key, cands, at)
        i, updates = inner.choose(r, O, state, seed, lead_id, f"{key}:{g}" if g is not None else key, members)
        return i, (updates + (("count", self.counter(r, key, at), g),) if g is not None else updates)

    def reassign(self, r, O, state, seed, lead_id, key, cands, attempt):
        return PICKS[self.inner].reassign(r, O, state, seed, lead_id, key, cands, attempt)

    def label(self, r: Roster, g: str) -> str:
        """`level mid`, `group closers` or `others`, as the explanation names a share."""
        kind = share_kind(r.team, g)
        return "others" if kind == "others" else f"{kind} {g}"

    def _by_level(self, r: Roster) -> bool:
        return all(share_kind(r.team, g) == "level" for g, _ in self.targets)

    def _standing(self, seen: Seen, g: str) -> str:
        _, _, done, total = self._group(seen.roster, seen.state, seen.key, seen.candidates, seen.at)
        target = dict(self.targets).get(g)
        got = done.get(g, 0)
        share = f"{got / total:.0%}" if total else "0%"
        return f"{self.label(seen.roster, g)} has {got} of {total} this {self.per} ({share}, share {target:g}%)"

    def _inner_seen(self, seen: Seen, g: str) -> Seen:
        of = self.share_of(seen.roster)
        members = tuple(i for i in seen.candidates if of[i] == g)
        return Seen(seen.roster, seen.opens, seen.state, f"{seen.key}:{g}", members, seen.chosen, seen.at)

    def summary(self, seen):
        g = self.share_of(seen.roster)[seen.chosen]
        name = seen.roster.rep_names[seen.chosen]
        if g is None:
            nobody = "no level with a share" if self._by_level(seen.roster) else "no share"
            return f"{name}: {nobody} has a candidate; then {PICKS[self.inner].words}"
        inner = PICKS[self.inner].summary(self._inner_seen(seen, g))
        return (
            f"{name}: {self._standing(seen, g)}, the furthest below its share counting this lead; then {PICKS[self.inner].words}: {inner}"
        )

    def passed_over(self, seen, i):
        of = self.share_of(seen.roster)
        g, mine = of[seen.chosen], of[i]
        if mine != g:
            if mine is None:
                return (
                    f"level {seen.roster.levels[i]} has no share"
                    if self._by_level(seen.roster)
                    else f"{seen.roster.rep_names[i]} is in no share of this pick"
                )
            return f"{self._standing(seen, mine)}; {self.label(seen.roster, g)} is further below its share"
        return PICKS[self.inner].passed_over(self._inner_seen(seen, g), i)


PICKS: Mapping[str, Strategy] = MappingProxyType({s.name: s for s in (LeastLoaded(), RoundRobin(), Weighted(), Random(), Shares())})


class UnknownPick(ValueError):
    """A `pick` kind the registry does not know."""


def strategy(kind: str) -> Strategy:
    """The strategy for a `pick` kind, or UnknownPick naming the known ones."""
    s = PICKS.get(kind)
    if s is None:
        raise UnknownPick(f"unknown pick `{kind}`; expected one of {', '.join(s.words for s in PICKS.values())}")
    return s


def least_loaded(r: Roster, O: Sequence[int], state: State, cands: list[int]) -> int:
    """The least-loaded choice (also the order SLA moves use for leads no pick placed)."""
    return PICKS[DEFAULT_PICK].choose(r, O, state, "", "", "", cands)[0]


# ---------------------------------------------------------------- SLA moves
@dataclass(frozen=True, slots=True)
class Move:
    """Where a lead goes next: the rep, and the rotation updates that placement makes."""

    rep: str
    updates: tuple = ()


def next_holder(r: Roster, state: State, decision: Decision, tried: Collection[str], attempt: int, at: float | None = None) -> Move | None:
    """Who takes a lead its holder let go (SLA): the decision's pick, continued.

    The candidates are the decision's own (those its pick chose among), less the reps
    in `tried` and those not available in `state`; the decision's strategy chooses
    among them as it would have (a rotation goes on from where it stands, a random
    pick draws again with `attempt` in the purpose). A lead placed by a lottery or
    `assign` moves by least loaded. None: nobody is left. At `at`, reps over a cap or
    outside their working hours are not candidates, and the move counts toward caps.
    """
    O = open_counts(r, state)
    free = set(available(r, O, state.away))
    if at is not None and r.timed:
        free = set(gate(r, state, at, sorted(free)))
    gone = set(tried)
    index = r.rep_index
    cands = sorted(i for n in decision.candidates if (i := index.get(n)) is not None and i in free and n not in gone)
    if not cands:
        return None
    s = PICKS.get(decision.pick or "") or PICKS[DEFAULT_PICK]
    i, updates = s.reassign(r, O, state, decision.seed, decision.lead_id or "", decision.pipeline or "", cands, attempt)
    return Move(r.rep_names[i], updates + counted(r, at))
