"""Whatever bytes a client sends, the answer is a 4xx in words, never a 500, and the connection stays usable.

Each input of the security review goes through a real server on loopback,
pipelined with a valid request on the same keep-alive connection: a 500 used
to close it, and the valid lead behind was committed but never answered.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .serve_support import ThreadServer, db_rows, http_request, lead, make_token, publish, read_responses

BASE = json.dumps(lead("J-0"))[:-1]  # a valid lead without its closing brace, to append a raw field to


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = tmp_path_factory.mktemp("input") / "policyd.db"
    publish(db)
    toks = {role: make_token(db, role) for role in ("read", "assign", "admin")}
    with ThreadServer(db) as srv:
        yield srv, toks, db


def exchange(srv, *requests: bytes) -> list[tuple[int, dict, bytes]]:
    """Write the requests pipelined in one go; read as many answers."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as s:
        s.sendall(b"".join(requests))
        return read_responses(s, len(requests))


def assign_then_valid(srv, tok: str, body: bytes, follow_id: str) -> tuple[int, dict]:
    """POST body, and a valid lead behind it on the same connection; both must be answered."""
    answers = exchange(
        srv, http_request("POST", "/v1/assign", body, tok), http_request("POST", "/v1/assign", json.dumps(lead(follow_id)).encode(), tok)
    )
    assert len(answers) == 2, "the connection was closed after the first answer"
    assert answers[1][0] == 201, answers[1]
    return answers[0][0], json.loads(answers[0][2])


BAD_NUMBERS = [
    ("NaN", "employees", "NaN is not a JSON number; expected a finite number"),
    ("Infinity", "employees", "Infinity is not a JSON number; expected a finite number"),
    ("-Infinity", "employees", "-Infinity is not a JSON number; expected a finite number"),
    ("1e400", "employees", "1e400 is too large for a number; expected a finite number (at most about 1.8e308)"),
    ("9" * 5000, "employees", "a whole number of 5000 digits; expected at most 64 digits"),
]


@pytest.mark.parametrize("raw,field,message", BAD_NUMBERS, ids=[r[:12] for r, _, _ in BAD_NUMBERS])
def test_numbers_json_cannot_carry_are_refused_by_path(env, raw, field, message):
    srv, toks, db = env
    i = len(raw)
    body = json.dumps(lead(f"N-{i}"))[:-1].replace('"employees": 20', f'"employees": {raw}') + "}"
    status, answer = assign_then_valid(srv, toks["assign"], body.encode(), f"N-ok-{i}")
    assert status == 400
    assert answer == {"error": "bad_json", "message": f"{field}: {message}", "fields": [{"field": field, "message": message}]}
    assert db_rows(db, "SELECT count(*) FROM rt_decisions WHERE lead_id = ?", (f"L-N-{i}",)) == [(0,)]


def test_a_bad_number_in_a_refused_field_still_gets_an_encodable_answer(env):
    srv, toks, _ = env
    for n, raw in enumerate(("Infinity", "NaN", "1e400")):
        status, answer = assign_then_valid(srv, toks["assign"], (BASE + f', "revenue": {raw}}}').encode(), f"R-ok-{n}")
        assert (status, answer["fields"][0]["field"]) == (400, "revenue")


@pytest.mark.parametrize(
    "raw,field",
    [
        (r'"company": "\ud800"', "company"),
        (r'"company": "ok \udfff then"', "company"),
        (r'"\udc00x": 1', '["\\\\udc00x"]'),
        (r'"tags": [1, {"deep": "\ud83d"}]', "tags[1].deep"),
    ],
)
def test_lone_surrogates_in_keys_and_values_are_refused(env, raw, field):
    srv, toks, _ = env
    body = json.dumps({k: v for k, v in lead("S-1").items() if k != "company"})[:-1] + ", " + raw + "}"
    status, answer = assign_then_valid(srv, toks["assign"], body.encode(), f"S-ok-{abs(hash(raw))}")
    assert status == 400
    assert answer["fields"][0]["field"] == field
    assert "lone UTF-16 surrogate" in answer["message"]


def test_a_surrogate_pair_is_fine(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        r = c.post("/v1/assign", content=(BASE.replace('"Company 0"', r'"Caf\u00e9 \ud83d\ude00"').replace("J-0", "P-1") + "}").encode())
    assert r.status_code == 201


def test_deep_nesting_is_refused_by_path(env):
    srv, toks, _ = env
    body = (BASE + ', "extra": ' + "[" * 40 + "]" * 40 + "}").encode()
    status, answer = assign_then_valid(srv, toks["assign"], body, "D-ok")
    assert status == 400
    assert answer["fields"][0]["field"] == "extra" + "[0]" * 31
    assert answer["fields"][0]["message"] == "nested deeper than 32 levels of objects and lists"


def test_a_long_refused_value_is_echoed_cut(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        r = c.post("/v1/assign", json=lead("C-1", employees="x" * 50_000))
    assert r.status_code == 422
    assert len(r.content) < 10_000
    assert r.json()["fields"][0]["value"] == "x" * 200 + "..."


@pytest.mark.parametrize("bad", ["", "a/b", "..", ".", "a b", "é", "x" * 129, "a%2Fb", "a?b", "a#b"])
def test_ids_no_path_could_address_are_refused(env, bad):
    srv, toks, db = env
    with srv.client(toks["assign"]) as c:
        r = c.post("/v1/assign", json=lead(0, id=bad))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid" and body["fields"][0]["field"] == "id"
    assert "expected 1 to 128 of A-Z a-z 0-9 . _ : @ -, and not . or .." in body["message"]
    assert db_rows(db, "SELECT count(*) FROM rt_decisions WHERE lead_id = ?", (bad,)) == [(0,)]


def test_a_number_id_is_refused_not_matched_to_the_text_id(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        assert c.post("/v1/assign", json=lead(0, id="5")).status_code == 201
        for other in (5, 5.0, True, ["5"], {"id": "5"}):
            r = c.post("/v1/assign", json=lead(0, id=other))
            assert (r.status_code, r.json()["fields"][0]["field"]) == (422, "id"), other
            assert r.json()["message"].startswith("id: expected a text id, got ")


def test_every_id_of_the_alphabet_routes_on_every_lead_path(env):
    srv, toks, _ = env
    odd = ["L:1@x.y-z_Q", "A" * 128, "-", "...", "@", "a..b", "9"]
    with srv.client(toks["admin"]) as c:
        for lead_id in odd:
            r = c.post("/v1/assign", json=lead(0, id=lead_id))
            assert r.status_code == 201, r.text
            link = r.json()["explanation"]
            assert link == "/v1/decisions/" + quote(lead_id, safe="")
            assert c.get(link).json()["decision"]["lead_id"] == lead_id
            assert c.get(link, params={"format": "html"}).status_code == 200
            assert c.get("/decisions/" + quote(lead_id, safe="")).status_code == 200
            assert c.post(link + "/accept").status_code == 200
            r = c.post(link + "/close", json={"outcome": "won"})
            assert (r.status_code, r.json()["status"]) == (200, "won")  # the rep's slot is free again


# ------------------------------------------------------------------ random bodies
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_hostile = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "9" * 4400, '"\\ud800"', '"\\udfff"', "[" * 50, '"\\u0000"', "{", "1."]
)


@st.composite
def bodies(draw) -> bytes:
    """JSON-ish bytes: leads with a field replaced, random JSON, hostile tokens spliced in, random bytes."""
    kind = draw(st.integers(0, 4))
    if kind == 0:
        base = lead("H")
        key = draw(st.sampled_from([*base, "id", "extra", "\udc00"]))
        base[key] = draw(_values)
        text = json.dumps(base, allow_nan=True)
    elif kind == 1:
        text = json.dumps(draw(_values), allow_nan=True)
    elif kind == 2:
        text = BASE + f', "{draw(st.sampled_from(["employees", "id", "x", "company"]))}": {draw(_hostile)}}}'
    elif kind == 3:
        text = json.dumps({"id": draw(st.text(max_size=10)), "company": draw(st.text(max_size=10))})
    else:
        return draw(st.binary(max_size=64))
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies())
def test_no_body_gives_a_5xx_and_the_connection_stays_usable(env, body):
    srv, toks, _ = env
    answers = exchange(srv, http_request("POST", "/v1/assign", body, toks["assign"]), http_request("GET", "/v1/reps", token=toks["read"]))
    assert len(answers) == 2, f"the connection was closed after {answers}"
    (status, headers, content), (after, _, _) = answers
    assert status < 500, content
    assert after == 200
    if headers.get("content-type", "").startswith("application/json"):
        json.loads(content)  # every answer is JSON a client can read
