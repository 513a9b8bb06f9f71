"""Tree to model, the blocks that shape decisions: identity, lead schema, scores, tiers,
team, exceptions, routes and SLA."""

from __future__ import annotations

from dataclasses import replace

from lark import v_args

from . import model as m
from .diagnostics import ERROR, Diagnostic
from .tree_base import Lit, Text, TreeBase

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def day_numbers(text: str) -> tuple[int, ...]:
    """`mon-fri,sun` as weekday numbers (0 Monday), in week order; a range wraps (`fri-mon`)."""
    out: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        lo, hi = DAY_NAMES.index(a), DAY_NAMES.index(b or a)
        out.update(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)])
    return tuple(sorted(out))


# The words conditions are made of (docs/language.md, Names): a value spelt as one of them
# would make `FIELD is missing` / `FIELD is set` ambiguous, so an enum refuses them.
CONDITION_WORDS = frozenset(("and", "or", "not", "is", "in", "set", "missing", "when", "otherwise", "then"))


class BlockRules(TreeBase):
    """The transformer rules of every block but `example`."""

    # identity
    @v_args(meta=True)
    def policy_block(self, meta, ch):
        name = ch[0]
        title = ch[1].value if len(ch) > 1 and isinstance(ch[1], Text) else name.value
        owner = review = None
        for c in ch[1:]:
            if isinstance(c, tuple) and c[0] == "owner":
                owner = c[1]
            elif isinstance(c, tuple) and c[0] == "review":
                review = c[1]
        approvals = tuple(c for c in ch[1:] if isinstance(c, m.Approve))
        return m.PolicyInfo(name.value, title, owner, review, self._span(meta), approvals)

    def owner_stmt(self, ch):
        return ("owner", ch[0].value)

    def review_stmt(self, ch):
        n = self._int(ch[0], "the review period")
        return ("review", f"every {n} {ch[1]}")

    @v_args(meta=True)
    def approve_versions(self, meta, ch):
        return m.Approve("versions", span=self._span(meta))

    @v_args(meta=True)
    def approve_overrides_of(self, meta, ch):
        return m.Approve("overrides_of", what=str(ch[0]), span=self._span(meta))

    @v_args(meta=True)
    def approve_overrides_over(self, meta, ch):
        unit = str(ch[1]).removesuffix("s")
        return m.Approve("overrides_over", limit=self._int(ch[0], "the number of overrides"), per=unit, span=self._span(meta))

    # lead schema
    @v_args(meta=True)
    def lead_block(self, meta, ch):
        return ("lead", tuple(ch), self._span(meta))

    @v_args(meta=True)
    def field_decl(self, meta, ch):
        name, ftype = ch[0], ch[1]
        optional = any(c == "?" for c in ch[2:])
        default = None
        has_default = False
        for c in ch[2:]:
            if isinstance(c, tuple) and c[0] == "default":
                default, has_default = c[1], True
        return m.LeadField(name.value, ftype, optional, default, has_default, name.span)

    def optional_mark(self, ch):
        return "?"

    def default(self, ch):
        return ("default", ch[0])

    def type_int(self, ch):
        return m.FieldType("int")

    def type_number(self, ch):
        return m.FieldType("number")

    def type_text(self, ch):
        return m.FieldType("text")

    def type_bool(self, ch):
        return m.FieldType("bool")

    def type_rep(self, ch):
        return m.FieldType("rep")

    def type_enum(self, ch):
        for c in ch:
            if c.value in CONDITION_WORDS:
                self.problems.append(
                    Diagnostic(
                        "P014",
                        ERROR,
                        c.span,
                        f"`{c.value}` is a condition word, so it cannot be a value of an enum (no condition could test for it)",
                        f'rename it, e.g. `{c.value}_value`; a replay mapping can rewrite an export\'s "{c.value.title()}" with '
                        f'values = {{ {c.value.title()} = "{c.value}_value" }}',
                    )
                )
        return m.FieldType("enum", tuple(c.value for c in ch))

    def lit_str(self, ch):
        return Lit(ch[0].value, "text", ch[0].span)

    def lit_num(self, ch):
        return Lit(ch[0].value, "number", ch[0].span)

    def lit_word(self, ch):
        return Lit(ch[0].value, "word", ch[0].span)

    # scores and tiers
    @v_args(meta=True)
    def score_block(self, meta, ch):
        return m.Score(ch[0].value, tuple(ch[1:]), self._span(meta))

    @v_args(meta=True)
    def score_when(self, meta, ch):
        return m.ScoreLine(self._int(ch[0], "points"), ch[1], self._span(meta))

    @v_args(meta=True)
    def score_otherwise(self, meta, ch):
        return m.ScoreLine(self._int(ch[0], "points"), None, self._span(meta))

    @v_args(meta=True)
    def tiers_block(self, meta, ch):
        return ("tiers", tuple(ch), self._span(meta))

    @v_args(meta=True)
    def tier_decl(self, meta, ch):
        return m.Tier(ch[0].value, self._int(ch[1], "a tier bound"), self._int(ch[2], "a tier bound"), ch[0].span)

    # team
    @v_args(meta=True)
    def team_from(self, meta, ch):
        return ("team_from", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def team_block(self, meta, ch):
        low, high, default, capacity = 1, 3, 1, None
        reps: list[dict] = []
        caps: list[m.Cap] = []
        hours = None
        holidays: list[str] = []
        level_weights: list[tuple[str, float]] = []
        quotas: list[m.Quota] = []
        groups: list[m.Group] = []
        for c in ch:
            kind = c[0]
            if kind == "team_group":
                groups.append(c[1])
            elif kind == "team_cap":
                caps.append(c[1])
            elif kind == "team_hours":
                hours = c[1]
            elif kind == "holidays":
                holidays.extend(c[1])
            elif kind == "level_weight":
                level_weights.append(c[1])
            elif kind == "team_quota":
                quotas.append(c[1])
            elif kind == "scale":
                low, high, default = c[1], c[2], c[3] if c[3] is not None else c[1]
            elif kind == "capacity_default":
                capacity = c[1]
            elif kind == "rep":
                reps.append(
                    {"name": c[1], "level": c[2], "capacity": None, "weight": None, "speaks": (), "skills": (), "span": c[3], "caps": ()}
                    | {"hours": None, "quota": None}
                )
            else:
                if not reps:
                    self.problems.append(
                        Diagnostic("P009", ERROR, c[-1], f"`{c[0]}` must follow a `rep` line", "declare the rep first: `rep NAME LEVEL`")
                    )
                    continue
                if kind == "cap":
                    reps[-1]["caps"] += (replace(c[1], scope=reps[-1]["name"]),)
                elif kind == "quota":
                    reps[-1]["quota"] = replace(c[1], scope=reps[-1]["name"])
                else:
                    reps[-1][kind] = c[1] if kind != "skills" else reps[-1]["skills"] + c[1]
        built = tuple(
            m.Rep(
                r["name"],
                r["level"],
                r["capacity"],
                r["weight"],
                tuple(r["speaks"]),
                tuple(r["skills"]),
                r["span"],
                r["caps"],
                r["hours"],
                r["quota"],
            )
            for r in reps
        )
        span = self._span(meta)
        team = m.Team(low, high, default, capacity if capacity is not None else 25, built, span)
        levers = {"caps": tuple(caps), "hours": hours, "holidays": tuple(holidays), "level_weights": tuple(level_weights)}
        return ("team", replace(team, quotas=tuple(quotas), groups=tuple(groups), **levers), span)

    @v_args(meta=True)
    def team_group(self, meta, ch):
        span = self._span(meta)
        return ("team_group", m.Group(ch[0].value, tuple(c.value for c in ch[1:]), span), span)

    # caps, working hours, holidays and level weights
    @v_args(meta=True)
    def team_cap(self, meta, ch):
        return ("team_cap", m.Cap(ch[0].value, self._int(ch[1], "a cap"), self._unit(ch[2]), self._span(meta)), self._span(meta))

    @v_args(meta=True)
    def team_quota(self, meta, ch):
        span = self._span(meta)
        return ("team_quota", self._quota(ch[0].value, ch[1:], span), span)

    @v_args(meta=True)
    def rep_quota(self, meta, ch):
        span = self._span(meta)
        return ("quota", self._quota("", ch, span), span)

    def _quota(self, scope: str, ch, span: m.Span) -> m.Quota:
        deals = len(ch) == 3
        return m.Quota(scope, self._int(ch[0], "a quota"), deals, self._unit(ch[-1]), span)

    @v_args(meta=True)
    def rep_cap(self, meta, ch):
        span = self._span(meta)
        return ("cap", m.Cap("", self._int(ch[0], "a cap"), self._unit(ch[1]), span), span)

    @staticmethod
    def _unit(tok) -> str:
        return str(tok).rstrip("s")

    @v_args(meta=True)
    def team_hours(self, meta, ch):
        return ("team_hours", self._hours(ch, self._span(meta)), self._span(meta))

    @v_args(meta=True)
    def rep_hours(self, meta, ch):
        span = self._span(meta)
        return ("hours", self._hours(ch, span), span)

    def _hours(self, ch, span: m.Span) -> m.Hours:
        days, clock, zone = str(ch[0]), str(ch[1]), str(ch[2])
        start, end = (int(t.split(":")[0]) * 60 + int(t.split(":")[1]) for t in clock.split("-"))
        return m.Hours(day_numbers(days), start, end, zone, f"{days} {clock} in {zone}", span)

    @v_args(meta=True)
    def team_holidays(self, meta, ch):
        return ("holidays", tuple(str(c) for c in ch), self._span(meta))

    @v_args(meta=True)
    def level_weight(self, meta, ch):
        return ("level_weight", (ch[0].value, float(ch[1].value)), self._span(meta))

    @v_args(meta=True)
    def skills_scale(self, meta, ch):
        low = self._int(ch[0], "a skill bound")
        high = self._int(ch[1], "a skill bound")
        default = self._int(ch[2], "the default skill") if len(ch) > 2 else None
        return ("scale", low, high, default, self._span(meta))

    @v_args(meta=True)
    def capacity_default(self, meta, ch):
        return ("capacity_default", self._int(ch[0], "a capacity"), self._span(meta))

    def rep_decl(self, ch):
        return ("rep", ch[0].value, ch[1].value, ch[0].span)

    @v_args(meta=True)
    def rep_capacity(self, meta, ch):
        return ("capacity", self._int(ch[0], "a capacity"), self._span(meta))

    @v_args(meta=True)
    def rep_weight(self, meta, ch):
        return ("weight", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def rep_speaks(self, meta, ch):
        return ("speaks", tuple(c.value for c in ch), self._span(meta))

    @v_args(meta=True)
    def rep_skills(self, meta, ch):
        return ("skills", tuple(ch), self._span(meta))

    def skill_value(self, ch):
        return (ch[0].value, self._int(ch[1], "a skill value"))

    def team_file(self, ch):
        return ch[0]

    # exceptions and routes
    @v_args(meta=True)
    def exception_block(self, meta, ch):
        name = ch[0]
        rest = list(ch[1:])
        why = rest.pop(0).value if rest and isinstance(rest[0], Text) else ""
        when = rest.pop(0)
        return m.Exception_(name.value, why, when, tuple(rest), self._span(meta))

    @v_args(meta=True)
    def route_block(self, meta, ch):
        name = ch[0]
        rest = list(ch[1:])
        why = rest.pop(0).value if rest and isinstance(rest[0], Text) else ""
        return m.Route(name.value, why, tuple(rest), self._span(meta))

    @v_args(meta=True)
    def lottery_step(self, meta, ch):
        return m.Lottery(float(ch[0].value), len(ch) > 1, self._span(meta))

    def lottery_by(self, ch):
        return "weight"

    @v_args(meta=True)
    def require_step(self, meta, ch):
        return m.Require(ch[0], self._span(meta))

    @v_args(meta=True)
    def prefer_step(self, meta, ch):
        return m.Prefer(tuple(ch), self._span(meta))

    @v_args(meta=True)
    def pick_step(self, meta, ch):
        # the grammar names each kind by its alias, `-> pick_KIND`; the engine's registry checks KIND
        kind = str(ch[0].data).removeprefix("pick_")
        if kind != "shares":
            return m.Pick(kind, self._span(meta))
        shares, per, then = [], "month", None
        for c in ch[0].children:
            if c[0] == "share":
                shares.append(c[1])
            elif c[0] == "per":
                per = c[1]
            else:
                then = c[1]
        return m.Pick(kind, self._span(meta), tuple(shares), per, then)

    def share_item(self, ch):
        return ("share", (ch[0].value, float(ch[1].value)))

    def share_per(self, ch):
        return ("per", self._unit(ch[0]))

    def share_then(self, ch):
        return ("then", str(ch[0].data).removeprefix("pick_"))

    @v_args(meta=True)
    def otherwise_route(self, meta, ch):
        return m.OtherwiseRoute(ch[0].value, self._span(meta))

    @v_args(meta=True)
    def otherwise_queue(self, meta, ch):
        return m.OtherwiseQueue(ch[0], self._span(meta))

    @v_args(meta=True)
    def assign_action(self, meta, ch):
        return m.Assign(ch[0].value, self._span(meta))

    @v_args(meta=True)
    def queue_action(self, meta, ch):
        return m.QueueAction(ch[0], self._span(meta))

    def queue_name(self, ch):
        return ch[0].value

    # SLA
    @v_args(meta=True)
    def sla_block(self, meta, ch):
        return ("sla", tuple(ch), self._span(meta))

    @v_args(meta=True)
    def sla_rule(self, meta, ch):
        dur = str(ch[1])
        n, unit = int(self._value(dur[:-1], self._tok_span(ch[1]))), dur[-1]
        minutes = n * {"m": 1, "h": 60, "d": 1440}[unit]
        reassign = self._int(ch[2], "the reassignment count") if len(ch) > 2 else 0
        return m.SlaRule(ch[0].value, minutes, reassign, dur, self._span(meta))
