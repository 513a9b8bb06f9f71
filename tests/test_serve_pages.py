"""The daemon's pages in headless Chromium: screenshot, no console errors, escaped names."""

from __future__ import annotations

import pytest

from .browser import open_page
from .serve_support import HIGH, ThreadServer, lead, make_token, publish

pytestmark = pytest.mark.slow

EVIL = '<script>window.__pwned = 1</script>Evil "Corp" & Co'


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("pages")
    db = d / "p.db"
    publish(db)
    admin = make_token(db, "admin")
    with ThreadServer(db) as srv:
        with srv.client(admin) as c:
            for i in range(30):
                c.post("/v1/assign", json=lead(f"P-{i}", **(HIGH if i % 3 == 0 else {})))
            c.post("/v1/assign", json=lead("EVIL", company=EVIL, **HIGH))
            c.put("/v1/reps/omar/away", json={"until": "2099-01-01T00:00:00Z", "reason": "<b>leave</b>"})
        yield srv, admin, d


def test_decision_page_renders_a_script_name_as_text(env):
    srv, admin, d = env
    shot = d / "decision.png"
    with open_page(f"{srv.url}/decisions/L-EVIL?token={admin}&why_not=quinn", screenshot=shot) as visit:
        page = visit.page
        assert page.evaluate("window.__pwned") is None
        assert page.locator("script").count() == 0
        body = page.inner_text("body")
        assert EVIL in body
        assert "Why not quinn?" in body
        assert page.title() == "Lead L-EVIL - policyd"
        assert page.url == f"{srv.url}/decisions/L-EVIL?why_not=quinn"  # the token left the address for a cookie
        assert visit.errors == []
    assert shot.stat().st_size > 10_000


def test_dashboard_shows_load_and_this_weeks_chart(env):
    srv, admin, d = env
    shot = d / "dashboard.png"
    with open_page(f"{srv.url}/dashboard?token={admin}", screenshot=shot) as visit:
        page = visit.page
        assert visit.errors == []
        bars = page.locator("svg rect.bar")
        assert bars.count() == 20
        assert page.locator("svg").get_attribute("aria-label") == "Leads per rep this week"
        body = page.inner_text("body")
        assert "31 assigned of 31 decisions" in body
        assert "away until 2099-01-01T00:00:00Z (<b>leave</b>)" in body
        lottery = page.locator("#lottery").inner_text()  # no seed committed in this database: said, not hidden
        assert "no committed seed for " in lottery and "lottery steps are skipped" in lottery
        assert "No meeting record yet" in lottery
        # the cookie set by ?token= carries the browser on to a decision page
        page.goto(f"{srv.url}/decisions/L-P-0")
        assert "Lead L-P-0" in page.inner_text("h1")
    assert shot.stat().st_size > 10_000


def test_pages_without_a_token_ask_for_one(env):
    srv, _, _ = env
    with open_page(f"{srv.url}/dashboard") as visit:
        assert "Sign-in needed" in visit.page.inner_text("h1")
        assert "?token=TOKEN" in visit.page.inner_text("body")


def test_pages_forbid_scripts_and_referrers(env):
    srv, admin, _ = env
    with srv.client(admin) as c:
        r = c.get("/decisions/L-EVIL")
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;Evil &#34;Corp&#34; &amp; Co" in r.text
