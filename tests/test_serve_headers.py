"""What answers say besides their body: Allow on 405, the pages' CSP on every HTML answer, the errors the document lists."""

from __future__ import annotations

import pytest

from policyd.web.auth import PAGE_HEADERS
from policyd.web.routes import ENDPOINTS

from .serve_support import ThreadServer, lead, make_token, publish


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = tmp_path_factory.mktemp("headers") / "policyd.db"
    publish(db)
    tok = make_token(db, "admin")
    with ThreadServer(db) as srv, srv.client(tok) as c:
        assert c.post("/v1/assign", json=lead("H-1")).status_code == 201
        yield srv, c


@pytest.mark.parametrize(
    "method,path,allow",
    [
        ("DELETE", "/v1/assign", "POST"),
        ("PATCH", "/v1/reps/alice/away", "DELETE, PUT"),  # two routes on one path: both methods
        ("POST", "/v1/decisions/L-H-1", "GET, HEAD"),
        ("PUT", "/v1/health", "GET, HEAD"),
    ],
)
def test_405_says_which_methods_the_route_table_serves(env, method, path, allow):
    _, c = env
    r = c.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json() == {"error": "method_not_allowed", "message": f"{method} is not allowed on {path}"}


@pytest.mark.parametrize(
    "path,status",
    [
        ("/v1/decisions/L-H-1?format=html", 200),
        ("/decisions/L-H-1", 200),
        ("/dashboard", 200),
        ("/decisions/nope", 404),
    ],
)
def test_every_html_answer_has_the_pages_security_headers(env, path, status):
    _, c = env
    r = c.get(path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    for name, value in PAGE_HEADERS.items():
        assert r.headers[name] == value
    assert r.headers["x-content-type-options"] == "nosniff"


def test_a_sign_in_page_has_them_too(env):
    srv, _ = env
    with srv.client(None) as anon:
        r = anon.get("/dashboard")
    assert r.status_code == 401 and r.headers["content-security-policy"] == PAGE_HEADERS["Content-Security-Policy"]


def test_json_answers_have_no_page_csp(env):
    _, c = env
    r = c.get("/v1/decisions/L-H-1")
    assert "content-security-policy" not in r.headers and r.headers["x-content-type-options"] == "nosniff"


def test_the_document_lists_the_4xx_each_operation_can_give(env):
    _, c = env
    doc = c.get("/v1/openapi.json").json()
    answers = {(ep.method, ep.path): set(doc["paths"][ep.path][ep.method.lower()]["responses"]) for ep in ENDPOINTS if ep.documented}
    for ep in ENDPOINTS:
        if not ep.documented:
            continue
        got = answers[(ep.method, ep.path)]
        if ep.body:  # any body can be unreadable or too large, and is refused field by field
            assert {"400", "413", "422"} <= got, ep.path
        if "{" in ep.path:  # a path parameter can name nothing
            assert "404" in got, ep.path
    assert {"400", "404"} <= answers[("GET", "/v1/decisions/{lead_id}")]
    assert {"400", "413", "422", "503"} <= answers[("POST", "/v1/assign")]
    lead_param = doc["paths"]["/v1/decisions/{lead_id}"]["get"]["parameters"][0]
    assert lead_param["schema"]["pattern"] == doc["components"]["schemas"]["Lead"]["properties"]["id"]["pattern"]
