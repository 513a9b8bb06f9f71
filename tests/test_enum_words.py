"""The words of conditions are not enum values (P014): `quality is missing` must keep its one meaning."""

from __future__ import annotations

import pytest

from policyd.checks.load import load_text

POLICY = """policy t {{ owner "x" }}
lead {{
  id       text
  quality  {{{values}}}
}}
score q {{
  1 when quality is high
  0 otherwise
}}
tiers {{ all 0..1 }}
team {{ rep ann veteran }}
route all {{ pick least loaded }}
"""


def diagnostics(values: str) -> list:
    loaded = load_text(POLICY.format(values=values), "t.policy")
    return [d for d in loaded.diagnostics if d.code == "P014"]


@pytest.mark.parametrize("word", ["missing", "set", "and", "or", "not", "is", "in", "when", "otherwise", "then"])
def test_a_condition_word_is_refused_as_an_enum_value_with_a_hint(word):
    (d,) = diagnostics(f"high, {word}")
    assert d.message.startswith(f"`{word}` is a condition word, so it cannot be a value of an enum")
    assert f"`{word}_value`" in d.hint
    assert (d.span.line, d.span.col) == (4, 19)


def test_every_offending_value_is_reported_and_ordinary_words_pass():
    assert [d.message.split("`")[1] for d in diagnostics("missing, high, set")] == ["missing", "set"]
    # words that merely contain a condition word, and other keywords, are fine
    assert diagnostics("high, missing_value, is_set, owner, review") == []
