"""SLA reassignment under each pick strategy, through a real server with an injected clock.

The daemon asks `picks.next_holder`; each test sets up a case where the strategy's
own order differs from least loaded and team order, then lets the deadline pass.
"""

from __future__ import annotations

import pytest

from policyd.engine.draw import draw, draw_index

from .serve_support import Clock, ThreadServer, db_rows, make_token, publish

HOUR = 3600


def policy(pick: str, reps: str) -> str:
    return f"""
policy picks "SLA moves by pick strategy" {{
  owner "tests"
}}

lead {{
  id text
  n  int
}}

score s {{
  1 otherwise
}}

tiers {{
  t 1..1
}}

team {{
  capacity default 5
  {reps}
}}

route t {{
  pick {pick}
}}

sla {{
  t respond within 1h, reassign at most 3 times
}}
"""


@pytest.fixture
def server(tmp_path):
    """A started server on a fresh database with the given policy: (server, client, clock)."""
    opened = []

    def start(pick: str, reps: str):
        db = tmp_path / "sla.db"
        publish(db, policy(pick, reps))
        tok = make_token(db, "assign")
        clock = Clock()
        srv = ThreadServer(db, clock=clock, sla_interval=HOUR).__enter__()
        client = srv.client(tok)
        opened.append((srv, client))
        return srv, client, clock, db

    yield start
    for srv, client in opened:
        client.close()
        srv.__exit__(None, None, None)


def assign(client, i: int) -> str:
    answer = client.post("/v1/assign", json={"id": f"L{i}", "n": 1})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["rep"]


def miss(srv, clock) -> list[dict]:
    clock.advance(HOUR + 1)
    return srv.settle()


def test_weighted_goes_on_with_the_weighted_rotation(server):
    """Weights a=1, b=9, c=5: b gets the lead; when b misses the SLA it goes to c, then to a."""
    srv, client, clock, _ = server("weighted", "rep a new weight 1\n  rep b new weight 9\n  rep c new weight 5")
    assert assign(client, 1) == "b"
    steps = miss(srv, clock)
    assert [(s["kind"], s["from"], s["to"]) for s in steps] == [("reassign", "b", "c")]
    assert srv.runtime.state.wrr["route:t"] == {"a": 2.0, "b": -6.0, "c": 4.0}  # the rotation moved with the lead
    assert [(s["from"], s["to"]) for s in miss(srv, clock)] == [("c", "a")]
    assert [s["kind"] for s in miss(srv, clock)] == ["escalate"]  # nobody left who has not had it


def test_round_robin_goes_on_from_the_cursor(server):
    srv, client, clock, _ = server("round robin", "rep a new\n  rep b new\n  rep c new\n  rep d new")
    got = [assign(client, i) for i in range(1, 6)]
    assert got == ["a", "b", "c", "d", "a"]
    for i in (1, 2, 3, 4):
        assert client.post(f"/v1/decisions/L{i}/accept").status_code == 200
    assert client.post("/v1/decisions/L3/close", json={"outcome": "won"}).status_code == 200  # c: fewest open now
    steps = miss(srv, clock)
    assert [(s["lead_id"], s["from"], s["to"]) for s in steps] == [("L5", "a", "b")]  # least loaded would say c
    assert srv.runtime.state.cursors["route:t"] == "b"


def test_random_draws_again_with_the_attempt_in_the_purpose(server):
    srv, client, clock, db = server("random", "rep a new\n  rep b new\n  rep c new\n  rep d new")
    first = assign(client, 7)
    ((seed,),) = db_rows(db, "select seed from rt_decisions where lead_id = 'L7'")
    assert first == "abcd"[draw_index(draw(seed, "L7", "pick:route:t"), None, 4)]
    left = [r for r in "abcd" if r != first]
    holder = first
    for attempt in (1, 2, 3):
        (step,) = miss(srv, clock)
        want = left[draw_index(draw(seed, "L7", f"pick:route:t:reassign:{attempt}"), None, len(left))]
        assert (step["from"], step["to"], step["attempt"]) == (holder, want, attempt)
        left.remove(want)
        holder = want


def test_least_loaded_keeps_its_tie_breaks(server):
    srv, client, clock, _ = server("least loaded", "rep a new capacity 2\n  rep b new capacity 10\n  rep c new capacity 10")
    assert assign(client, 1) == "a"  # all empty: team order
    clock.advance(10)
    assert assign(client, 2) == "b"  # a is at 1/2
    clock.advance(10)
    assert assign(client, 3) == "c"
    clock.advance(10)
    assert assign(client, 4) == "b"  # b and c at 1/10 with one open each: b waited longer
    for i in (1, 2, 3):
        assert client.post(f"/v1/decisions/L{i}/accept").status_code == 200
    steps = miss(srv, clock)
    assert [(s["lead_id"], s["from"], s["to"]) for s in steps] == [("L4", "b", "c")]  # a is at 1/2: not team order
