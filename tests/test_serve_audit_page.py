"""The audit trail as a page: each filter, paging, and times in the viewer's own time zone (real Chromium)."""

from __future__ import annotations

import re

import pytest

from .browser import open_page
from .serve_support import Clock, ThreadServer, lead, make_token, publish

pytestmark = pytest.mark.slow
T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    db = tmp_path_factory.mktemp("audit") / "a.db"
    publish(db)
    clock = Clock(T0)
    admin = make_token(db, "admin", "ops-lead")
    crm = make_token(db, "assign", "crm")
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv:
        with srv.client(crm) as c:
            reps = [c.post("/v1/assign", json=lead(f"U{i}")).json()["rep"] for i in range(3)]
            clock.advance(3600)
            c.post("/v1/decisions/L-U0/accept")
        with srv.client(admin) as c:
            c.put("/v1/reps/omar/away", json={"until": T0 + 86400, "reason": "training"})
            target = "quinn" if reps[1] != "quinn" else "uma"
            c.post("/v1/decisions/L-U1/override", json={"rep": target, "reason": "language"})
        yield srv, admin, reps, target


def _rows(html: str) -> list[tuple[str, str, str]]:
    """(seq, kind, actor) of each audit row on the page."""
    body = html.split('<table id="audit">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row" class="num">(\d+)</th><td>.*?</td><td>(.*?)</td><td>(.*?)</td>', body)


def test_every_filter_of_the_audit_page(trail):
    srv, admin, reps, target = trail
    with srv.client(admin) as c:
        everything = _rows(c.get("/audit").text)
        assert [k for _, k, _ in everything][:3] == ["override", "away", "accept"]  # newest first
        assert {k for _, k, _ in _rows(c.get("/audit", params={"kind": "assign"}).text)} == {"assign"}
        assert len(_rows(c.get("/audit", params={"kind": "assign"}).text)) == 3
        assert [k for _, k, _ in _rows(c.get("/audit", params={"lead": "L-U0"}).text)] == ["accept", "assign"]
        assert {a for _, _, a in _rows(c.get("/audit", params={"actor": "ops-lead"}).text)} == {"ops-lead"}
        by_target = [k for _, k, _ in _rows(c.get("/audit", params={"rep": target}).text)]
        assert by_target[0] == "override"
        naming_omar = (["override"] if reps[1] == "omar" else []) + ["away"] + ["assign"] * reps.count("omar")
        assert [k for _, k, _ in _rows(c.get("/audit", params={"rep": "omar"}).text)] == naming_omar
        later = _rows(c.get("/audit", params={"since": "2026-11-18T12:00:00Z"}).text)
        assert [k for _, k, _ in later] == ["override", "away", "accept"]
        assert len(_rows(c.get("/audit", params={"until": "2026-11-18T12:00:00Z", "kind": "assign"}).text)) == 3
        bad = c.get("/audit", params={"since": "soon"})
        assert bad.status_code == 400 and "since: expected an ISO-8601 time" in bad.text


def test_times_show_in_the_viewers_time_zone(trail):
    srv, admin, _, _ = trail
    with open_page(f"{srv.url}/audit?token={admin}&kind=accept", timezone_id="Asia/Tokyo") as visit:
        page = visit.page
        assert visit.errors == []  # the page's own script ran under its CSP hash
        assert page.locator("#zone").inner_text() == "Asia/Tokyo"
        cell = page.locator("#audit time").first
        assert cell.get_attribute("datetime") == "2026-11-18T12:06:40Z"
        shown = cell.inner_text()
        assert shown.startswith("2026-11-18 21:06:40")  # 12:06:40 UTC is 21:06:40 in Tokyo
    with open_page(f"{srv.url}/audit?token={admin}&kind=accept", timezone_id="America/New_York") as visit:
        assert visit.page.locator("#audit time").first.inner_text().startswith("2026-11-18 07:06:40")
