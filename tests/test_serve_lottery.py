"""The daemon and the lottery together: period seeds, verifiable daemon decisions, record pages.

A real server on a free loopback port, a real SQLite file, and headless Chromium
for the pages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.lottery import seeds

from .browser import open_page
from .serve_support import HIGH, Clock, ThreadServer, lead, make_token, publish

ROOT = Path(__file__).parent.parent
WEEK = str(ROOT / "policies/leads/week-2026-W48.csv")
PERIOD = "2026-W47"  # the test clock's week (Clock() starts at 2026-11-18)


def cli(args: list[str], db: Path):
    return CliRunner().invoke(main, [*args, "--db", str(db)])


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("lottery-daemon")
    db = d / "l.db"
    publish(db)
    clock = Clock()
    assert seeds.period_of(clock()) == PERIOD
    commitment = seeds.commit(str(db), PERIOD, now=seeds.period_start(PERIOD) - 60).commitment  # before the week, as an operator would
    week = d / "week-2026-W47.csv"  # the bundled week, arrived a week earlier: a meeting draws its own week's leads
    text = Path(WEEK).read_text(encoding="utf-8").replace("W48-", "W47-")
    week.write_text(re.sub(r"2026-11-(\d\d)", lambda m: f"2026-11-{int(m.group(1)) - 7}", text), encoding="utf-8")
    r = cli(["distribute", "policies/inbound.policy", "--leads", str(week), "--period", PERIOD, "--out", str(d / "out")], db)
    assert r.exit_code == 0, r.stderr
    rid = r.stdout.splitlines()[-1].removeprefix("record ")
    admin = make_token(db, "admin")
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv:
        yield srv, admin, db, d, commitment, rid


def _a_lottery_decision(c) -> str:
    for i in range(80):
        body = c.post("/v1/assign", json=lead(f"D-{i}", **HIGH)).json()
        if body["by"] == "lottery":
            return body["lead_id"]
    raise AssertionError("no lottery draw in 80 high leads (30% each)")


def test_the_dashboard_shows_the_commitment_and_links_the_records(env):
    """Before the reveal (runs first: the next test reveals the period)."""
    srv, admin, db, d, commitment, rid = env
    with open_page(f"{srv.url}/dashboard?token={admin}", screenshot=d / "dashboard.png") as visit:
        page = visit.page
        assert visit.errors == []
        section = page.locator("#lottery")
        assert section.locator("code.commitment").inner_text() == commitment
        assert f"Lottery draws in {PERIOD} use the seed whose SHA-256 commitment is" in section.inner_text()
        assert seeds.seed_for_period(str(db), PERIOD) not in page.content()
        link = section.locator("a.record")
        assert link.count() == 1 and link.get_attribute("href") == f"/lottery/{rid}"
        link.click()
        page.wait_for_selector('#verify:not([data-state="running"])')
        assert page.url == f"{srv.url}/lottery/{rid}"
        assert page.locator("#verify").get_attribute("data-state") == "secret"  # the record matches its id; seed not out yet
        assert "secret until" in page.locator("#seed").inner_text()
        assert visit.errors == []


def test_a_daemon_decision_is_verified_once_its_period_is_revealed(env):
    srv, admin, db, d, commitment, _ = env
    with srv.client(admin) as c:
        lid = _a_lottery_decision(c)
        answer = c.get(f"/v1/decisions/{lid}").json()
        health = c.get("/v1/health").json()["lottery"]
    assert health == {"period": PERIOD, "seed": "committed", "commitment": commitment, "note": None}
    assert answer["decision"]["seed_id"] == answer["explanation"]["seed_id"] == PERIOD
    secret = seeds.seed_for_period(str(db), PERIOD)
    assert secret not in json.dumps(answer)
    saved = d / "decision.json"
    saved.write_text(json.dumps(answer))
    r = cli(["lottery", "verify", str(saved)], db)
    assert r.exit_code == 1
    assert r.stderr == f"policyd: the seed for {PERIOD} is not revealed yet; run `policyd seed reveal --period {PERIOD}` after the period\n"
    seeds.reveal(str(db), PERIOD)
    r = cli(["lottery", "verify", str(saved)], db)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == f"match: 1 draw recomputed with the seed from the db ({PERIOD})"
    r = cli(["lottery", "verify", str(saved), "--seed", secret], db)  # anyone, from the published seed alone
    assert r.exit_code == 0 and r.stdout.splitlines()[-1] == "match: 1 draw recomputed with the seed from --seed"
    draw = dict(answer["explanation"]["lottery"])
    others = [p for p in draw["pool"] if p != draw["winner"]]
    answer["explanation"]["lottery"]["winner"] = others[0]
    for st in answer["explanation"]["stages"]:
        for step in st["steps"]:
            if step.get("draw"):
                step["draw"]["winner"] = others[0]
    saved.write_text(json.dumps(answer))
    r = cli(["lottery", "verify", str(saved)], db)
    assert r.exit_code == 1
    assert f"MISMATCH  {lid}  draw: winner recorded {json.dumps(others[0])}, recomputed {json.dumps(draw['winner'])}" in r.stdout
    # after the reveal the daemon stops drawing with that seed: the rules decide, and the decision says why
    with srv.client(admin) as c:
        after = c.post("/v1/assign", json=lead("AFTER", **HIGH)).json()
        text = c.get("/v1/decisions/L-AFTER", params={"format": "text"}).text
        metrics = c.get("/v1/metrics").text
    assert after["by"] != "lottery" and after["seed_id"] is None
    note = f"the seed for {PERIOD} is already revealed, so new draws could be steered: lottery steps are skipped"
    assert after["lottery_note"] == note and note in text
    assert f'policyd_lottery_seed{{period="{PERIOD}",status="revealed"}} 0' in metrics


def test_the_record_page_is_served_and_checks_itself_in_chromium(env):
    """After the reveal: the page embeds the seed and shows match."""
    srv, admin, db, d, _, rid = env
    if not seeds.get(str(db), PERIOD).revealed:  # the test before reveals it; run alone, this one does
        seeds.reveal(str(db), PERIOD)
    shot = d / "record.png"
    with open_page(f"{srv.url}/lottery/{rid}?token={admin}", screenshot=shot) as visit:
        page = visit.page
        page.wait_for_selector('#verify:not([data-state="running"])')
        assert page.locator("#verify").get_attribute("data-state") == "match", page.locator("#verify").inner_text()
        assert page.locator("#verify").inner_text().startswith("Verified in this browser")
        assert page.locator("#seed").inner_text() == seeds.revealed_seed(str(db), PERIOD)
        assert page.locator("svg.ladder").count() > 0
        assert page.url == f"{srv.url}/lottery/{rid}"
        assert visit.errors == []
    assert shot.stat().st_size > 10_000


def test_record_ids_that_are_unknown_or_malformed_are_404(env):
    srv, admin, _, _, _, rid = env
    read = make_token(srv.runtime.path, "read")
    with srv.client(read) as c:
        ok = c.get(f"/lottery/{rid}")
        assert ok.status_code == 200
        csp = ok.headers["content-security-policy"]
        assert csp.startswith("default-src 'none'; script-src 'sha256-") and "'unsafe-inline'" not in csp.split("style-src")[0]
        missing = c.get("/lottery/" + "0" * 64)
        assert missing.status_code == 404 and "No such lottery record" in missing.text
        assert "no record " + "0" * 64 in missing.text
        bad = c.get("/lottery/not-an-id")
        assert bad.status_code == 404 and "not a record id: &#39;not-an-id&#39; (expected 64 lowercase hex digits)" in bad.text
    with srv.client(None) as c:
        assert c.get(f"/lottery/{rid}").status_code == 401


def test_an_altered_seed_is_refused_everywhere(env):
    """Runs last: someone edits the stored seed. The page refuses it, health says so, and no draw uses it."""
    import sqlite3

    srv, admin, db, _, _, rid = env
    with sqlite3.connect(str(db)) as conn:
        conn.execute("update lottery_seeds set seed = 'chosen-by-hand' where period = ?", (PERIOD,))
    with srv.client(admin) as c:
        page = c.get(f"/lottery/{rid}")
        health = c.get("/v1/health").json()["lottery"]
        after = c.post("/v1/assign", json=lead("ALTERED", **HIGH)).json()
    assert page.status_code == 409 and "Lottery record refused" in page.text
    assert f"the seed stored for {PERIOD} does not match its commitment" in page.text
    assert "chosen-by-hand" not in page.text
    assert health["seed"] == "refused" and health["note"].endswith("; lottery steps are skipped")
    assert after["lottery_note"] == health["note"] and after["by"] != "lottery"
