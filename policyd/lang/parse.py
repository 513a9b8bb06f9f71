"""Parse policy text into the model. The only module that imports lark.

Syntax errors become diagnostics in words: the line, a caret, what was expected
("a name", "`}`"), never lark's internal terminal names. Common slips (an unclosed
brace, a misspelt keyword) get a tailored message with a hint.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import model as m
from .diagnostics import ERROR, Diagnostic, PolicyError, did_you_mean


def grammar_text() -> str:
    """The grammar: package data beside this module, so the wheel and the source tree agree."""
    from importlib import resources

    return resources.files("policyd.lang").joinpath("policy.lark").read_text(encoding="utf-8")


def _lark(**options) -> Lark:
    """The one way a parser is built from the grammar; callers add their options."""
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, start=["start", "team_file"], maybe_placeholders=False, **options)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return _lark(cache=True)


def build_parser(strict: bool = False) -> Lark:
    """A fresh parser; tests use strict=True to catch grammar conflicts."""
    return _lark(strict=strict)


# ---------------------------------------------------------------- error messages
_TOKEN_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a quoted text ("...")',
    "DURATION": "a duration such as 2h, 30m or 1d",
    "COMPARE": "a comparison (<, <=, >, >=, ==, !=)",
    "PERIOD_UNIT": "months, weeks or days",
    "TIMES": "times",
    "ONOFF": "on or off",
    "INT_T": "int",
    "NUMBER_T": "number",
    "TEXT_T": "text",
    "BOOL_T": "bool",
    "REP_T": "rep",
    "$END": "the end of the file",
}

_BLOCK_KEYWORDS = ["policy", "lead", "score", "tiers", "team", "exception", "route", "sla", "example"]


def _terminal_words(parser: Lark) -> dict[str, str]:
    words: dict[str, str] = {}
    for t in parser.terminals:
        if t.name in _TOKEN_WORDS:
            words[t.name] = _TOKEN_WORDS[t.name]
        elif t.pattern.type == "str":
            words[t.name] = f"`{t.pattern.value}`"
        else:
            words[t.name] = t.name.lower()
    words.update({k: v for k, v in _TOKEN_WORDS.items() if k not in words})
    return words


def _keywords(parser: Lark) -> dict[str, str]:
    """Keyword terminals (plain words) by terminal name."""
    out = {}
    for t in parser.terminals:
        if t.pattern.type == "str" and re.fullmatch(r"[a-z_]+", t.pattern.value):
            out[t.name] = t.pattern.value
    return out


def _expected_words(parser: Lark, expected: set[str]) -> list[str]:
    words = _terminal_words(parser)
    out = sorted({words.get(e, e.lower()) for e in expected})
    return out


def _join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) > 8:
        return ", ".join(items[:8]) + ", ..."
    return ", ".join(items[:-1]) + " or " + items[-1]


def _unclosed_brace(text: str) -> int | None:
    """Line of the last `{` left open, ignoring strings and comments."""
    stack: list[int] = []
    line = 1
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif c == "{":
            stack.append(line)
        elif c == "}" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


def _last_line(text: str) -> tuple[int, int]:
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


def _syntax_diagnostic(err: UnexpectedInput, text: str, file: str) -> Diagnostic:
    parser = _parser()
    if isinstance(err, UnexpectedCharacters):
        ch = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        span = m.Span(file, err.line, err.column, err.line, err.column + 1)
        if ch == '"':
            return Diagnostic("P002", ERROR, span, "a quoted text is not closed on its line", 'close it with `"`')
        allowed = _expected_words(parser, set(err.allowed or ()))
        msg = f"unexpected character `{ch}`"
        if allowed:
            msg += f"; expected {_join_words(allowed)}"
        return Diagnostic("P002", ERROR, span, msg)

    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        line, col = _last_line(text)
        open_line = _unclosed_brace(text)
        span = m.Span(file, line, col)
        if open_line is not None:
            return Diagnostic(
                "P004",
                ERROR,
                span,
                f"the file ended inside a block: the `{{` on line {open_line} is never closed",
                "add the missing `}` at the end of that block",
            )
        expected = _expected_words(parser, set(getattr(err, "expected", ()) or ()))
        return Diagnostic("P003", ERROR, span, f"the file ended too early; expected {_join_words(expected)}")

    assert isinstance(err, UnexpectedToken)
    tok: Token = err.token
    value = str(tok)
    span = m.Span(file, tok.line or 1, tok.column or 1, tok.end_line or tok.line or 1, tok.end_column or (tok.column or 1) + 1)
    expected_terms = set(err.expected or ())
    keywords = _keywords(parser)
    expected_kw = [keywords[e] for e in expected_terms if e in keywords]
    expected = _expected_words(parser, expected_terms)

    if tok.type == "NAME" and expected_kw:
        guess = did_you_mean(value, expected_kw)
        if guess:
            return Diagnostic("P005", ERROR, span, f"unknown word `{value}`; did you mean `{guess}`?", f"write `{guess}`")
    if tok.type == "NAME" and "NAME" not in expected_terms:
        guess = did_you_mean(value, _BLOCK_KEYWORDS)
        if guess and "RBRACE" not in expected_terms:
            return Diagnostic("P005", ERROR, span, f"unknown word `{value}`; did you mean `{guess}`?", f"write `{guess}`")
    if value in _BLOCK_KEYWORDS and "RBRACE" in expected_terms:
        open_line = _unclosed_brace(text[: _offset(text, span.line, span.col)])
        where = f" opened on line {open_line}" if open_line else ""
        return Diagnostic(
            "P004",
            ERROR,
            span,
            f"`{value}` starts a new block, but the block{where} is not closed",
            "add the missing `}` before this line",
        )
    shown = value if len(value) <= 30 else value[:27] + "..."
    return Diagnostic("P001", ERROR, span, f"unexpected `{shown}`; expected {_join_words(expected)}")


def _offset(text: str, line: int, col: int) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1]) + col - 1


# ---------------------------------------------------------------- tree -> model
class _Build(Transformer):
    """Turns lark's tree into model objects; nothing after this touches lark."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file
        self.problems: list[Diagnostic] = []

    def _span(self, meta) -> m.Span:
        if getattr(meta, "empty", True):
            return m.Span(self.file, 0, 0)
        return m.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> m.Span:
        return m.Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def _int(self, tok: Token, what: str) -> int:
        text = str(tok)
        if not re.fullmatch(r"-?\d+", text):
            self.problems.append(Diagnostic("P007", ERROR, self._tok_span(tok), f"{what} must be a whole number, not `{text}`"))
            return int(float(text))
        return int(text)

    # tokens
    def name(self, children):
        tok = children[0]
        return _Name(str(tok), self._tok_span(tok))

    def number(self, children):
        tok = children[0]
        text = str(tok)
        return _Number(float(text) if "." in text else int(text), self._tok_span(tok))

    def STRING(self, tok):
        raw = str(tok)[1:-1]
        return _Text(re.sub(r"\\(.)", r"\1", raw), self._tok_span(tok))

    # identity
    @v_args(meta=True)
    def policy_block(self, meta, ch):
        name = ch[0]
        title = ch[1].value if len(ch) > 1 and isinstance(ch[1], _Text) else name.value
        owner = review = None
        for c in ch[1:]:
            if isinstance(c, tuple) and c[0] == "owner":
                owner = c[1]
            elif isinstance(c, tuple) and c[0] == "review":
                review = c[1]
        return m.PolicyInfo(name.value, title, owner, review, self._span(meta))

    def owner_stmt(self, ch):
        return ("owner", ch[0].value)

    def review_stmt(self, ch):
        n = self._int(ch[0], "the review period")
        return ("review", f"every {n} {ch[1]}")

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
        return m.FieldType("enum", tuple(c.value for c in ch))

    def lit_str(self, ch):
        return _Literal(ch[0].value, "text", ch[0].span)

    def lit_num(self, ch):
        return _Literal(ch[0].value, "number", ch[0].span)

    def lit_word(self, ch):
        return _Literal(ch[0].value, "word", ch[0].span)

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
        for c in ch:
            kind = c[0]
            if kind == "scale":
                low, high, default = c[1], c[2], c[3] if c[3] is not None else c[1]
            elif kind == "capacity_default":
                capacity = c[1]
            elif kind == "rep":
                reps.append({"name": c[1], "level": c[2], "capacity": None, "weight": 1, "speaks": (), "skills": (), "span": c[3]})
            else:
                if not reps:
                    self.problems.append(
                        Diagnostic("P009", ERROR, c[-1], f"`{c[0]}` must follow a `rep` line", "declare the rep first: `rep NAME LEVEL`")
                    )
                    continue
                reps[-1][kind] = c[1] if kind != "skills" else reps[-1]["skills"] + c[1]
        built = tuple(
            m.Rep(r["name"], r["level"], r["capacity"], r["weight"], tuple(r["speaks"]), tuple(r["skills"]), r["span"]) for r in reps
        )
        span = self._span(meta)
        return ("team", m.Team(low, high, default, capacity if capacity is not None else 25, built, span), span)

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
        why = rest.pop(0).value if rest and isinstance(rest[0], _Text) else ""
        when = rest.pop(0)
        return m.Exception_(name.value, why, when, tuple(rest), self._span(meta))

    @v_args(meta=True)
    def route_block(self, meta, ch):
        name = ch[0]
        rest = list(ch[1:])
        why = rest.pop(0).value if rest and isinstance(rest[0], _Text) else ""
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
        return m.Pick(str(ch[0].data).removeprefix("pick_"), self._span(meta))

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
        n, unit = int(dur[:-1]), dur[-1]
        minutes = n * {"m": 1, "h": 60, "d": 1440}[unit]
        reassign = self._int(ch[2], "the reassignment count") if len(ch) > 2 else 0
        return m.SlaRule(ch[0].value, minutes, reassign, dur, self._span(meta))

    # examples
    @v_args(meta=True)
    def example_block(self, meta, ch):
        name = ch[0].value
        lead: tuple = ()
        opens: list = []
        away: list = []
        quota: list = []
        lottery = False
        seed = None
        expects: list = []
        for c in ch[1:]:
            kind = c[0]
            if kind == "lead":
                lead = c[1]
            elif kind == "open":
                opens.extend(c[1])
            elif kind == "away":
                away.extend(c[1])
            elif kind == "quota":
                quota.extend(c[1])
            elif kind == "state":
                for sk, sv in c[1]:
                    {"open": opens, "away": away, "quota": quota}[sk].extend(sv)
            elif kind == "lottery":
                lottery = c[1]
            elif kind == "seed":
                seed = c[1]
            elif kind == "expect":
                expects.extend(c[1])
        return m.Example(name, lead, tuple(opens), tuple(away), tuple(quota), lottery, seed, tuple(expects), self._span(meta))

    def example_lead(self, ch):
        return ("lead", tuple(ch))

    def lead_value(self, ch):
        lit: _Literal = ch[1]
        return (ch[0].value, lit, ch[0].span)

    def example_state(self, ch):
        return ("state", tuple(ch))

    def state_open(self, ch):
        return ("open", tuple(ch))

    def open_count(self, ch):
        return (ch[0].value, self._int(ch[1], "an open count"))

    def state_away(self, ch):
        return ("away", tuple(c.value for c in ch))

    def state_quota(self, ch):
        return ("quota", tuple(ch))

    def quota_value(self, ch):
        return (ch[0].value, float(ch[1].value))

    def example_lottery(self, ch):
        return ("lottery", str(ch[0]) == "on")

    def example_seed(self, ch):
        return ("seed", ch[0].value)

    def example_expect(self, ch):
        return ("expect", tuple(ch))

    @v_args(meta=True)
    def expect_tier(self, meta, ch):
        return m.Expect("tier", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_rep(self, meta, ch):
        return m.Expect("rep", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_level(self, meta, ch):
        return m.Expect("level", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_queue(self, meta, ch):
        return m.Expect("queue", ch[0], self._span(meta))

    @v_args(meta=True)
    def expect_exception(self, meta, ch):
        return m.Expect("exception", ch[0].value, self._span(meta))

    @v_args(meta=True)
    def expect_lottery(self, meta, ch):
        return m.Expect("lottery", None, self._span(meta))

    @v_args(meta=True)
    def expect_route(self, meta, ch):
        return m.Expect("route", ch[0].value, self._span(meta))

    # conditions
    @v_args(meta=True)
    def or_(self, meta, ch):
        return ch[0] if len(ch) == 1 else m.Or(tuple(ch), self._span(meta))

    @v_args(meta=True)
    def and_(self, meta, ch):
        return ch[0] if len(ch) == 1 else m.And(tuple(ch), self._span(meta))

    @v_args(meta=True)
    def not_(self, meta, ch):
        return m.Not(ch[0], self._span(meta))

    @v_args(meta=True)
    def compare(self, meta, ch):
        return m.Compare(ch[0], str(ch[1]), ch[2], self._span(meta))

    @v_args(meta=True)
    def is_set(self, meta, ch):
        return m.IsSet(ch[0].value, False, self._span(meta))

    @v_args(meta=True)
    def is_missing(self, meta, ch):
        return m.IsSet(ch[0].value, True, self._span(meta))

    @v_args(meta=True)
    def is_(self, meta, ch):
        return m.Is(ch[0].value, (ch[1].value,), False, self._span(meta))

    @v_args(meta=True)
    def is_not(self, meta, ch):
        return m.Is(ch[0].value, (ch[1].value,), True, self._span(meta))

    @v_args(meta=True)
    def in_(self, meta, ch):
        return m.Is(ch[0].value, tuple(c.value for c in ch[1:]), False, self._span(meta))

    @v_args(meta=True)
    def not_in_(self, meta, ch):
        return m.Is(ch[0].value, tuple(c.value for c in ch[1:]), True, self._span(meta))

    @v_args(meta=True)
    def speaks(self, meta, ch):
        c = ch[0]
        return m.Speaks(c.value, isinstance(c, _Text), self._span(meta))

    @v_args(meta=True)
    def flag(self, meta, ch):
        return m.Flag(ch[0].value, self._span(meta))

    def field_ref(self, ch):
        return m.FieldRef(ch[0].value, ch[0].span)

    def num(self, ch):
        return m.Num(ch[0].value, ch[0].span)

    def str_lit(self, ch):
        return m.Str(ch[0].value, ch[0].span)

    @v_args(meta=True)
    def skill_ref(self, meta, ch):
        return m.SkillRef(ch[0].value, self._span(meta))


class _Name:
    __slots__ = ("value", "span")

    def __init__(self, value: str, span: m.Span):
        self.value, self.span = value, span


class _Number(_Name):
    pass


class _Text(_Name):
    pass


class _Literal:
    """A literal as written: its value and whether it was a word, number or text."""

    __slots__ = ("value", "kind", "span")

    def __init__(self, value, kind: str, span: m.Span):
        self.value, self.kind, self.span = value, kind, span

    def __repr__(self) -> str:
        return f"_Literal({self.value!r}, {self.kind})"


# ---------------------------------------------------------------- entry points
def _parse_tree(text: str, file: str, start: str) -> Tree:
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as err:
        raise PolicyError([_syntax_diagnostic(err, text, file)], {file: text}) from None


def parse_text(text: str, file: str = "<policy>", base_dir: Path | None = None) -> tuple[m.Policy, list[Diagnostic]]:
    """Parse one policy (and its `team from` file); structural problems come back as diagnostics."""
    tree = _parse_tree(text, file, "start")
    build = _Build(file)
    try:
        items = build.transform(tree).children
    except VisitError as err:  # a bug in the builder, not the user's fault; keep it visible
        raise err.orig_exc from None
    problems = build.problems
    sources = [(file, text)]

    info = None
    fields: tuple = ()
    tiers: tuple = ()
    team = None
    sla: tuple = ()
    scores, exceptions, routes, examples = [], [], [], []
    seen: dict[str, m.Span] = {}

    def once(kind: str, span: m.Span) -> bool:
        if kind in seen:
            problems.append(
                Diagnostic(
                    "P008",
                    ERROR,
                    span,
                    f"a second `{kind}` block; a policy has one (the first is on line {seen[kind].line})",
                    f"merge it into the first `{kind}` block",
                )
            )
            return False
        seen[kind] = span
        return True

    for it in items:
        if isinstance(it, m.PolicyInfo):
            if once("policy", it.span):
                info = it
        elif isinstance(it, m.Score):
            scores.append(it)
        elif isinstance(it, m.Exception_):
            exceptions.append(it)
        elif isinstance(it, m.Route):
            routes.append(it)
        elif isinstance(it, m.Example):
            examples.append(it)
        elif it[0] == "lead":
            if once("lead", it[2]):
                fields = tuple(_resolve_default(f) for f in it[1])
        elif it[0] == "tiers":
            if once("tiers", it[2]):
                tiers = it[1]
        elif it[0] == "sla":
            if once("sla", it[2]):
                sla = it[1]
        elif it[0] == "team":
            if once("team", it[2]):
                team = it[1]
        elif it[0] == "team_from":
            if once("team", it[2]):
                try:
                    team, team_sources, team_problems = _load_team(it[1], it[2], base_dir)
                except PolicyError as err:
                    err.sources.setdefault(file, text)
                    raise
                sources.extend(team_sources)
                problems.extend(team_problems)

    examples = [_resolve_example(e) for e in examples]
    policy = m.Policy(
        info, fields, tuple(scores), tiers, team, tuple(exceptions), tuple(routes), sla, tuple(examples), file, tuple(sources)
    )
    return policy, problems


def _plain(lit) -> object:
    """A literal as a plain value: words as str, `true`/`false` as bool."""
    if isinstance(lit, _Literal):
        if lit.kind == "word" and lit.value in ("true", "false"):
            return lit.value == "true"
        return lit.value
    return lit


def _resolve_default(f: m.LeadField) -> m.LeadField:
    if not f.has_default:
        return f
    return m.LeadField(f.name, f.type, f.optional, _plain(f.default), True, f.span)


def _resolve_example(e: m.Example) -> m.Example:
    lead = tuple((k, _plain(v), span) for k, v, span in e.lead)
    return m.Example(e.name, lead, e.open, e.away, e.quota, e.lottery, e.seed, e.expects, e.span)


def _load_team(rel: str, span: m.Span, base_dir: Path | None):
    path = (base_dir or Path(".")) / rel
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        diag = Diagnostic("P006", ERROR, span, f"cannot read the team file `{rel}` ({err.strerror or err})", f"looked for {path}")
        raise PolicyError([diag]) from None
    file = _display_path(path)
    tree = _parse_tree(text, file, "team_file")
    build = _Build(file)
    team_item = build.transform(tree)
    team = team_item[1]
    team = m.Team(team.skill_low, team.skill_high, team.skill_default, team.capacity_default, team.reps, team.span, rel)
    return team, [(file, text)], build.problems


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_file(path: str | Path) -> tuple[m.Policy, list[Diagnostic]]:
    """Read and parse a policy file; a missing file is a diagnostic, not a traceback."""
    p = Path(path)
    file = _display_path(p) if p.is_absolute() else str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise PolicyError([Diagnostic("P006", ERROR, m.Span(file, 0, 0), f"cannot read policy file: {reason}")]) from None
    return parse_text(text, file, p.parent)


# ---------------------------------------------------------------- layout (for the formatter)
class LayoutTok:
    """One token as written: its terminal type, text, position and the rule it sits in."""

    __slots__ = ("type", "value", "line", "col", "end_line", "end_col", "rule")

    def __init__(self, type: str, value: str, line: int, col: int, end_line: int, end_col: int, rule: str):
        self.type, self.value, self.line, self.col = type, value, line, col
        self.end_line, self.end_col, self.rule = end_line, end_col, rule

    def __repr__(self) -> str:
        return f"LayoutTok({self.type}, {self.value!r}, {self.line}:{self.col}, {self.rule})"


class LayoutNode:
    """A grammar rule as written, every keyword kept (lark's tree, without lark)."""

    __slots__ = ("rule", "children")

    def __init__(self, rule: str, children: list):
        self.rule, self.children = rule, children

    def tokens(self) -> list[LayoutTok]:
        out: list[LayoutTok] = []
        for c in self.children:
            out.extend(c.tokens() if isinstance(c, LayoutNode) else [c])
        return out


@lru_cache(maxsize=1)
def _layout_parser() -> Lark:
    return _lark(keep_all_tokens=True, lexer_callbacks={"COMMENT": _COMMENTS.append})


_COMMENTS: list[Token] = []  # filled by the lexer callback; one layout parse at a time
_LAYOUT_LOCK = threading.Lock()


def layout(text: str, file: str = "<policy>", start: str = "start") -> tuple[LayoutNode, list[LayoutTok]]:
    """The tree with every token kept, and the comments (each with its line and column).

    Additive to `parse_text`: the formatter needs keywords and comments, which the model
    drops. Raises PolicyError for a syntax error, as `parse_text` does.
    """
    parser = _layout_parser()
    with _LAYOUT_LOCK:
        _COMMENTS.clear()
        try:
            tree = parser.parse(text, start=start)
        except UnexpectedInput as err:
            raise PolicyError([_syntax_diagnostic(err, text, file)], {file: text}) from None
        finally:
            found = list(_COMMENTS)
            _COMMENTS.clear()
    comments = [LayoutTok("COMMENT", str(t).rstrip(), t.line, t.column, t.end_line, t.end_column, "") for t in found]
    return _to_layout(tree), comments


def _to_layout(tree: Tree) -> LayoutNode:
    kids: list = []
    for c in tree.children:
        if isinstance(c, Tree):
            kids.append(_to_layout(c))
        else:
            kids.append(LayoutTok(c.type, str(c), c.line, c.column, c.end_line, c.end_column, str(tree.data)))
    return LayoutNode(str(tree.data), kids)
