"""Lead validation: refused with a message naming field, value and expectation."""

from __future__ import annotations

import pytest

from policyd.engine.decide import decide
from policyd.engine.schema import LeadError

BASE = {
    "id": "L-1",
    "company": "Acme",
    "employees": 50,
    "budget": "unknown",
    "authority": "influencer",
    "industry": "retail",
    "segment": "smb",
    "country": "US",
}

MALFORMED = [
    ("unknown field", dict(BASE, employes=50), ["field employes: unknown field; did you mean employees?"]),
    ("missing required", {k: v for k, v in BASE.items() if k != "company"}, ["field company: is required but missing; expected a text"]),
    ("number as text", dict(BASE, employees="50"), ['field employees: expected a whole number, got a text "50"']),
    ("fraction for int", dict(BASE, employees=50.5), ["field employees: expected a whole number, got a number 50.5"]),
    ("bool for int", dict(BASE, employees=True), ["field employees: expected a whole number, got a true/false value true"]),
    (
        "misspelt word",
        dict(BASE, budget="unkown"),
        ['field budget: "unkown" is not one of its words; expected one of stated, considering, unknown; did you mean unknown?'],
    ),
    (
        "word outside the set",
        dict(BASE, industry="aerospace"),
        ['field industry: "aerospace" is not one of its words; expected one of it, manufacturing, finance, retail, health, other'],
    ),
    ("unknown rep", dict(BASE, account_owner="erinn"), ['field account_owner: "erinn" is not a rep of the team; did you mean erin?']),
    ("null for a required field", dict(BASE, country=None), ["field country: is required, got null"]),
    ("number for text", dict(BASE, company=42), ["field company: expected a text, got a whole number 42"]),
    ("not an object", ["L-1"], ["a lead must be an object of field to value, got a list"]),
    ("list for a word", dict(BASE, segment=["smb"]), ['field segment: expected one of enterprise, smb, got a list ["smb"]']),
]


@pytest.mark.parametrize("name,lead,messages", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_lead_is_refused_with_a_clear_message(inbound, name, lead, messages):
    with pytest.raises(LeadError) as err:
        decide(inbound.compiled, lead)
    assert [e.message for e in err.value.errors] == messages


def test_every_problem_is_reported_not_only_the_first(inbound):
    with pytest.raises(LeadError) as err:
        decide(inbound.compiled, {"id": "L-1", "budget": 7, "extra": 1})
    fields = [e.field for e in err.value.errors]
    assert fields == ["company", "employees", "budget", "authority", "industry", "segment", "country", "extra"]
    assert err.value.errors[2].expected == "one of stated, considering, unknown"


def test_defaults_applied_and_missing_optionals_are_none(inbound):
    lead = inbound.compiled.schema.validate(dict(BASE))
    assert lead["motion"] == "new_business" and lead["language"] == "en"
    assert lead["timing_months"] is None and lead["account_owner"] is None


def test_null_for_an_optional_field_means_missing(inbound):
    lead = inbound.compiled.schema.validate(dict(BASE, timing_months=None))
    assert lead["timing_months"] is None


def test_fast_path_and_full_validation_agree(inbound):
    schema = inbound.compiled.schema
    good = dict(BASE, timing_months=3, motion="expansion", account_owner="erin")
    assert schema.fast(good) == schema._validate_slow(good)
    for _, bad, _ in MALFORMED:
        assert schema.fast(bad) is None


def test_null_for_an_optional_field_stays_on_the_fast_path(inbound):
    """A replayed or stored lead carries `null` for every optional field it lacks: no slow validation."""
    schema = inbound.compiled.schema
    for lead in (dict(BASE, timing_months=None), dict(BASE, account_owner=None, motion=None, language=None)):
        fast = schema.fast(lead)
        assert fast is not None and fast == schema._validate_slow(lead)
    assert fast["motion"] == "new_business" and fast["account_owner"] is None  # a default, and missing
    assert schema.fast(dict(BASE, company=None)) is None  # a required field: the slow path words the refusal


def test_null_for_an_optional_field_with_a_default_takes_the_default():
    from policyd.checks.load import load_text

    c = load_text(
        "lead { id text  x int? = 3 }\nscore s { 1 when x >= 3  0 otherwise }\ntiers { t 0..1 }\n"
        "team { rep a new }\nroute t { pick least loaded }\n",
        "d.policy",
    ).compiled
    d = decide(c, {"id": "1", "x": None})
    assert d.lead["x"] == 3 and d.total == 1
