"""Compile a checked policy into tables and generated Python functions.

Conditions become Python expressions compiled once (lead conditions over the lead
dict `L`; rep conditions as list comprehensions over candidate rep indices), so a
decision runs plain bytecode with no tree walking. decide.py drives these pieces;
a `pick` is resolved in the registry (picks.py) here, so an unknown kind fails
when the policy is compiled, not when a lead is decided.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from ..lang import model as m
from . import precedence
from .availability import blocker, counted, gate, seat_of, seated_of
from .picks import DEFAULT_PICK, strategy
from .pipeline import ASSIGN, LOTTERY, PICK, PREFER, QUEUE, REQUIRE, PipelineFn, generate
from .quota import attainment
from .roster import Roster
from .schema import LeadSchema

REP_ATTRIBUTES = ("load", "open", "quota", "capacity", "weight")
MAX_FIXED_ANSWERS = 256  # lead-field values a state-free rep condition has its answers worked out for


@dataclass(frozen=True, slots=True)
class CStep:
    kind: int
    index: int  # position in the model's steps, for the trace
    node: Any  # the model step, for explanations
    fn: Any = None  # REQUIRE: filter; PREFER: tuple of filters; PICK: the strategy's choose
    arg: Any = None  # LOTTERY: (ratio, by_weight); PICK: kind; ASSIGN: (field or None, rep index); QUEUE: name
    reads: frozenset[str] = frozenset()  # the state's team lists the step reads: "O" open counts, "Q" quota


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A route or exception compiled: its steps, where it goes when empty, and `run` (pipeline.py)."""

    key: str  # "route:high" / "exception:strategic": the cursor key
    kind: str  # route | exception
    name: str
    steps: tuple[CStep, ...]
    otherwise_route: str | None
    otherwise_queue: str | None
    node: Any
    run: PipelineFn  # the fast path
    run_traced: PipelineFn  # the same, recording the trace


MAX_TIER_TABLE = 100_000  # totals held in a dict at most; wider tiers are scanned


class TierRanges:
    """Tier lookup for wide ranges: the first (low, high) in file order holding the total."""

    __slots__ = ("ranges",)

    def __init__(self, ranges: tuple[tuple[int, int], ...]):
        self.ranges = ranges

    def get(self, total: int, default: int | None = None) -> int | None:
        for ti, (low, high) in enumerate(self.ranges):
            if low <= total <= high:
                return ti
        return default


class Compiled(Roster):
    """A policy ready to decide. Build with `compile_policy`."""

    def __init__(self, policy: m.Policy):
        super().__init__(policy.team)
        self.policy = policy
        self.seat = seat_of(self)
        self.avail_only = seat_of(self, opens=False)
        self.seated = seated_of(self)
        self.schema = LeadSchema(policy.fields, self.rep_names)
        self.fields = {f.name: f for f in policy.fields}
        self.has_id = "id" in self.fields
        self.tiers = policy.tiers
        self.tier_names = tuple(t.name for t in policy.tiers)
        self.scores = policy.scores
        self._tests: dict[Any, Callable] = {}
        self._hoist: dict[str, str] | None = None
        self._ns: dict[str, Any] = {
            "SK": self.skills,
            "LV": self.levels,
            "SP": self.speaks,
            "CAP": self.capacity,
            "W": self.weights,
            "NM": self.rep_names,
            "D": self.skill_default,
        }
        self.score_points = tuple(tuple(line.points for line in s.lines) for s in policy.scores)
        self.tier_by_total = self._tier_table(policy.tiers)
        self.exceptions = tuple(self._pipeline("exception", e.name, e.steps, e) for e in policy.exceptions)
        self.routes = {r.tier: self._pipeline("route", r.tier, r.steps, r) for r in policy.routes}
        self.route_of_tier: tuple[Pipeline | None, ...] = tuple(self.routes.get(t.name) for t in policy.tiers)
        # the precedence, generated (precedence.py): `score_fn` is the scoring rule, `first_rule`
        # and `next_rule` the rule that places a lead
        self.score_fn, self.first_rule, self.next_rule = precedence.generate(
            policy.scores,
            [e.when for e in policy.exceptions],
            self.exceptions,
            self.tier_by_total,
            self.route_of_tier,
            self.lead_expr,
            self._ns,
        )
        self.sla = {s.tier: s for s in policy.sla}

    # ---------------------------------------------------------------- lead conditions
    def lead_expr(self, c: m.Cond) -> str:
        """Python source for a lead condition over `L` (a validated lead dict)."""
        if isinstance(c, m.And):
            return "(" + " and ".join(self.lead_expr(i) for i in c.items) + ")"
        if isinstance(c, m.Or):
            return "(" + " or ".join(self.lead_expr(i) for i in c.items) + ")"
        if isinstance(c, m.Not):
            return f"(not {self.lead_expr(c.item)})"
        if isinstance(c, m.IsSet):
            return f"({self._field(c.name)} is {'' if c.negated else 'not '}None)"
        if isinstance(c, m.Is):
            words = tuple(c.words)
            test = f"{self._field(c.name)} {'not in' if c.negated else 'in'} {words!r}"
            return self._guard([c.name], test)
        if isinstance(c, m.Flag):
            return f"({self._field(c.name)} is True)"
        if isinstance(c, m.Compare):
            left, lf = self._lead_operand(c.left)
            right, rf = self._lead_operand(c.right)
            return self._guard(lf + rf, f"{left} {c.op} {right}")
        raise ValueError(f"not a lead condition: {c!r}")

    def _field(self, name: str) -> str:
        """A lead field in generated source: `L[name]`, or a local read once when a rep filter hoists it."""
        hoist = self._hoist
        if hoist is None:
            return f"L[{name!r}]"
        return hoist.setdefault(name, f"_f{len(hoist)}")

    def _lead_operand(self, o: m.Operand) -> tuple[str, list[str]]:
        if isinstance(o, m.FieldRef):
            return f"{self._field(o.name)}", [o.name]
        if isinstance(o, m.Num):
            return repr(o.value), []
        if isinstance(o, m.Str):
            return repr(o.value), []
        raise ValueError(f"not a lead operand: {o!r}")

    def _guard(self, names: Sequence[str], test: str) -> str:
        """A comparison with a missing value is false: guard optional fields only."""
        checks = [f"{self._field(n)} is not None" for n in dict.fromkeys(names) if self._may_be_missing(n)]
        return "(" + " and ".join(checks + [test]) + ")"

    def _may_be_missing(self, name: str) -> bool:
        f = self.fields.get(name)
        return f is None or (f.optional and not f.has_default)

    def _lead_fn(self, c: m.Cond) -> Callable[[dict], bool]:
        return eval(f"lambda L: {self.lead_expr(c)}", dict(self._ns))  # noqa: S307 - our own generated source

    def line_test(self, block: int, line: int) -> Callable[[dict], bool]:
        """Whether one score line's condition holds for a lead, on its own (the analysis
        asks which later lines an earlier one shadows); `score_fn` is the scoring rule."""
        cond = self.scores[block].lines[line].cond
        return (lambda L: True) if cond is None else self._cached(("line", block, line), lambda: self._lead_fn(cond))

    def _cached(self, key: Any, build: Callable[[], Callable]) -> Callable:
        fn = self._tests.get(key)
        if fn is None:
            fn = self._tests[key] = build()
        return fn

    @staticmethod
    def _tier_table(tiers: Sequence[m.Tier]) -> dict[int, int] | TierRanges:
        """Total -> tier index: a dict while the ranges are small, else a scan of the ranges.

        `tiers { high 10..1000000000 }` must not build a billion entries; both forms
        answer `.get(total)` the same way (the first tier in file order wins an overlap).
        """
        if sum(max(0, t.high - t.low + 1) for t in tiers) > MAX_TIER_TABLE:
            return TierRanges(tuple((t.low, t.high) for t in tiers))
        table: dict[int, int] = {}
        for ti, t in enumerate(tiers):
            for total in range(t.low, t.high + 1):
                table.setdefault(total, ti)
        return table

    # ---------------------------------------------------------------- rep conditions
    def rep_expr(self, c: m.Cond) -> str:
        """Python source for a rep condition over rep index `r` (O: open counts, Q: quota)."""
        if isinstance(c, m.And):
            return "(" + " and ".join(self.rep_expr(i) for i in c.items) + ")"
        if isinstance(c, m.Or):
            return "(" + " or ".join(self.rep_expr(i) for i in c.items) + ")"
        if isinstance(c, m.Not):
            return f"(not {self.rep_expr(c.item)})"
        if isinstance(c, m.Flag):
            if c.name in self.fields and c.name not in self.levels:
                return f"({self._field(c.name)} is True)"
            return f"(LV[r] == {c.name!r})"
        if isinstance(c, m.Speaks):
            if not c.literal and c.name in self.fields:
                return self._guard([c.name], f"{self._field(c.name)} in SP[r]")
            return f"({c.name!r} in SP[r])"
        if isinstance(c, m.Is):
            if c.name == "level" and "level" not in self.fields:
                return f"(LV[r] {'not in' if c.negated else 'in'} {tuple(c.words)!r})"
            if c.name == "rep" and "rep" not in self.fields:
                return f"(NM[r] {'not in' if c.negated else 'in'} {tuple(c.words)!r})"
            return self.lead_expr(c)
        if isinstance(c, m.IsSet):
            return self.lead_expr(c)
        if isinstance(c, m.Compare):
            left, lf = self._rep_operand(c.left)
            right, rf = self._rep_operand(c.right)
            return self._guard(lf + rf, f"{left} {c.op} {right}")
        raise ValueError(f"not a rep condition: {c!r}")

    def _rep_operand(self, o: m.Operand) -> tuple[str, list[str]]:
        if isinstance(o, m.SkillRef):
            if o.name in self.fields:
                return f"SK[r].get({self._field(o.name)}, D)", [o.name]
            return f"SK[r].get({o.name!r}, D)", []
        if isinstance(o, m.FieldRef) and o.name not in self.fields and o.name in REP_ATTRIBUTES:
            return {
                "load": "(O[r] / CAP[r] if CAP[r] else 1.0)",
                "open": "O[r]",
                "quota": "Q[r]",
                "capacity": "CAP[r]",
                "weight": "W[r]",
            }[o.name], []
        return self._lead_operand(o)

    def rep_filter(self, c: m.Cond) -> Callable[[dict, list, list, list], list]:
        """The candidates that meet a rep condition, in order; each lead field is read once, not per rep."""
        self._hoist = {}
        try:
            test = self.rep_expr(c)
            hoisted = dict(self._hoist)
        finally:
            self._hoist = None
        reads = [f"    {var} = L[{name!r}]" for name, var in hoisted.items()]
        ns = dict(self._ns)
        ns["EVERYONE"] = self.indices
        fast = self._fixed_answers(test, hoisted, ns) if not self._reads(c) else []
        src = "\n".join(["def keep(L, O, Q, cands):", *reads, *fast, f"    return [r for r in cands if {test}]"])
        exec(src, ns)  # noqa: S102 - our own generated source
        return ns["keep"]

    def _fixed_answers(self, test: str, hoisted: dict[str, str], ns: dict[str, Any]) -> list[str]:
        """A condition that reads no state has one answer per value of the lead fields it reads:
        when those fields have few values (words, flags, reps), each answer is worked out here
        once, and `keep` looks it up (the whole team's answer at once when every rep is a
        candidate). Source lines for `keep`, or none when the fields have too many values."""
        domains = []
        for name in hoisted:
            f = self.fields.get(name)
            kind = f.type.kind if f is not None else ""
            values = {"enum": f.type.words, "bool": (True, False), "rep": self.rep_names}.get(kind) if f is not None else None
            if values is None:
                return []
            domains.append((*values, None) if self._may_be_missing(name) else tuple(values))
        if math.prod(len(d) for d in domains) > MAX_FIXED_ANSWERS:
            return []
        args = ", ".join(hoisted.values())
        exec(f"def answer({args}):\n    return tuple([r for r in EVERYONE if {test}])", ns)  # noqa: S102 - our own generated source
        table = {}
        for values in product(*domains):
            try:
                passing = ns["answer"](*values)
            except Exception:  # a value the checks rule out for this condition: ask at decision time
                return []
            table[values[0] if len(values) == 1 else values] = (passing, tuple(r in passing for r in self.indices))
        ns["FIXED"] = table
        key = args if len(hoisted) != 1 else next(iter(hoisted.values()))
        if not hoisted:
            return [
                "    if cands is EVERYONE:",
                "        return list(FIXED[()][0])",
                "    m = FIXED[()][1]",
                "    return [r for r in cands if m[r]]",
            ]
        return [
            f"    t = FIXED.get(({key}))",
            "    if t is not None:",
            "        if cands is EVERYONE:",
            "            return list(t[0])",
            "        m = t[1]",
            "        return [r for r in cands if m[r]]",
        ]

    def rep_test(self, c: m.Cond) -> Callable[[dict, list, list, int], bool]:
        """One rep's truth value for a condition, for explanations ("why not REP"); cached."""
        return self._cached(id(c), lambda: eval(f"lambda L, O, Q, r: bool({self.rep_expr(c)})", dict(self._ns)))  # noqa: S307

    # ---------------------------------------------------------------- pipelines
    def _pipeline(self, kind: str, name: str, steps: Sequence[m.Step], node: Any) -> Pipeline:
        out: list[CStep] = []
        otherwise_route = otherwise_queue = None
        has_pick = False
        for i, s in enumerate(steps):
            if isinstance(s, m.Lottery):
                out.append(CStep(LOTTERY, i, s, arg=(s.percent / 100.0, s.by_weight)))
            elif isinstance(s, m.Require):
                out.append(CStep(REQUIRE, i, s, fn=self.rep_filter(s.cond), reads=self._reads(s.cond)))
            elif isinstance(s, m.Prefer):
                fns = tuple(self.rep_filter(o) for o in s.options)
                out.append(CStep(PREFER, i, s, fn=fns, reads=frozenset().union(*map(self._reads, s.options))))
            elif isinstance(s, m.Pick):
                has_pick = True
                pick = strategy(s.kind).bind(s)
                out.append(CStep(PICK, i, s, fn=pick.choose, arg=s.kind, reads=frozenset("O" if pick.reads_opens else "") | _timed(pick)))
            elif isinstance(s, m.Assign):
                field = s.name if s.name in self.fields else None
                out.append(CStep(ASSIGN, i, s, arg=(field, self.rep_index.get(s.name, -1))))
            elif isinstance(s, m.QueueAction):
                out.append(CStep(QUEUE, i, s, arg=s.queue))
            elif isinstance(s, m.OtherwiseRoute):
                otherwise_route = s.tier
            elif isinstance(s, m.OtherwiseQueue):
                otherwise_queue = s.queue
        if not has_pick and not any(st.kind in (ASSIGN, QUEUE) for st in out):
            implied = m.Pick(DEFAULT_PICK, getattr(node, "span", m.NO_SPAN))
            pick = strategy(DEFAULT_PICK)
            out.append(CStep(PICK, -1, implied, fn=pick.choose, arg=DEFAULT_PICK, reads=frozenset("O" if pick.reads_opens else "")))
        key = f"{kind}:{name}"
        run, run_traced = generate(key, out, otherwise_route, otherwise_queue, self._tables())
        return Pipeline(key, kind, name, tuple(out), otherwise_route, otherwise_queue, node, run, run_traced)

    def _reads(self, c: m.Cond) -> frozenset[str]:
        """Which state lists a rep condition's generated source reads (never misses one: it looks at the source)."""
        src = self.rep_expr(c)
        return frozenset(x for x in ("O", "Q") if f"{x}[r]" in src)

    def _tables(self) -> dict[str, Any]:
        """What generated pipelines read: the team and the state in team order."""
        names, zeros = self.rep_names, self.zeros

        def quota(sq):
            return list(map(sq.get, names, zeros))

        tables = {"R": self, "NM": names, "W": self.weights, "RI": self.rep_index, "SEATED": self.seated, "AVAIL": self.avail_only}
        tables["BLOCKER"] = blocker
        if self.timed:
            tables["GATE"] = gate
        if self.cap_units:
            tables["COUNT"] = counted
        if self.has_quota:
            tables["LIVEQ"] = attainment
        return tables | {"QUOTA": quota, "ZQ": zeros}

    def score_range(self) -> tuple[int, int]:
        """Lowest and highest total a lead can score (each block's min and max line)."""
        low = high = 0
        for s in self.scores:
            pts = [line.points for line in s.lines] or [0]
            if not any(line.cond is None for line in s.lines):
                pts.append(0)
            low += min(pts)
            high += max(pts)
        return low, high


def _timed(pick) -> frozenset[str]:
    """ "T": the strategy's `choose` takes the time of the decision (pipeline.py passes `at`)."""
    return frozenset("T") if pick.takes_time else frozenset()


def compile_policy(policy: m.Policy) -> Compiled:
    """Compile a policy that has passed `check` without errors."""
    return Compiled(policy)
