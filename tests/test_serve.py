"""The daemon's HTTP API against a real server on a free loopback port."""

from __future__ import annotations

import json
import time

import pytest

from policyd.lottery import seeds
from policyd.web.routes import ROUTES

from .serve_support import HIGH, INBOUND, Clock, ProcessServer, ThreadServer, db_rows, lead, make_token, publish


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = tmp_path_factory.mktemp("serve") / "policyd.db"
    publish(db)
    now = time.time()
    for t in (now, now + 7 * 86400):  # this week's seed, and next week's should the module run across midnight on Sunday
        seeds.commit(str(db), seeds.period_of(t), now=seeds.period_start(seeds.period_of(t)) - 60)
    toks = {role: make_token(db, role) for role in ("read", "assign", "admin")}
    with ThreadServer(db, sla_interval=0.05) as srv:
        yield srv, toks, db


def test_health_needs_no_token(env):
    srv, _, _ = env
    with srv.client(None) as c:
        r = c.get("/v1/health")
    assert r.status_code == 200
    body = r.json()
    period = seeds.period_of(time.time())
    assert body == {
        "status": "ok",
        "version": 1,
        "lottery": {"period": period, "seed": "committed", "commitment": seeds.commitment_for(str(srv.runtime.path), period), "note": None},
        "storage": {"status": "ok", "file": str(srv.runtime.path)},
    }


def test_openapi_describes_every_route(env):
    srv, toks, _ = env
    with srv.client(toks["read"]) as c:
        doc = c.get("/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    served = {(r.path, m.lower()) for r in ROUTES for m in (r.methods or ()) if m != "HEAD" and r.path != "/"}
    described = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert served == described
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == len(described)


# ------------------------------------------------------------------ auth: every endpoint, every role
ENDPOINTS = [
    ("GET", "/v1/openapi.json", None, "read"),
    ("POST", "/v1/assign", lead("R-1"), "assign"),
    ("GET", "/v1/decisions/L-R-1", None, "read"),
    ("POST", "/v1/decisions/L-R-1/accept", None, "assign"),
    ("POST", "/v1/decisions/L-R-1/close", {"outcome": "lost"}, "assign"),
    ("POST", "/v1/decisions/L-R-1/override", {"rep": "quinn", "reason": "test"}, "admin"),
    ("GET", "/v1/reps", None, "read"),
    ("GET", "/v1/queues", None, "read"),
    ("PUT", "/v1/reps/tomas/away", {"until": "2099-01-01T00:00:00Z"}, "admin"),
    ("DELETE", "/v1/reps/tomas/away", None, "admin"),
    ("GET", "/v1/fairness", None, "read"),
    ("GET", "/v1/metrics", None, "read"),
    ("POST", "/v1/activate", {"version": 1}, "admin"),
    ("GET", "/dashboard", None, "read"),
    ("GET", "/decisions/L-R-1", None, "read"),
]
RANK = {"read": 0, "assign": 1, "admin": 2}


@pytest.mark.parametrize("method,path,body,needed", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_every_endpoint_checks_the_token_and_role(env, method, path, body, needed):
    srv, toks, _ = env
    with srv.client(None) as c:
        r = c.request(method, path, json=body)
        assert r.status_code == 401
        if not path.startswith("/v1/"):
            assert "Sign-in needed" in r.text
        else:
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json() == {
                "error": "unauthorized",
                "message": "missing bearer token: send `Authorization: Bearer TOKEN` (create one with `policyd token create`)",
            }
        r = c.request(method, path, json=body, headers={"Authorization": "Bearer pd_not-a-real-token"})
        assert r.status_code == 401
    for role in ("read", "assign", "admin"):
        with srv.client(toks[role]) as c:
            r = c.request(method, path, json=body)
        if RANK[role] < RANK[needed]:
            assert r.status_code == 403, (role, r.text)
            if path.startswith("/v1/"):
                assert r.json() == {
                    "error": "forbidden",
                    "message": f"token '{role}-client' has role {role}; this needs role {needed} or higher",
                }
        else:
            assert r.status_code not in (401, 403), (role, r.text)


def test_health_is_the_only_open_endpoint(env):
    srv, _, _ = env
    with srv.client(None) as c:
        for route in ROUTES:
            if route.path in ("/v1/health", "/"):
                continue
            for m in route.methods or ():
                if m == "HEAD":
                    continue
                path = route.path.replace("{lead_id}", "x").replace("{rep}", "alice")
                assert c.request(m, path).status_code == 401, path


# ------------------------------------------------------------------ assign
def test_assign_then_repeat_is_idempotent(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        first = c.post("/v1/assign", json=lead("A-1"))
        again = c.post("/v1/assign", json=lead("A-1"))  # a different body is a 409 (tests/test_idempotency.py)
    assert first.status_code == 201
    assert again.status_code == 200
    a, b = first.json(), again.json()
    assert a["replayed"] is False and b["replayed"] is True
    assert a["rep"] == b["rep"] and a["rep"] is not None
    assert a["tier"] == "low" and a["status"] == "assigned" and a["version"] == 1
    a.pop("replayed"), b.pop("replayed")
    assert a == b


def test_assign_refuses_a_bad_lead_field_by_field(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        r = c.post("/v1/assign", json=lead("A-2", employees="many", budget="lots"))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid_lead"
    assert body["message"] == "the lead was refused (2 problems)"
    assert [f["field"] for f in body["fields"]] == ["employees", "budget"]
    assert body["fields"][0]["message"] == 'field employees: expected a whole number, got a text "many"'
    assert body["fields"][1]["expected"] == "one of stated, considering, unknown"


def test_malformed_json_non_object_empty_and_too_large(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        r = c.post("/v1/assign", content=b'{"id": "x",', headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert r.json() == {
            "error": "bad_json",
            "message": "malformed JSON at line 1 column 12: Expecting property name enclosed in double quotes",
        }
        r = c.post("/v1/assign", json=[1, 2])
        assert (r.status_code, r.json()["message"]) == (400, "expected a JSON object")
        r = c.post("/v1/assign", content=b"")
        assert (r.status_code, r.json()["message"]) == (400, "empty body: expected a JSON object")
        r = c.post("/v1/assign", content=b"\xff\xfe")
        assert (r.status_code, r.json()["message"]) == (400, "body is not UTF-8 text (byte 0)")
        r = c.post("/v1/assign", content=b"[" * 30_000 + b"]" * 30_000)
        assert (r.status_code, r.json()["message"]) == (400, "JSON nested too deeply (the limit is 32 levels)")
        r = c.post("/v1/assign", json=lead("A-4", id=None))
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "id"
        big = json.dumps(lead("A-3", company="x" * 70_000)).encode()
        r = c.post("/v1/assign", content=big)
        assert r.status_code == 413
        assert r.json() == {"error": "too_large", "message": f"request body is {len(big)} bytes; the limit is 65536"}

        def chunks():
            for _ in range(70):
                yield b" " * 1024

        r = c.post("/v1/assign", content=chunks())
        assert r.status_code == 413
        assert r.json()["message"] == "request body is over the limit of 65536 bytes"


def test_unknown_endpoint_and_method_are_json(env):
    srv, toks, _ = env
    with srv.client(toks["admin"]) as c:
        r = c.get("/v1/nope")
        assert (r.status_code, r.json()) == (404, {"error": "not_found", "message": "no such endpoint: /v1/nope"})
        r = c.delete("/v1/assign")
        assert (r.status_code, r.json()["error"]) == (405, "method_not_allowed")


# ------------------------------------------------------------------ decisions and explanations
def test_decision_in_every_format_with_why_not(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        rep = c.post("/v1/assign", json=lead("E-1", **HIGH)).json()["rep"]
        j = c.get("/v1/decisions/L-E-1", params={"why_not": "quinn"}).json()
        assert j["decision"]["rep"] == rep
        assert j["explanation"]["outcome"]["rep"] == rep
        assert j["explanation"]["why_not"]["rep"] == "quinn"
        assert [h["kind"] for h in j["history"]] == ["assign"]
        text = c.get("/v1/decisions/L-E-1", params={"format": "text", "why_not": "quinn"})
        assert text.headers["content-type"].startswith("text/plain")
        assert text.text.startswith(
            f"Now: {rep} holds the lead (assigned), as decided.\n\nThe decision (team inbound_b2b, version 1):\nLead L-E-1 (Company E-1) -> {rep}\n"
        )
        assert "Why not quinn?" in text.text
        md = c.get("/v1/decisions/L-E-1", params={"format": "md"})
        assert md.headers["content-type"].startswith("text/markdown")
        assert "L-E-1" in md.text and rep in md.text
        html = c.get("/v1/decisions/L-E-1", params={"format": "html"})
        assert html.headers["content-type"].startswith("text/html")
        assert "L-E-1" in html.text and rep in html.text
        r = c.get("/v1/decisions/L-E-1", params={"format": "pdf"})
        assert (r.status_code, r.json()["message"]) == (400, "format=pdf: expected one of json, text, md, html")
        r = c.get("/v1/decisions/L-E-1", params={"why_not": "quin"})
        assert (r.status_code, r.json()["message"]) == (404, "why_not=quin: no such rep; did you mean quinn?")
        r = c.get("/v1/decisions/L-nobody")
        assert (r.status_code, r.json()) == (404, {"error": "not_found", "message": "no decision for lead 'L-nobody'"})


def test_stored_decision_replays_from_its_inputs(env):
    """The row keeps lead, state snapshot, seed and version: re-deciding gives the same answer."""
    srv, toks, db = env
    with srv.client(toks["assign"]) as c:
        for i in range(5):
            c.post("/v1/assign", json=lead(f"D-{i}", **HIGH))
    rt = srv.runtime
    for i in range(5):
        row = rt.row(srv.app.state.daemon.read, f"L-D-{i}")
        _, d = rt.redecide(row)
        assert (d.rep, d.tier, d.by) == (row["rep"], row["tier"], row["by"])
        assert json.loads(row["snapshot"])["open"] is not None


# ------------------------------------------------------------------ accept, close, override
def test_accept_close_and_capacity(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        d = c.post("/v1/assign", json=lead("C-1")).json()
        rep = d["rep"]
        before = {r["rep"]: r["open"] for r in c.get("/v1/reps").json()["reps"]}
        r = c.post("/v1/decisions/L-C-1/accept", json={"rep": "nobody"})
        assert (r.status_code, r.json()["message"]) == (409, f"lead L-C-1 is held by {rep}, not nobody")
        r = c.post("/v1/decisions/L-C-1/accept")
        assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["deadline"] is None
        r = c.post("/v1/decisions/L-C-1/close", json={"outcome": "maybe"})
        assert (r.status_code, r.json()["message"]) == (422, 'outcome: expected won or lost, got "maybe"')
        r = c.post("/v1/decisions/L-C-1/close", json={"outcome": "won"})
        assert r.status_code == 200 and r.json()["status"] == "won"
        after = {r["rep"]: r["open"] for r in c.get("/v1/reps").json()["reps"]}
        assert after[rep] == before[rep] - 1
        r = c.post("/v1/decisions/L-C-1/close", json={"outcome": "lost"})
        assert (r.status_code, r.json()["message"]) == (409, "lead L-C-1 is already closed (won)")
        r = c.post("/v1/decisions/L-C-1/accept")
        assert (r.status_code, r.json()["message"]) == (409, "lead L-C-1 cannot be accepted: it is won")


def test_override_is_recorded_and_counted(env):
    srv, toks, db = env
    with srv.client(toks["admin"]) as c:
        d = c.post("/v1/assign", json=lead("O-1")).json()
        target = "nadia" if d["rep"] != "nadia" else "priya"
        before = c.get("/v1/fairness").json()
        r = c.post("/v1/decisions/L-O-1/override", json={"rep": target})
        assert r.status_code == 422
        assert r.json()["message"] == "reason: expected a reason (it is recorded in the audit log)"
        r = c.post("/v1/decisions/L-O-1/override", json={"rep": "nadja", "reason": "x"})
        assert (r.status_code, r.json()["message"]) == (404, "no rep named 'nadja' in version 1; did you mean nadia?")
        r = c.post("/v1/decisions/L-O-1/override", json={"rep": target, "reason": "speaks the customer's language"})
        assert r.status_code == 200
        body = r.json()
        assert body["rep"] == target and body["overridden"] is True
        assert body["override_reason"] == "speaks the customer's language"
        assert body["decided"]["rep"] == d["rep"]
        r = c.post("/v1/decisions/L-O-1/override", json={"rep": target, "reason": "again"})
        assert (r.status_code, r.json()["message"]) == (409, f"lead L-O-1 is already with {target}")
        after = c.get("/v1/fairness").json()
        assert after["overrides"] == before["overrides"] + 1
        assert after["rule_compliance"] == round((after["decisions"] - after["overrides"]) / after["decisions"], 4)
        assert after["rule_compliance"] < 1.0
        history = c.get("/v1/decisions/L-O-1").json()["history"]
        assert [h["kind"] for h in history] == ["assign", "override"]
        assert history[1]["data"] == {"lead_id": "L-O-1", "from": d["rep"], "to": target, "reason": "speaks the customer's language"}
        assert history[1]["actor"] == "admin-client"
    assert db_rows(db, "select overridden, override_reason from rt_decisions where lead_id = 'L-O-1'") == [
        (1, "speaks the customer's language")
    ]


# ------------------------------------------------------------------ availability
def test_away_rep_gets_nothing_until_back(env):
    srv, toks, _ = env
    with srv.client(toks["admin"]) as c:
        r = c.put("/v1/reps/erin/away", json={"until": "2099-05-01T08:00:00Z", "reason": "holiday"})
        assert r.json() == {"rep": "erin", "away": True, "until": "2099-05-01T08:00:00Z", "reason": "holiday"}
        reps = {r["rep"]: r for r in c.get("/v1/reps").json()["reps"]}
        assert reps["erin"]["away"] is True and reps["erin"]["away_until"] == "2099-05-01T08:00:00Z"
        # erin owns the account, but is away: the named-account exception falls through
        d = c.post("/v1/assign", json=lead("W-1", account_owner="erin")).json()
        assert d["rep"] != "erin" and d["by"] == "route"
        r = c.put("/v1/reps/erin/away", json={"until": "2001-01-01T00:00:00Z"})
        assert (r.status_code, r.json()["message"]) == (400, "until must be in the future")
        r = c.put("/v1/reps/erin/away", json={"until": "next tuesday"})
        assert r.status_code == 400
        assert (
            r.json()["message"] == 'until: expected an ISO-8601 time (2026-11-24T09:00:00Z) or seconds since the epoch, got "next tuesday"'
        )
        r = c.put("/v1/reps/erim/away", json={"until": "2099-01-01"})
        assert (r.status_code, r.json()["message"]) == (404, "no rep named 'erim' in version 1; did you mean erin?")
        assert c.delete("/v1/reps/erin/away").json() == {"rep": "erin", "away": False, "until": None}
        d = c.post("/v1/assign", json=lead("W-2", account_owner="erin")).json()
        assert (d["rep"], d["by"]) == ("erin", "exception")


# ------------------------------------------------------------------ fairness and metrics
def test_fairness_figures(tmp_path):
    db = tmp_path / "f.db"
    publish(db)
    tok = make_token(db, "assign")
    with ThreadServer(db) as srv, srv.client(tok) as c:
        for i in range(6):
            c.post("/v1/assign", json=lead(f"F-{i}"))
        f = c.get("/v1/fairness").json()
        empty = c.get("/v1/fairness", params={"since": "2001-01-01T00:00:00Z", "until": "2001-01-02T00:00:00Z"}).json()
        bad = c.get("/v1/fairness", params={"since": "2030-01-01", "until": "2029-01-01"})
    counts = f["counts"]
    assert len(counts) == 20 and sum(counts.values()) == 6 == f["assigned"] == f["decisions"]
    xs = list(counts.values())
    mean = 6 / 20
    sd = (sum((x - mean) ** 2 for x in xs) / 20) ** 0.5
    assert f["cv"] == pytest.approx(sd / mean)
    assert f["gini"] == pytest.approx(sum(abs(a - b) for a in xs for b in xs) / (2 * 400 * mean))
    assert (f["max"], f["min"], f["max_min_ratio"]) == (max(xs), 0, None)
    assert f["rule_compliance"] == 1.0
    # nobody got anything: as even as it gets (the review's measures say 0, not "unknown")
    assert (empty["decisions"], empty["cv"], empty["gini"], empty["rule_compliance"]) == (0, 0.0, 0.0, None)
    assert (bad.status_code, bad.json()["message"]) == (400, "since must be before until")
    with ThreadServer(db) as srv, srv.client(tok) as c:
        for value in ("nan", "1e300", "-5", "inf"):
            r = c.get("/v1/fairness", params={"since": value})
            assert r.status_code == 400, value
            assert (
                r.json()["message"] == f'since: expected an ISO-8601 time (2026-11-24T09:00:00Z) or seconds since the epoch, got "{value}"'
            )
        assert c.get("/v1/fairness", params={"since": "2026-01-01", "until": 1790000000}).status_code == 200


def test_metrics_text(env):
    srv, toks, _ = env
    with srv.client(toks["assign"]) as c:
        c.post("/v1/assign", json=lead("M-1"))
    with srv.client(toks["read"]) as c:
        r = c.get("/v1/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert "policyd_up 1" in lines
    assert "policyd_active_version 1" in lines
    assert "# TYPE policyd_assign_seconds summary" in lines
    count = next(int(line.split()[1]) for line in lines if line.startswith("policyd_assign_seconds_count"))
    assert count >= 1
    assert any(line.startswith('policyd_open_leads{rep="alice"} ') for line in lines)
    assert any(line.startswith('policyd_requests_total{code="201"} ') for line in lines)


# ------------------------------------------------------------------ activation without a restart
CHANGED = INBOUND.replace(
    'route low "Development: newer members first" {\n  prefer new, then mid\n  pick least loaded\n}',
    'route low "All to quinn" {\n  require rep is quinn\n  pick least loaded\n}',
)


def test_activation_in_another_process_takes_effect_without_restart(tmp_path):
    assert CHANGED != INBOUND
    db = tmp_path / "a.db"
    publish(db)
    v2 = publish(db, CHANGED, activate=False, message="low leads to quinn")
    admin = make_token(db, "admin")
    with ThreadServer(db, sla_interval=0.05) as srv, srv.client(admin) as c:
        first = c.post("/v1/assign", json=lead("V-1")).json()
        assert first["version"] == 1
        import subprocess
        import sys

        subprocess.run(
            [sys.executable, "-c", f"from policyd.storage.store import Store; Store({str(db)!r}).activate({v2}, 'ops')"],
            check=True,
        )
        deadline = time.monotonic() + 10
        while c.get("/v1/health").json()["version"] != v2:
            assert time.monotonic() < deadline, "activation not picked up"
            time.sleep(0.02)
        second = c.post("/v1/assign", json=lead("V-2")).json()
        assert (second["version"], second["rep"]) == (v2, "quinn")
        # and back through the admin endpoint
        r = c.post("/v1/activate", json={"version": 1})
        assert r.json() == {"version": 1, "requested": 1}
        third = c.post("/v1/assign", json=lead("V-3")).json()
        assert third["version"] == 1 and third["rep"] != "quinn"
        r = c.post("/v1/activate", json={"version": 9})
        assert (r.status_code, r.json()["error"]) == (404, "not_found")
        # the old decision still explains itself with the version that made it
        x = c.get("/v1/decisions/L-V-2").json()
        assert x["decision"]["version"] == v2 and x["explanation"]["outcome"]["rep"] == "quinn"
        kinds = [json.loads(d)["version"] for (d,) in db_rows(db, "select data from audit where kind = 'activate' order by seq")]
        assert kinds == [1, v2, 1]


def test_no_active_version_answers_503(tmp_path):
    db = tmp_path / "n.db"
    publish(db, activate=False)
    tok = make_token(db, "assign")
    with ThreadServer(db) as srv, srv.client(tok) as c:
        health = c.get("/v1/health").json()
        assert (health["status"], health["version"], health["lottery"]["seed"]) == ("no_active_version", None, "missing")
        r = c.post("/v1/assign", json=lead("N-1"))
        assert r.status_code == 503
        assert r.json() == {
            "error": "no_active_version",
            "message": "no policy version is active; publish one and run `policyd activate @N`",
        }


# ------------------------------------------------------------------ logs
def test_access_log_never_shows_tokens(tmp_path):
    db = tmp_path / "l.db"
    publish(db)
    tok = make_token(db, "admin")
    with ProcessServer(db, "--access-log") as srv:
        with srv.client(tok) as c:
            assert c.post("/v1/assign", json=lead("G-1")).status_code == 201
        with srv.client(None) as c:
            r = c.get("/dashboard", params={"token": tok})
            assert (r.status_code, r.headers["location"]) == (303, "/dashboard")
            assert c.get("/dashboard").status_code == 200  # with the cookie
            assert c.get("/v1/reps", params={"token": tok}).status_code == 401  # the API takes headers, not queries
        out = srv.stop()
    assert "POST /v1/assign 201" in out
    assert "GET /dashboard 303" in out and "GET /dashboard 200" in out
    assert tok not in out and tok[3:20] not in out


def test_root_redirects_to_the_dashboard(env):
    srv, _, _ = env
    with srv.client(None) as c:
        r = c.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "/dashboard")


def test_serve_on_a_busy_port_is_a_clear_error(tmp_path):
    import socket

    from click.testing import CliRunner

    from policyd.cli.main import main

    db = tmp_path / "busy.db"
    publish(db)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(main, ["serve", "--db", str(db), "--port", str(port)])
    assert r.exit_code == 1
    assert r.output.endswith(f"policyd: cannot listen on 127.0.0.1:{port}: Address already in use\n")


def test_daemon_commands_have_help_with_an_example():
    from click.testing import CliRunner

    from policyd.cli.main import main

    for args in (["serve"], ["token"], ["token", "create"], ["token", "list"], ["audit"], ["audit", "verify"], ["audit", "export"]):
        r = CliRunner().invoke(main, [*args, "--help"])
        assert r.exit_code == 0, args
        assert "Example:" in r.output, args


def test_extra_routes_and_dashboard_panels(tmp_path):
    """The extension points for later features (the lottery's own page and panel are built in now)."""
    from markupsafe import Markup
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    db = tmp_path / "x.db"
    publish(db)
    tok = make_token(db, "read")

    async def record(request):
        return PlainTextResponse(f"record {request.path_params['rid']}")

    def panel(runtime):
        return {"title": "Seed commitment", "html": Markup("<code>sha256:abc</code> for version ") + str(runtime.policy.version)}

    with ThreadServer(db, extra_routes=[Route("/extra/{rid}", record)], dashboard_panels=[panel]) as srv, srv.client(tok) as c:
        assert c.get("/extra/7").text == "record 7"
        page = c.get("/dashboard").text
    assert "<h2>Seed commitment</h2><code>sha256:abc</code> for version 1" in page


def test_explanations_never_show_the_lottery_seed(env):
    """A shown seed would let anyone predict draws for lead ids of their choosing: draws name the period, whose seed stays secret."""
    srv, toks, db = env
    with srv.client(toks["assign"]) as c:
        drawn = None
        for i in range(60):
            body = c.post("/v1/assign", json=lead(f"Z-{i}", **HIGH)).json()
            if body["by"] == "lottery":
                drawn = body["lead_id"]
                break
        assert drawn is not None, "no lottery draw in 60 high leads (30% each)"
        [(label, kept)] = db_rows(db, "select seed_id, seed from rt_decisions where lead_id = ?", (drawn,))
        assert kept is None and label == seeds.period_of(time.time())  # the row names the period; its seed stays out of the db
        seed = seeds.seed_for_period(str(db), label)
        for f in db.parent.iterdir():  # nor in the WAL, nor anywhere but the seed key
            if f.name.startswith(db.name) and not f.name.endswith(".seed-key") and f.is_file():
                assert seed.encode() not in f.read_bytes(), f.name
        x = c.get(f"/v1/decisions/{drawn}").json()["explanation"]
        assert x["lottery"]["entered"] is True
        assert x["seed_id"] == x["lottery"]["seed_id"] == label
        for fmt in ("json", "text", "md", "html"):
            assert seed not in c.get(f"/v1/decisions/{drawn}", params={"format": fmt}).text, fmt
        page = c.get(f"/decisions/{drawn}").text
        assert seed not in page and label in page


def test_queues_list_waiting_leads(tmp_path):
    from .test_serve_consistency import TIGHT

    db = tmp_path / "q.db"
    publish(db, TIGHT)
    tok = make_token(db, "assign")
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(tok) as c:
        assert c.get("/v1/queues").json() == {"queues": {}}
        for i in range(43):  # 40 places in the team: three leads wait
            c.post("/v1/assign", json=lead(f"Q-{i}"))
            clock.advance(1)
        q = c.get("/v1/queues").json()["queues"]
        assert list(q) == ["unassigned"]
        assert q["unassigned"]["count"] == 3
        assert [x["lead_id"] for x in q["unassigned"]["leads"]] == ["L-Q-40", "L-Q-41", "L-Q-42"]
        clock.advance(25 * 3600)  # low-tier SLA: 24 h, no reassignment
        srv.settle()
        q = c.get("/v1/queues").json()["queues"]
        assert q["escalated"]["count"] == 40 and q["unassigned"]["count"] == 3
        page = c.get("/dashboard").text
    assert '<a href="/decisions/L-Q-40">L-Q-40</a>' in page


def test_a_version_that_does_not_load_is_not_activated(tmp_path):
    db = tmp_path / "broken.db"
    publish(db)
    bad = publish(
        db, INBOUND.replace("pick least loaded\n  otherwise route medium", "pick least loaded\n  otherwise route nowhere"), activate=False
    )
    admin = make_token(db, "admin")
    with ThreadServer(db) as srv, srv.client(admin) as c:
        r = c.post("/v1/activate", json={"version": bad})
        assert (r.status_code, r.json()["error"]) == (422, "invalid_version")
        assert r.json()["message"] == f"version {bad} has errors and cannot be served; run `policyd check` on it"
        assert c.get("/v1/health").json()["version"] == 1
        assert c.post("/v1/assign", json=lead("B-1")).json()["version"] == 1
