"""Properties of the analysis on generated policies: it never crashes, raises nothing but
its own diagnostics, and every counterexample it shows proves its claim under `decide`."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyd.checks.load import load_text
from policyd.engine.decide import decide
from tests.test_analyze import prove

WORDS = ["free", "pro", "team"]


def _atom(r: random.Random) -> str:
    op = r.choice(["<", "<=", ">", ">=", "==", "!="])
    n = r.choice([0, 5, 10, 100])
    return r.choice(
        [
            f"size {op} {n}",
            f"opt {op} {n}",
            "opt is set",
            "opt is missing",
            f"plan is {r.choice(WORDS)}",
            f"plan is not {r.choice(WORDS)}",
            f"plan in {{{', '.join(r.sample(WORDS, 2))}}}",
            "vip",
            "not vip",
            f'lang == "{r.choice(["en", "fr"])}"',
            f"size {op} opt",
        ]
    )


def _cond(r: random.Random, depth: int = 0) -> str:
    if depth > 1 or r.random() < 0.55:
        return _atom(r)
    a, b = _cond(r, depth + 1), _cond(r, depth + 1)
    return r.choice([f"{a} and {b}", f"{a} or {b}", f"({a} or {b}) and {_atom(r)}", f"not ({a})"])


def _rep_cond(r: random.Random) -> str:
    return r.choice(
        [
            f"skill(plan) >= {r.randint(1, 3)}",
            f"skill(pro) >= {r.randint(1, 4)}",
            "veteran",
            "new",
            "speaks lang",
            'speaks "fr"',
            "load < 1",
            f"skill(plan) >= 2 and {r.choice(['veteran', 'speaks lang'])}",
        ]
    )


def generate(r: random.Random) -> str:
    """A small random policy over a fixed lead schema, mostly free of name errors."""
    out = ['policy g "generated" {\n  owner "ops"\n}\n']
    out.append(
        'lead {\n  id text\n  size int\n  opt int?\n  plan {free, pro, team}\n  vip bool = false\n  lang text = "en"\n  owner rep?\n}\n'
    )
    for b in range(r.randint(1, 3)):
        lines = [f"  {r.randint(0, 3)} when {_cond(r)}\n" for _ in range(r.randint(0, 3))]
        if r.random() < 0.7 or not lines:
            lines.append(f"  {r.randint(0, 2)} otherwise\n")
        out.append(f"score s{b} {{\n{''.join(lines)}}}\n")
    tiers = []
    for t in range(r.randint(1, 3)):
        lo = r.randint(0, 7)
        tiers.append((f"t{t}", lo, lo + r.randint(0, 3)))
    out.append("tiers {\n" + "".join(f"  {n} {lo}..{hi}\n" for n, lo, hi in tiers) + "}\n")
    team = ["team {\n"]
    for i in range(r.randint(1, 3)):
        speaks = r.sample(["en", "fr", "de"], r.randint(1, 2))
        team.append(f"  rep r{i} {r.choice(['veteran', 'new'])} speaks {', '.join(speaks)}\n")
        skills = r.sample(["free", "pro", "team"], r.randint(1, 3))
        team.append("    skills " + ", ".join(f"{s} {r.randint(1, 3)}" for s in skills) + "\n")
    out.append("".join(team) + "}\n")
    for e in range(r.randint(0, 2)):
        action = r.choice(
            [
                f"  queue q{e}\n",
                f"  require {_rep_cond(r)}\n  pick least loaded\n",
                "  assign owner\n",
                f"  require {_rep_cond(r)}\n  otherwise queue q{e}\n",
            ]
        )
        when = "owner is set" if "assign" in action else _cond(r)
        out.append(f'exception e{e} "why" {{\n  when {when}\n{action}}}\n')
    names = [n for n, _, _ in tiers]
    for n in names:
        steps = [f"  require {_rep_cond(r)}\n" for _ in range(r.randint(0, 2))]
        if r.random() < 0.3:
            steps.append(f"  prefer {_rep_cond(r)}\n")
        steps.append(f"  pick {r.choice(['least loaded', 'round robin', 'random'])}\n")
        end = r.random()
        if end < 0.3:
            steps.append(f"  otherwise route {r.choice(names)}\n")
        elif end < 0.5:
            steps.append("  otherwise queue later\n")
        out.append(f"route {n} {{\n{''.join(steps)}}}\n")
    return "\n".join(out)


def _check(seed: int) -> tuple[bool, int]:
    text = generate(random.Random(seed))
    loaded = load_text(text, f"gen-{seed}.policy")  # must not raise
    analysed = not any(d.is_error and not d.code.startswith("A") for d in loaded.diagnostics)
    proved = 0
    for d in loaded.diagnostics:
        assert d.code[0] in "PSNTA" and d.severity in ("error", "warning", "note")
        if "counterexample" in d.extra:
            prove(loaded, d)
            proved += 1
    return analysed, proved


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_analysis_never_crashes_and_every_counterexample_holds(seed):
    _check(seed)


def test_most_generated_policies_are_analysed_and_claims_are_proved():
    results = [_check(seed) for seed in range(120)]
    assert sum(a for a, _ in results) >= 60, "the generator should mostly produce policies the analysis runs on"
    assert sum(p for _, p in results) >= 40, "and the analysis should find things to prove"


MUTATIONS = ["0", "-1", "x", "team", "veteran", '"q"', "plan", "99", "1.5", "owner", "otherwise", "{", "}"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_broken_policies_give_diagnostics_never_exceptions(seed):
    """A generated policy with a token dropped, replaced or repeated: diagnostics, never a crash."""
    from policyd.lang.diagnostics import PolicyError
    from policyd.lang.layout import layout

    r = random.Random(seed)
    toks = [t.value for t in layout(generate(r))[0].tokens()]
    for _ in range(r.randint(1, 3)):
        i = r.randrange(len(toks))
        op = r.random()
        if op < 0.4:
            del toks[i]
        elif op < 0.7:
            toks[i] = r.choice(MUTATIONS)
        else:
            toks.insert(i, r.choice(toks))
    try:
        diags = load_text(" ".join(toks), "broken.policy").diagnostics
    except PolicyError as err:
        diags = err.diagnostics
    assert all(d.code[0] in "PSNTA" and d.message for d in diags)


def _random_lead(r: random.Random, reps: list[str]) -> dict:
    lead = {"id": f"L-{r.randint(0, 999)}", "size": r.choice([r.randint(-5, 200), 0, 5, 10, 100]), "plan": r.choice(WORDS)}
    if r.random() < 0.7:
        lead["opt"] = r.choice([r.randint(-5, 200), 0, 5, 10, 100])
    if r.random() < 0.5:
        lead["vip"] = r.random() < 0.5
    if r.random() < 0.5:
        lead["lang"] = r.choice(["en", "fr", "de", "zz"])
    if r.random() < 0.3:
        lead["owner"] = r.choice(reps)
    return lead


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_never_claims_hold_for_random_leads(seed):
    """What the analysis says can never happen does not happen for 200 random leads (and loads)."""
    from policyd.checks.analyze import Analysis
    from policyd.checks.check import Context
    from policyd.engine.state import State

    r = random.Random(seed)
    loaded = load_text(generate(r), "g.policy")
    if loaded.errors and not all(d.code.startswith("A") for d in loaded.errors):
        return
    a = Analysis(Context(loaded.policy))
    exact = a.score_table["exact"]
    policy = loaded.policy
    dead_lines = {
        (bi, li)
        for d in loaded.diagnostics
        if d.code == "A004"
        for bi, s in enumerate(policy.scores)
        for li, ln in enumerate(s.lines)
        if ln.span == d.span
    }
    dead_tiers = {t.name for d in loaded.diagnostics if d.code == "A003" for t in policy.tiers if t.span == d.span}
    dead_exceptions = {e.name for d in loaded.diagnostics if d.code == "A006" for e in policy.exceptions if e.span == d.span}
    unmeetable = [
        loaded.compiled.rep_filter(step.cond)
        for d in loaded.diagnostics
        if d.code == "A008"
        for pipe in list(policy.routes) + list(policy.exceptions)
        for step in pipe.steps
        if step.span == d.span
    ]
    reps = list(loaded.compiled.rep_names)
    caps = loaded.compiled.capacity
    for _ in range(200):
        lead = loaded.compiled.schema.validate(_random_lead(r, reps))
        O = [r.randint(0, max(c - 1, 0)) for c in caps]
        Q = [r.random() for _ in caps]
        assert all(fn(lead, O, Q, list(range(len(reps)))) == [] for fn in unmeetable)
        got = decide(loaded.compiled, lead, State(), "s", lottery=False)
        if exact:
            assert got.total in a.reachable
        assert not any(got.score_lines[bi] == li for bi, li in dead_lines)
        assert got.tier not in dead_tiers
        assert got.exception not in dead_exceptions
