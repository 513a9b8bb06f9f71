"""The parser: the whole language, keywords as names, and syntax errors in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyd.checks.load import load_text
from policyd.lang import model as m
from policyd.lang.diagnostics import PolicyError, format_all
from policyd.lang.grammar import build_parser
from policyd.lang.parse import parse_text

from .conftest import POLICIES


def test_grammar_has_no_conflicts():
    # strict mode raises on any shift/reduce or reduce/reduce conflict and on terminal collisions
    build_parser(strict=True)


def test_reference_policy_parses_to_the_expected_model(inbound):
    p = inbound.policy
    assert p.info.name == "inbound_b2b" and p.info.owner == "sales-ops" and p.info.review == "every 3 months"
    assert [f.name for f in p.fields][:3] == ["id", "company", "employees"]
    timing = p.field_named("timing_months")
    assert timing.optional and timing.type.kind == "int"
    motion = p.field_named("motion")
    assert motion.default == "new_business" and motion.type.words == ("new_business", "expansion")
    assert [s.name for s in p.scores] == ["company_size", "budget", "authority", "timing"]
    assert [(t.name, t.low, t.high) for t in p.tiers] == [("high", 10, 12), ("medium", 7, 9), ("low", 4, 6)]
    assert len(p.team.reps) == 20 and p.team.capacity_default == 25
    alice = p.team.reps[0]
    assert (alice.name, alice.level, alice.capacity, alice.speaks) == ("alice", "veteran", 30, ("en", "ja"))
    assert dict(alice.skills) == {"enterprise": 3, "expansion": 3, "it": 3, "finance": 2}
    high = p.route_for("high")
    assert [type(s).__name__ for s in high.steps] == ["Lottery", "Require", "Prefer", "Pick", "OtherwiseRoute"]
    assert high.steps[0].percent == 30 and high.steps[0].span.line == 116
    assert [(s.tier, s.minutes, s.reassign) for s in p.sla] == [("high", 120, 2), ("medium", 480, 1), ("low", 1440, 0)]
    assert [len(e.expects) for e in p.examples] == [2, 2, 2]


def test_keywords_may_be_names():
    text = """
    lead { owner text  review int?  team {a, b}  rep rep?  id text }
    score s { 1 when review >= 2  0 otherwise }
    tiers { t 0..1 }
    team { rep capacity veteran
      skills owner 3, review 2 }
    route t { require skill(owner) >= 3 and skill(review) >= 2  pick least loaded }
    """
    p, problems = parse_text(text, "k.policy")
    assert problems == []
    assert [f.name for f in p.fields] == ["owner", "review", "team", "rep", "id"]
    assert p.team.reps[0].name == "capacity"
    assert dict(p.team.reps[0].skills) == {"owner": 3, "review": 2}


def test_team_from_file_is_merged_and_kept_in_sources(emea):
    p = emea.policy
    assert [r.name for r in p.team.reps] == ["anna", "bruno", "chiara", "dev", "eva"]
    assert p.team.source == "emea-team.policy"
    assert p.team.reps[0].span.file.endswith("emea-team.policy")
    assert len(p.sources) == 2


def test_conditions_build_the_model():
    p, _ = parse_text(
        "lead { a int  b {x, y}  c text? }\nscore s { 1 when not (a > 2 or b in {x, y}) and c is missing  0 otherwise }\n", "c.policy"
    )
    cond = p.scores[0].lines[0].cond
    assert isinstance(cond, m.And)
    assert isinstance(cond.items[0], m.Not) and isinstance(cond.items[0].item, m.Or)
    assert cond.items[1] == m.IsSet("c", True)


def _errors(text: str) -> str:
    try:
        loaded = load_text(text, "inbound.policy")
        diags, sources = loaded.diagnostics, loaded.sources
    except PolicyError as err:
        diags, sources = err.diagnostics, err.sources
    # the reference's own A009 note (its high route falls back to medium) is not about the slip
    return format_all([d for d in diags if d.severity != "note"], sources)


# Each malformed policy is the reference with one slip; the message is pinned by hand.
MALFORMED = [
    (
        "missing closing brace",
        lambda t: t.replace("  1 otherwise\n}\n\nscore budget", "  1 otherwise\n\nscore budget"),
        "inbound.policy:32:1: error P004: `score` starts a new block, but the block opened on line 27 is not closed\n"
        "    32 | score budget {\n"
        "       | ^~~~~\n"
        "  hint: add the missing `}` before this line",
    ),
    (
        "misspelt keyword",
        lambda t: t.replace("require skill(segment)", "requre skill(segment)"),
        "inbound.policy:117:3: error P005: unknown word `requre`; did you mean `require`?\n"
        "   117 |   requre skill(segment) >= 2 and skill(industry) >= 2\n"
        "       |   ^~~~~~\n"
        "  hint: write `require`",
    ),
    (
        "file ends inside a block",
        lambda t: t.rstrip()[:-1],
        "inbound.policy:155:29: error P004: the file ended inside a block: the `{` on line 152 is never closed\n"
        "   155 |   expect tier low, level new\n"
        "       |                             ^\n"
        "  hint: add the missing `}` at the end of that block",
    ),
    (
        "stray character",
        lambda t: t.replace("3 when employees >= 1000", "3 when employees >= 1000 $"),
        "inbound.policy:28:28: error P002: unexpected character `$`; expected `%`, `)`, `,`, `}`, a comparison (<, <=, >, >=, ==, !=), a name or a number\n"
        "    28 |   3 when employees >= 1000 $\n"
        "       |                            ^",
    ),
    (
        "unclosed text",
        lambda t: t.replace('owner  "sales-ops"', 'owner  "sales-ops'),
        'inbound.policy:7:10: error P002: a quoted text is not closed on its line\n     7 |   owner  "sales-ops\n       |          ^\n  hint: close it with `"`',
    ),
    (
        "tier without a range",
        lambda t: t.replace("high    10..12", "high    10"),
        "inbound.policy:53:3: error P001: unexpected `medium`; expected `..`\n    53 |   medium  7..9\n       |   ^~~~~~",
    ),
    (
        "decimal capacity",
        lambda t: t.replace("capacity 30  speaks en, ja", "capacity 30.5  speaks en, ja"),
        "inbound.policy:61:34: error P007: a capacity must be a whole number, not `30.5`\n"
        "    61 |   rep alice    veteran  capacity 30.5  speaks en, ja\n"
        "       |                                  ^~~~",
    ),
    (
        "second lead block",
        lambda t: t + "\nlead { x int }\n",
        "inbound.policy:158:1: error P008: a second `lead` block; a policy has one (the first is on line 11)\n"
        "   158 | lead { x int }\n"
        "       | ^~~~~~~~~~~~~~\n"
        "  hint: merge it into the first `lead` block",
    ),
    (
        "rep option before any rep",
        lambda t: t.replace("  capacity default 25\n", "  capacity default 25\n  weight 2\n"),
        "inbound.policy:60:3: error P009: `weight` must follow a `rep` line\n"
        "    60 |   weight 2\n"
        "       |   ^~~~~~~~\n"
        "  hint: declare the rep first: `rep NAME LEVEL`",
    ),
    (
        "team file missing",
        lambda t: t[: t.index("team {")] + 'team from "nowhere.policy"\n' + t[t.index("# Exceptions run") :],
        "inbound.policy:57:1: error P006: cannot read the team file `nowhere.policy` (No such file or directory)\n"
        '    57 | team from "nowhere.policy"\n'
        "       | ^~~~~~~~~~~~~~~~~~~~~~~~~~\n"
        "  hint: looked for nowhere.policy",
    ),
    (
        "misspelt pick",
        lambda t: t.replace("pick round robin", "pick round robbin"),
        "inbound.policy:124:14: error P005: unknown word `robbin`; did you mean `robin`?\n"
        "   124 |   pick round robbin\n"
        "       |              ^~~~~~\n"
        "  hint: write `robin`",
    ),
    (
        "lottery without percent",
        lambda t: t.replace("lottery 30% among", "lottery 30 among"),
        "inbound.policy:116:14: error P001: unexpected `among`; expected `%`\n   116 |   lottery 30 among available reps\n       |              ^~~~~",
    ),
    (
        "duration in words",
        lambda t: t.replace("respond within 2h", "respond within 2 hours"),
        "inbound.policy:133:26: error P001: unexpected `2`; expected a duration such as 2h, 30m or 1d\n"
        "   133 |   high    respond within 2 hours, reassign at most 2 times\n"
        "       |                          ^",
    ),
    (
        "misspelt expectation",
        lambda t: t.replace("expect tier low, level new", "expect tier low, levle new"),
        "inbound.policy:155:20: error P005: unknown word `levle`; did you mean `level`?\n"
        "   155 |   expect tier low, levle new\n"
        "       |                    ^~~~~\n"
        "  hint: write `level`",
    ),
    (
        "unknown field",
        lambda t: t.replace("3 when employees >= 1000", "3 when employes >= 1000"),
        "inbound.policy:28:10: error N001: unknown field `employes`; the lead has no such field\n"
        "    28 |   3 when employes >= 1000\n"
        "       |          ^~~~~~~~\n"
        "  hint: did you mean `employees`?",
    ),
    (
        "word field compared with a number",
        lambda t: t.replace("3 when budget is stated", "3 when budget >= 3"),
        "inbound.policy:34:10: error T001: `budget` is a {stated, considering, unknown} field and cannot be compared with a number using `>=`\n"
        "    34 |   3 when budget >= 3\n"
        "       |          ^~~~~~~~~~~\n"
        "  hint: test words with `is` (for example `budget is stated`)",
    ),
    (
        "word outside its set",
        lambda t: t.replace("2 when budget is considering", "2 when budget is considring"),
        "inbound.policy:35:10: error T002: `considring` is not a word of field `budget` (stated, considering, unknown)\n"
        "    35 |   2 when budget is considring\n"
        "       |          ^~~~~~~~~~~~~~~~~~~~\n"
        "  hint: did you mean `considering`?",
    ),
    (
        "duplicate rep",
        lambda t: t.replace("rep uma      new      capacity 15", "rep omar      new      capacity 15"),
        "inbound.policy:99:7: error N007: duplicate rep `omar` (first declared on line 87)\n    99 |   rep omar      new      capacity 15\n       |       ^~~~",
    ),
    (
        "tier with no route",
        lambda t: t.replace('route low "Development: newer members first"', 'route lowest "Development: newer members first"'),
        "inbound.policy:54:3: error N008: tier `low` has no route\n"
        "    54 |   low     4..6\n"
        "       |   ^~~\n"
        "  hint: add `route low { ... }`\n"
        "inbound.policy:127:1: error N004: route for unknown tier `lowest`\n"
        '   127 | route lowest "Development: newer members first" {\n'
        "       | ^\n"
        "  hint: did you mean `low`?",
    ),
    (
        "unknown tier in otherwise",
        lambda t: t.replace("otherwise route medium", "otherwise route meduim"),
        "inbound.policy:120:3: error N004: `otherwise route meduim`: unknown tier `meduim`\n"
        "   120 |   otherwise route meduim\n"
        "       |   ^~~~~~~~~~~~~~~~~~~~~~\n"
        "  hint: did you mean `medium`?",
    ),
    (
        "unknown rep in an example lead",
        lambda t: t.replace("account_owner erin }", "account_owner erinn }"),
        'inbound.policy:140:54: error T008: example "a named account stays with its owner": field account_owner: "erinn" is not a rep of the team; did you mean erin?\n'
        '   140 |          industry retail, segment smb, country "US", account_owner erinn }\n'
        "       |                                                      ^~~~~~~~~~~~~",
    ),
    (
        "unknown level",
        lambda t: t.replace("prefer veteran", "prefer veteren"),
        "inbound.policy:118:10: warning N003: no rep has level `veteren`; levels in the team: mid, new, veteran\n"
        "   118 |   prefer veteren\n"
        "       |          ^~~~~~~\n"
        "  hint: did you mean `veteran`?",
    ),
    (
        "rep skill in a score line",
        lambda t: t.replace("3 when employees >= 1000", "3 when skill(it) >= 2"),
        "inbound.policy:28:10: error T006: `skill(...)` is a rep's skill; use it in `require` or `prefer`, not in a score line\n"
        "    28 |   3 when skill(it) >= 2\n"
        "       |          ^~~~~~~~~",
    ),
    (
        "default outside the set",
        lambda t: t.replace("= new_business", "= renewal"),
        'inbound.policy:20:3: error T003: the default of `motion` does not fit its type: "renewal" is not one of its words; expected one of new_business, expansion\n'
        "    20 |   motion         {new_business, expansion} = renewal\n"
        "       |   ^~~~~~",
    ),
    (
        "skill outside the scale",
        lambda t: t.replace("skills smb 1\n", "skills smb 4\n"),
        "inbound.policy:91:7: error T007: rep `quinn`: skill smb 4 is outside the scale 1..3\n    91 |   rep quinn    new      capacity 15\n       |       ^~~~~",
    ),
]


@pytest.mark.parametrize("name,mutate,expected", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_policy_messages(inbound_text, name, mutate, expected, monkeypatch):
    monkeypatch.chdir(POLICIES)  # `team from` is relative to the policy file
    text = mutate(inbound_text)
    assert text != inbound_text, "the mutation did not apply"
    assert _errors(text) == expected


def test_error_messages_never_show_lark_internals(inbound_text):
    for _, mutate, _ in MALFORMED:
        out = _errors(mutate(inbound_text))
        for internal in ("__ANON", "$END", "RBRACE", "LBRACE", "SIGNED", "COMPARE", "Token(", "Tree("):
            assert internal not in out


def test_unreadable_file_is_a_diagnostic(tmp_path):
    from policyd.checks.load import load_path

    with pytest.raises(PolicyError) as err:
        load_path(tmp_path / "missing.policy")
    assert err.value.diagnostics[0].code == "P006"
    assert "cannot read policy file" in err.value.diagnostics[0].message


# ---------------------------------------------------------------- numbers (docs/language.md, Numbers)
HUGE_INT = "1" + "0" * 4999  # past Python's int-string limit
HUGE_DEC = "1" + "0" * 399 + ".5"  # a float infinity if converted
RANGE = "expected a number between -1000000000000000 and 1000000000000000"

# Every place a number token is read; {n} is the number.
WHOLE_PLACES = {
    "points": "score s {{ {n} when a >= 1  0 otherwise }}",
    "tier bound": "tiers {{ t 0..{n} }}",
    "capacity": "team {{ rep ann new capacity {n} }}",
    "capacity default": "team {{ capacity default {n}  rep ann new }}",
    "skill value": "team {{ rep ann new skills x {n} }}",
    "skill scale": "team {{ skills 1..{n}  rep ann new }}",
    "open count": 'example "e" {{ state {{ open ann {n} }} expect tier t }}',
    "reassign count": "sla {{ t respond within 2h, reassign at most {n} times }}",
    "review period": "policy p {{ review every {n} months }}",
    "sla time": "sla {{ t respond within {n}h }}",
}
DECIMAL_PLACES = {
    "condition": "score s {{ 1 when a >= {n}  0 otherwise }}",
    "weight": "team {{ rep ann new weight {n} }}",
    "lottery ratio": "route t {{ lottery {n}% among available reps }}",
    "quota": 'example "e" {{ state {{ quota ann {n} }} expect tier t }}',
    "default": "lead {{ a int  b number = {n} }}",
    "example lead value": 'example "e" {{ lead {{ a {n} }} expect tier t }}',
}


def _number_problems(template: str, n: str):
    first = "# the lead block is below\n" if template.startswith("lead") else "lead { a int }\n"
    text = first + template.format(n=n) + "\n"
    _, problems = parse_text(text, "n.policy")
    return text, problems


@pytest.mark.parametrize("place", sorted(WHOLE_PLACES.keys() | DECIMAL_PLACES.keys()))
def test_a_huge_whole_number_is_a_diagnostic_at_its_place(place):
    text, problems = _number_problems({**WHOLE_PLACES, **DECIMAL_PLACES}[place], HUGE_INT)
    assert [(d.code, d.span.line, d.span.col) for d in problems] == [("P010", 2, text.splitlines()[1].index(HUGE_INT) + 1)]
    assert problems[0].message == f"the number `1000000000000000...` (5000 digits) is out of range; {RANGE}"


@pytest.mark.parametrize("place", sorted(DECIMAL_PLACES))
def test_a_decimal_too_large_for_a_float_is_a_diagnostic(place):
    text, problems = _number_problems(DECIMAL_PLACES[place], HUGE_DEC)
    assert [(d.code, d.span.col) for d in problems] == [("P010", text.splitlines()[1].index(HUGE_DEC) + 1)]
    assert "(401 digits) is out of range" in problems[0].message


@pytest.mark.parametrize("place", sorted(set(WHOLE_PLACES) - {"sla time"}))
def test_a_huge_decimal_where_a_whole_number_goes_is_p007_alone(place):
    _, problems = _number_problems(WHOLE_PLACES[place], HUGE_DEC)
    assert [d.code for d in problems] == ["P007"]


@pytest.mark.parametrize(
    "written,value",
    [
        ("1000000000000000", 10**15),
        ("-1000000000000000", -(10**15)),
        ("999999999999.999", 999999999999.999),
        ("123456789012345", 123456789012345),
        ("12345678901234.5", 12345678901234.5),
        ("0.000000000000000000123456789012345", 1.23456789012345e-19),
        ("1.50", 1.5),
        ("-0", 0),
    ],
)
def test_numbers_at_the_limits_are_read_exactly(written, value):
    text, problems = _number_problems(DECIMAL_PLACES["condition"], written)
    assert problems == []
    p, _ = parse_text(text)
    got = p.scores[0].lines[0].cond.right.value
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    "written,code,message",
    [
        ("1000000000000001", "P010", f"the number `1000000000000001` is out of range; {RANGE}"),
        ("-1000000000000001", "P010", f"the number `-1000000000000001` is out of range; {RANGE}"),
        ("1000000000000000.5", "P010", f"the number `1000000000000000.5` is out of range; {RANGE}"),
        ("1.23456789012345678", "P011", "the number `1.23456789012345678` has 18 significant digits; expected at most 15"),
        ("0.0000001234567890123456", "P011", "the number `0.0000001234567890123456` has 16 significant digits; expected at most 15"),
    ],
)
def test_numbers_past_the_limits_name_what_was_expected(written, code, message):
    _, problems = _number_problems(DECIMAL_PLACES["condition"], written)
    assert [(d.code, d.message) for d in problems] == [(code, message)]


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_every_whole_number_is_read_or_refused_by_its_size(n):
    text, problems = _number_problems(DECIMAL_PLACES["condition"], str(n))
    if abs(n) <= 10**15:
        assert problems == [] and parse_text(text)[0].scores[0].lines[0].cond.right.value == n
    else:
        assert [d.code for d in problems] == ["P010"]


def test_a_policy_with_a_refused_number_never_carries_it_to_the_engine(inbound_text, monkeypatch):
    from policyd.engine.codegen import compile_policy

    monkeypatch.chdir(POLICIES)
    loaded = load_text(inbound_text.replace("3 when employees >= 1000", f"3 when employees >= {HUGE_DEC}"), "inbound.policy")
    assert [d.code for d in loaded.errors] == ["P010"]
    compiled = compile_policy(loaded.policy)  # generated code would name `inf` if the decimal got through
    cond = loaded.policy.scores[0].lines[0].cond
    assert cond.right.value == 0 and "inf" not in compiled.lead_expr(cond)
