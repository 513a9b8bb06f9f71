"""The lottery cannot be steered: the attacks of the hardening review, each reproduced.

(a) one prospect resent under new ids until a chosen rep wins is shown to the manager;
(b) no unrevealed seed is readable from the database (tests/test_seeds.py and
    test_serve.py check the files' bytes); (c) a meeting's period is the leads' own
    week, so one batch of leads cannot be drawn under several seeds to pick from.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.lottery import archive, seeds
from policyd.lottery.prospect import fingerprint

from .serve_support import HIGH, Clock, ThreadServer, lead, make_token, publish

ROOT = Path(__file__).parent.parent
POLICY = str(ROOT / "policies/inbound.policy")
WEEK = str(ROOT / "policies/leads/week-2026-W48.csv")  # leads that arrived in 2026-W48


def _run(args, db):
    return CliRunner().invoke(main, args, env={"POLICYD_DB": db})


def _commit(db: str, period: str) -> str:
    return seeds.commit(db, period, now=seeds.period_start(period) - 3600).commitment


# ---- (a) resubmission under new ids


def test_a_prospect_resent_under_new_ids_is_shown_as_a_reentry(tmp_path):
    db = tmp_path / "p.db"
    publish(db)
    clock = Clock(datetime(2026, 11, 18, 10, tzinfo=UTC).timestamp())  # in 2026-W47
    seeds.commit(str(db), "2026-W47", now=seeds.period_start("2026-W47") - 60)
    assign, admin = make_token(db, "assign"), make_token(db, "admin")
    prospect = lead("x", **HIGH, company="Globex Holdings")
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(assign) as c, srv.client(admin) as a:
        wanted, tries, answers = "bob", 0, []
        while tries < 40:  # the attack: resend the same prospect, closing each miss, until the wanted rep wins
            tries += 1
            body = c.post("/v1/assign", json={**prospect, "id": f"G-{tries}"}).json()
            answers.append(body)
            if body["rep"] == wanted:
                break
            assert a.post(f"/v1/decisions/G-{tries}/close", json={"outcome": "lost"}).status_code == 200
        assert tries > 1, "the first lead went to the wanted rep: nothing to resend"
        # every resend names the lead it repeats
        assert answers[0]["reentry_of"] is None
        assert [x["reentry_of"] for x in answers[1:]] == [f"G-{i}" for i in range(1, tries)]
        got = c.get(f"/v1/decisions/G-{tries}").json()
        assert got["decision"]["reentry_of"] == f"G-{tries - 1}"
        # the audit log keeps it, and the metrics count it
        (assigned,) = [h for h in got["history"] if h["kind"] == "assign"]
        assert assigned["data"]["reentry_of"] == f"G-{tries - 1}"
        assert f'policyd_events_total{{event="reentries"}} {tries - 1}' in a.get("/v1/metrics").text
        # the manager sees each one on the dashboard, with what became of the earlier ones
        page = a.get("/dashboard").text
        table = page[page.index('<table id="reentries">') : page.index("</table>", page.index('<table id="reentries">'))]
        assert table.count("<tr>") == tries  # a header and one row per resend
        assert f'<a href="/decisions/G-{tries}">G-{tries}</a>' in table
        assert '<a href="/decisions/G-1">G-1</a> (lost)' in table


def test_the_same_prospect_is_the_same_whatever_the_case_and_spacing():
    a = {"id": "A", "company": "Acme  Corp", "employees": 20, "segment": "smb"}
    assert fingerprint(a) == fingerprint({**a, "id": "B", "company": " acme corp"})
    assert fingerprint(a) != fingerprint({**a, "employees": 21})
    assert fingerprint(a) == fingerprint({**a, "employees": 20.0, "notes": None})  # a missing field is a missing field


def test_a_meeting_marks_leads_that_repeat_a_prospect(tmp_path):
    db = str(tmp_path / "p.db")
    _commit(db, "2026-W48")
    text = Path(WEEK).read_text(encoding="utf-8").splitlines()
    again = text[3].replace("W48-03", "W48-99", 1)  # lead 3 again, under a new id
    leads = tmp_path / "week.csv"
    leads.write_text("\n".join([*text, again]) + "\n", encoding="utf-8")
    r = _run(["distribute", POLICY, "--leads", str(leads), "--period", "2026-W48", "--out", str(tmp_path / "out")], db)
    assert r.exit_code == 0, r.output
    assert f"{leads}:32: lead W48-99 is the same prospect as W48-03 (marked in the record)\n" in r.stderr
    rid = r.stdout.splitlines()[-1].removeprefix("record ")
    record = json.loads((tmp_path / "out" / f"{rid}.json").read_text())
    assert record["totals"]["same_prospect"] == 1
    assert [(x["lead_id"], x["same_prospect_as"]) for x in record["leads"] if x["same_prospect_as"]] == [("W48-99", "W48-03")]
    page = (tmp_path / "out" / f"{rid}.html").read_text()
    assert "W48-99 <span" in page and "(same prospect as W48-03)" in page and 'id="same-prospect"' in page


# ---- (c) the period is the leads' own


def test_dated_leads_are_drawn_only_in_the_week_they_arrived(tmp_path):
    db = str(tmp_path / "p.db")
    _commit(db, "2026-W47")
    r = _run(["distribute", POLICY, "--leads", WEEK, "--period", "2026-W47", "--out", str(tmp_path / "o")], db)
    assert r.exit_code == 1
    assert r.stderr == (
        "policyd: none of the 30 leads arrived in 2026-W47 (2026-11-16 00:00 UTC to 2026-11-23 00:00 UTC):"
        " a meeting draws its own week's leads\n"
    )
    _commit(db, "2026-W48")
    r = _run(["distribute", POLICY, "--leads", WEEK, "--period", "2026-W48", "--since", "2026-11-20", "--out", str(tmp_path / "o")], db)
    assert r.exit_code == 1
    assert r.stderr == (
        "policyd: --since 2026-11-20 00:00 UTC is outside 2026-W48 (2026-11-23 00:00 UTC to 2026-11-30 00:00 UTC):"
        " a meeting draws its own week's leads\n"
    )
    r = _run(["distribute", POLICY, "--leads", WEEK, "--period", "2026-W48", "--since", "2026-11-25", "--out", str(tmp_path / "o")], db)
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("18 rows in the window, 12 outside it, 0 without an arrival time\n")


def test_a_lead_is_drawn_in_one_period_only(tmp_path):
    db = str(tmp_path / "p.db")
    for p in ("2026-W47", "2026-W48"):
        _commit(db, p)
    shifted = tmp_path / "w47.csv"  # the same lead ids, dated a week earlier
    text = Path(WEEK).read_text(encoding="utf-8")
    for day in range(23, 28):
        text = text.replace(f"2026-11-{day}", f"2026-11-{day - 7}")
    shifted.write_text(text, encoding="utf-8")
    r = _run(["distribute", POLICY, "--leads", str(shifted), "--period", "2026-W47", "--out", str(tmp_path / "o")], db)
    assert r.exit_code == 0, r.output
    first = r.stdout.splitlines()[-1].removeprefix("record ")
    r = _run(["distribute", POLICY, "--leads", WEEK, "--period", "2026-W48", "--out", str(tmp_path / "o")], db)
    assert r.exit_code == 1
    assert r.stderr == (
        f"policyd: 30 of these leads were drawn in another period already (lead W48-01 in 2026-W47, record {first[:16]}...):"
        " a lead is drawn in one period only, so that no one can choose among several periods' winners\n"
    )
    assert archive.drawn_elsewhere(db, "2026-W47", ["W48-01"]) == {}  # its own period may run again (same draws)


def test_undated_leads_are_drawn_in_the_week_of_the_meeting(tmp_path):
    from policyd.lottery.distribute import LeadsFileError, period_window

    monday = seeds.period_start("2026-W49")
    assert period_window("2026-W49", False, None, None, monday + 3600) == (None, None)
    with pytest.raises(LeadsFileError) as err:
        period_window("2026-W48", False, None, None, monday + 3600)
    assert str(err.value).startswith(
        "these leads have no arrival times, so they are drawn in the week the meeting is held (2026-W49), not 2026-W48;"
    )
    with pytest.raises(LeadsFileError) as err:
        period_window("2026-W50", True, None, None, monday + 3600)
    assert str(err.value) == (
        "2026-W50 has not begun (it begins 2026-12-07 00:00 UTC): a meeting draws the leads of a period during or after it"
    )
    assert period_window("2026-W48", True, None, None, monday) == (seeds.period_start("2026-W48"), monday)


def test_five_periods_over_one_week_no_longer_give_five_winner_sets(tmp_path):
    """The review's attack: the same leads under five committed periods; now only their own week draws them."""
    db = str(tmp_path / "p.db")
    periods = ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    for p in periods:
        _commit(db, p)
    ran = [
        p for p in periods if _run(["distribute", POLICY, "--leads", WEEK, "--period", p, "--out", str(tmp_path / p)], db).exit_code == 0
    ]
    assert ran == ["2026-W48"]


# ---- rehearsals


def test_a_practice_meeting_draws_with_a_fresh_seed_and_says_it_proves_nothing(tmp_path):
    db = str(tmp_path / "p.db")
    out = tmp_path / "out"
    r = _run(["distribute", POLICY, "--leads", WEEK, "--practice", "--out", str(out)], db)
    assert r.exit_code == 0, r.output
    assert r.stderr.endswith("a practice record: its seed was made for this run and is on the page, so it proves nothing\n")
    rid = r.stdout.splitlines()[-1].removeprefix("record ")
    record = json.loads((out / f"{rid}.json").read_text())
    assert record["practice"] is True and record["period"] == "practice"
    assert archive.list_records(db) == []  # not kept: the daemon never serves a rehearsal as a meeting
    v = _run(["lottery", "verify", str(out / f"{rid}.html")], db)
    assert v.exit_code == 0, v.output
    assert "match     record  practice: a rehearsal: its seed was made for the run and never committed" in v.stdout
    page = (out / f"{rid}.html").read_text()
    assert 'id="practice"' in page
    both = _run(["distribute", POLICY, "--leads", WEEK, "--practice", "--period", "2026-W48"], db)
    assert both.exit_code == 1 and "not both" in both.stderr
