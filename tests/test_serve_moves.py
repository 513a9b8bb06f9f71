"""A lead that moved after its decision: the answer says who holds it now and how, then the decision."""

from __future__ import annotations

import html
import logging

import pytest

from policyd.explain.explain import explain
from policyd.storage.db import connect

from .serve_support import HIGH, Clock, ThreadServer, lead, make_token, publish

REASON = "speaks the customer's language"


@pytest.fixture
def env(db_target):
    db = db_target
    publish(db)
    admin = make_token(db, "admin", "ops")
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(admin) as c:
        yield srv, c, clock, db


def _other(rep: str) -> str:
    return "quinn" if rep != "quinn" else "erin"


def _as_decided(srv, lead_id: str, rep: str) -> str:
    """What the engine says about `rep` for the decision as it was made."""
    row = srv.runtime.row(srv.app.state.daemon.read, lead_id)
    c, d = srv.runtime.redecide(row)
    return explain(c, d, rep)["why_not"]["answer"]


def test_why_not_the_rep_it_was_overridden_to_says_they_hold_it(env):
    srv, c, _, _ = env
    first = c.post("/v1/assign", json=lead("M-1", **HIGH)).json()["rep"]
    to = _other(first)
    assert c.post("/v1/decisions/L-M-1/override", json={"rep": to, "reason": REASON}).status_code == 200
    how = f'ops overrode it from {first} to {to}: "{REASON}"'

    j = c.get("/v1/decisions/L-M-1", params={"why_not": to}).json()
    x = j["explanation"]
    assert x["now"] == {
        "rep": to,
        "queue": None,
        "status": "assigned",
        "moved": True,
        "where": f"{to} holds the lead (assigned)",
        "how": how,
        "text": f"{to} holds the lead (assigned), since {how}",
    }
    assert [(m["kind"], m["actor"], m["from"], m["to"]) for m in x["moves"]] == [("override", "ops", first, to)]
    engine = _as_decided(srv, "L-M-1", to)
    assert x["why_not"]["answer"] == f"{to} holds this lead now: {how}. As decided: {engine}"
    assert x["why_not"]["as_decided"] == engine
    assert x["outcome"]["rep"] == first  # the decision as made is still explained
    assert j["decision"]["rep"] == to and j["decision"]["decided"]["rep"] == first

    back = c.get("/v1/decisions/L-M-1", params={"why_not": first}).json()["explanation"]["why_not"]
    assert back["answer"] == f"{first} no longer holds it: {how}; now {to} holds the lead (assigned). As decided: You got this lead"

    text = c.get("/v1/decisions/L-M-1", params={"why_not": to, "format": "text"}).text
    lines = text.splitlines()
    assert lines[0] == f"Now: {to} holds the lead (assigned), since {how}."
    assert lines[1] == "Moves after the decision:"
    assert lines[2].endswith(f"  {how}") and lines[2].startswith("  20")
    assert lines[4:6] == ["The decision (team inbound_b2b, version 1):", lines[5]] and lines[5].startswith("Lead L-M-1 (Company M-1) -> ")
    assert lines[-1] == f"Why not {to}? {to} holds this lead now: {how}. As decided: {engine}"
    assert text.count("Why not") == 1  # the decision's own why-not is not repeated

    md = c.get("/v1/decisions/L-M-1", params={"why_not": to, "format": "md"}).text
    assert md.startswith(f"**Now:** {to} holds the lead (assigned), since {how}.\n")
    assert md.rstrip().endswith(f"**Why not {to}?** {to} holds this lead now: {how}. As decided: {engine}")

    page = html.unescape(c.get("/decisions/L-M-1", params={"why_not": to}).text)
    assert f"Now:</strong> {to} holds the lead (assigned), since {how}." in page
    assert f"Why not {to}?</strong> {to} holds this lead now: {how}. As decided: {engine}" in page
    assert page.index("Moves after the decision") < page.index("Why it was decided so")

    fmt_html = html.unescape(c.get("/v1/decisions/L-M-1", params={"why_not": to, "format": "html"}).text)
    assert fmt_html.index(f"Now:</strong> {to} holds the lead") < fmt_html.index(f"Why not {to}?</strong> {to} holds this lead now")


def test_sla_moves_are_told_and_reads_after_them_replay_cleanly(env, caplog):
    srv, c, clock, db = env
    first = c.post("/v1/assign", json=lead("M-2", **HIGH)).json()["rep"]
    clock.advance(2 * 3600 + 1)
    [step] = srv.settle()
    second = step["to"]
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="policyd"):
        x = c.get("/v1/decisions/L-M-2", params={"why_not": second}).json()["explanation"]
        how = f"not accepted in time: the SLA moved it from {first} to {second} (reassignment 1)"
        assert x["why_not"]["answer"] == f"{second} holds this lead now: {how}. As decided: {_as_decided(srv, 'L-M-2', second)}"
        clock.advance(2 * 3600 + 1)
        srv.settle()
        clock.advance(2 * 3600 + 1)
        [esc] = srv.settle()
        assert esc["kind"] == "escalate"
        x = c.get("/v1/decisions/L-M-2", params={"why_not": first}).json()["explanation"]
        assert x["now"]["text"].startswith(
            "the lead waits in queue escalated (escalated), since not accepted in time: the SLA escalated it"
        )
        assert x["why_not"]["answer"].startswith(
            f"{first} no longer holds it (not accepted in time: the SLA moved it from {first} to {second}"
        )
        assert c.get("/decisions/L-M-2").status_code == 200
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        # a stored decision that really does not replay is still reported
        conn = connect(str(db))
        conn.execute("update rt_decisions set rep = 'nobody' where lead_id = 'L-M-2'")
        conn.close()
        c.get("/v1/decisions/L-M-2")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"decision for L-M-2 does not replay: stored nobody, replayed {first}"]


def test_an_unmoved_lead_answers_as_before(env):
    srv, c, _, _ = env
    rep = c.post("/v1/assign", json=lead("M-3")).json()["rep"]
    x = c.get("/v1/decisions/L-M-3", params={"why_not": rep}).json()["explanation"]
    assert x["now"]["moved"] is False and x["moves"] == []
    assert x["why_not"]["answer"] == "You got this lead"
