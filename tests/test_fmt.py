"""`policyd fmt`: one canonical layout, comments kept, idempotent, meaning unchanged."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyd.cli.main import main
from policyd.lang.diagnostics import PolicyError
from policyd.lang.fmt import format_text
from policyd.lang.layout import layout
from policyd.lang.parse import parse_text
from tests.test_analyze_props import generate

ROOT = Path(__file__).parent.parent
REFERENCE = ROOT / "policies" / "inbound.policy"
POLICIES = sorted((ROOT / "policies").glob("*.policy")) + sorted((ROOT / "tests" / "data" / "analysis").glob("*.policy"))

MESSY = """\
# head


# two
policy   p "t" { owner "x" review every 3 months }
lead { id text   # the id
  n int?  x {a,b,c} = a
  lang text = "en" }
score s {   # hdr
  3 when n>=5 and (x is a or
     x in {b,c})
  # lone

  1 otherwise }
tiers { hi 2..3 lo 0..1 }
team { rep alice veteran
 capacity 3 speaks en,ja
 skills s 2
 rep bob new   # bob
 weight 2
}
route hi { require skill( x ) >= 2 pick least loaded }
route lo { pick random }
example "e" { lead { id "a",
  x b } expect tier lo }
# end
"""

# read line by line: aligned columns, one statement a line, comments where they were
MESSY_FORMATTED = """\
# head

# two
policy p "t" {
  owner  "x"
  review every 3 months
}

lead {
  id    text     # the id
  n     int?
  x     {a, b, c} = a
  lang  text = "en"
}

score s {   # hdr
  3 when n >= 5 and (x is a or
                     x in {b, c})
  # lone

  1 otherwise
}

tiers {
  hi  2..3
  lo  0..1
}

team {
  rep alice  veteran  capacity 3  speaks en, ja
    skills s 2
  rep bob    new  # bob
      weight 2
}

route hi {
  require skill(x) >= 2
  pick least loaded
}

route lo {
  pick random
}

example "e" {
  lead { id "a",
         x b }
  expect tier lo
}

# end
"""


def meaning(text: str, file: str = "p.policy"):
    """The model of a policy with every source position dropped (model spans compare=False)."""
    policy, problems = parse_text(text, file, ROOT / "policies")
    examples = tuple(dataclasses.replace(e, lead=tuple((k, v) for k, v, _ in e.lead)) for e in policy.examples)
    return dataclasses.replace(policy, examples=examples), [(d.code, d.message) for d in problems]


def comments(text: str) -> list[str]:
    return [c.value for c in layout(text)[1]]


def test_reference_policy_is_already_canonical():
    text = REFERENCE.read_text()
    assert format_text(text) == text


def test_messy_policy_gets_the_canonical_layout():
    assert format_text(MESSY) == MESSY_FORMATTED
    assert format_text(MESSY_FORMATTED) == MESSY_FORMATTED
    assert meaning(MESSY) == meaning(MESSY_FORMATTED)
    assert comments(MESSY) == comments(MESSY_FORMATTED)


def test_one_line_blocks_are_opened_up():
    src = 'policy p { owner "o" }\nlead { id text }\nscore s { 1 otherwise }\ntiers { a 1..1 }\n'
    assert format_text(src) == (
        'policy p {\n  owner "o"\n}\n\nlead {\n  id  text\n}\n\nscore s {\n  1 otherwise\n}\n\ntiers {\n  a  1..1\n}\n'
    )


def test_trailing_comment_keeps_its_column_when_the_code_fits():
    src = "tiers {\n  high 10..12            # top\n  low 1..9 # rest\n}\n"
    assert format_text(src) == "tiers {\n  high  10..12           # top\n  low   1..9  # rest\n}\n"


def test_syntax_error_is_a_policy_error():
    with pytest.raises(PolicyError) as err:
        format_text("tiers { high 1.. }\n", "bad.policy")
    assert err.value.diagnostics[0].code == "P001"


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_policy_formats_idempotently_with_the_same_meaning(path):
    text = path.read_text()
    once = format_text(text)
    assert format_text(once) == once
    assert meaning(once) == meaning(text)
    assert comments(once) == comments(text)


SEPARATORS = [" ", " ", " ", "  ", "\n", "\n  ", "\n\n", "\t", " # remark\n", "\n# a full-line note\n"]


def relayout(text: str, rnd: random.Random) -> str:
    """The same tokens, with random white space and comments between them."""
    toks = layout(text)[0].tokens()
    out = [toks[0].value]
    for t in toks[1:]:
        out.append(rnd.choice(SEPARATORS))
        out.append(t.value)
    return "".join(out) + rnd.choice(["", "\n", "\n# trailing\n"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(POLICIES), seed=st.integers(0, 2**32 - 1))
def test_generated_layouts_format_idempotently_and_keep_meaning_and_comments(path, seed):
    text = relayout(path.read_text(), random.Random(seed))
    once = format_text(text)
    assert format_text(once) == once
    assert meaning(once) == meaning(text)
    assert comments(once) == comments(text)


# ---------------------------------------------------------------- the command line
def test_fmt_check_exits_1_when_a_file_would_change(tmp_path):
    messy = tmp_path / "messy.policy"
    messy.write_text(MESSY)
    clean = tmp_path / "clean.policy"
    clean.write_text(REFERENCE.read_text())
    runner = CliRunner()
    r = runner.invoke(main, ["fmt", "--check", str(clean)])
    assert r.exit_code == 0 and r.stdout == ""
    r = runner.invoke(main, ["fmt", "--check", str(messy), str(clean)])
    assert r.exit_code == 1
    assert r.stderr == f"would reformat {messy}\n"
    assert messy.read_text() == MESSY  # --check changes nothing


def test_fmt_diff_prints_a_unified_diff_and_changes_nothing(tmp_path):
    messy = tmp_path / "messy.policy"
    messy.write_text(MESSY)
    r = CliRunner().invoke(main, ["fmt", "--diff", str(messy)])
    assert r.exit_code == 1  # as `ruff format --diff`: something would change
    shown = str(messy).lstrip("/")  # an absolute path outside the current folder: no `a//`
    assert r.stdout.startswith(f"--- a/{shown}\n+++ b/{shown}\n@@ ")
    assert '-policy   p "t" { owner "x" review every 3 months }\n' in r.stdout
    assert '+  owner  "x"\n' in r.stdout
    assert messy.read_text() == MESSY


def test_fmt_rewrites_files_and_goes_on_after_a_bad_one(tmp_path):
    messy = tmp_path / "messy.policy"
    messy.write_text(MESSY)
    bad = tmp_path / "bad.policy"
    bad.write_text("tiers { high 1.. }\n")
    r = CliRunner().invoke(main, ["fmt", str(bad), str(messy)])
    assert r.exit_code == 1
    assert f"{bad}:1:18: error P001: unexpected `}}`; expected a number" in r.stderr
    assert f"reformatted {messy}" in r.stderr
    assert messy.read_text() == MESSY_FORMATTED
    assert bad.read_text() == "tiers { high 1.. }\n"
    r = CliRunner().invoke(main, ["fmt", str(tmp_path / "missing.policy")])
    assert r.exit_code == 1 and "cannot read" in r.stderr


# ---------------------------------------------------------------- pre-commit (tests/test_precommit.py runs the hooks)
def test_readme_documents_the_hooks_and_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Checks and formatting", 1)[1]
    for needle in ("policyd-check", "policyd-fmt", "--check", "--diff", "--strict", "docs/diagnostics.md"):
        assert needle in section


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_policies_format_idempotently_with_the_same_meaning(seed):
    text = relayout(generate(random.Random(seed)), random.Random(seed))
    once = format_text(text)
    assert format_text(once) == once
    assert meaning(once) == meaning(text)
    assert comments(once) == comments(text)
