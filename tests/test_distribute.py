"""The weekly meeting: CSV leads, the same transitions as everyone, records end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyd.checks.load import load_path
from policyd.cli.main import main
from policyd.engine.decide import decide
from policyd.engine.state import State, apply
from policyd.lottery import record as lottery
from policyd.lottery import seeds
from policyd.lottery.distribute import LeadsFileError, read_leads, run_meeting

ROOT = Path(__file__).parent.parent
POLICY = str(ROOT / "policies/inbound.policy")
WEEK = str(ROOT / "policies/leads/week-2026-W48.csv")
PERIOD = "2026-W48"
HEADER = "id,company,employees,budget,authority,timing_months,industry,segment,motion,language,country,account_owner\n"


@pytest.fixture(scope="module")
def compiled():
    return load_path(POLICY).compiled


def _csv(tmp_path, body: str, header: str = HEADER) -> str:
    path = tmp_path / "leads.csv"
    path.write_text(header + body, encoding="utf-8")
    return str(path)


# ---- reading leads


def test_cells_are_converted_by_the_schema_and_empty_cells_are_missing(compiled, tmp_path):
    path = _csv(tmp_path, "L-1,Acme,1500,stated,decision_maker,,it,enterprise,,,US,\n")
    [row] = read_leads(path, compiled).rows
    assert row.line == 2 and row.errors == []
    assert row.lead == {
        "id": "L-1",
        "company": "Acme",
        "employees": 1500,
        "budget": "stated",
        "authority": "decision_maker",
        "industry": "it",
        "segment": "enterprise",
        "country": "US",
    }
    d = decide(compiled, row.lead, State(), "s")
    assert d.lead["timing_months"] is None and d.lead["motion"] == "new_business" and d.lead["language"] == "en"


def test_the_bundled_week_covers_every_tier(compiled):
    rows = read_leads(WEEK, compiled).rows
    assert len(rows) == 30 and all(r.lead is not None for r in rows)
    tiers = {decide(compiled, r.lead, State(), "s", lottery=False).tier for r in rows}
    assert tiers == {"high", "medium", "low"}


def test_bad_rows_are_refused_with_line_and_field_and_the_rest_goes_on(compiled, tmp_path):
    path = _csv(
        tmp_path,
        "L-1,Acme,many,stated,decision_maker,2,it,enterprise,,,US,\n"
        "L-2,Beta,20,unknown,info_gathering,,retail,smb,,,US,\n"
        "L-3,Gamma,20,maybe,info_gathering,,retail,smb,,,US,\n"
        "L-4,Delta,20\n"
        "\n"
        "L-5,Eps,20,unknown,info_gathering,,retail,smb,,,US,zed\n",
    )
    rows = read_leads(path, compiled).rows
    assert [(r.line, r.errors) for r in rows if r.errors] == [
        (2, ['field employees: "many" from employees is not a whole number']),
        (5, ["has 3 values; the header has 12 columns"]),
    ]
    record, _ = run_meeting(compiled, rows, State(), "seed", PERIOD, "c" * 64)
    assert [x["lead_id"] for x in record["leads"]] == ["L-2"]
    assert record["refused"] == [
        {"line": 2, "errors": ['field employees: "many" from employees is not a whole number']},
        {"line": 4, "errors": ['field budget: "maybe" is not one of its words; expected one of stated, considering, unknown']},
        {"line": 5, "errors": ["has 3 values; the header has 12 columns"]},
        {
            "line": 7,
            "errors": [
                'field account_owner: "zed" is not a rep of the team; the team has alice, carol, dmitri, erin, farah, gustavo, hana, ivan, ...'
            ],
        },
    ]
    assert record["totals"]["refused"] == 4 and record["totals"]["leads"] == 5


def test_an_unknown_column_stops_before_any_row(compiled, tmp_path):
    path = _csv(tmp_path, "L-1,Acme,10\n", header="id,company,employes\n")
    with pytest.raises(LeadsFileError) as err:
        read_leads(path, compiled)
    assert str(err.value) == f"{path}:1: column 'employes' is not a lead field; did you mean employees? (or give --map)"
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"id,company\n\xff\xfe,x\n")
    leads = read_leads(str(binary), compiled)  # the header is fine: the row is refused, not the file
    assert [r.errors for r in leads.rows] == [
        ['not utf-8 text (invalid start byte at byte 11 of the file); set [source] encoding = "latin-1" (or "cp1252") in the mapping']
    ]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LeadsFileError) as err:
        read_leads(str(empty), compiled)
    assert str(err.value) == f"{empty}: empty file; expected a header line of column names"


MAP = """[history]
id = "Lead ID"
arrival = "Arrived"
[fields]
company = "company"
employees = "Headcount"
budget = "budget"
authority = "authority"
industry = { column = "industry", values = { tech = "it" } }
segment = "segment"
country = "country"
"""


def test_a_replay_mapping_renames_columns_and_ignores_the_rest(compiled, tmp_path):
    """The same TOML mapping as `replay`: renamed columns, value maps; unmapped columns are not read."""
    path = _csv(
        tmp_path,
        "L-1,2026-11-23,Acme,1500,stated,decision_maker,tech,enterprise,US,x\n",
        header="Lead ID,Arrived,company,Headcount,budget,authority,industry,segment,country,Notes\n",
    )
    m = tmp_path / "m.toml"
    m.write_text(MAP)
    [row] = read_leads(path, compiled, str(m)).rows
    assert row.lead["id"] == "L-1" and row.lead["employees"] == 1500 and row.lead["industry"] == "it" and "Notes" not in row.lead
    m.write_text(MAP.replace('"Headcount"', '"Staff"'))
    with pytest.raises(LeadsFileError) as err:
        read_leads(path, compiled, str(m))
    assert str(err.value) == (
        f"{m}: fields.employees.column: 'Staff' is not a column of leads.csv; expected one of "
        "Lead ID, Arrived, company, Headcount, budget, authority, industry, segment, country, Notes"
    )


def test_a_window_keeps_the_leads_that_arrived_in_it(compiled, tmp_path):
    path = _csv(
        tmp_path,
        "L-1,2026-11-22,Acme,20,unknown,info_gathering,other,smb,US,\n"
        "L-2,2026-11-23,Beta,20,unknown,info_gathering,other,smb,US,\n"
        "L-3,2026-11-29T23:59:59,Gamma,20,unknown,info_gathering,other,smb,US,\n"
        "L-4,2026-11-30,Delta,20,unknown,info_gathering,other,smb,US,\n"
        "L-5,,Eps,20,unknown,info_gathering,other,smb,US,\n"
        "L-6,2026-11-24,Zeta,many,unknown,info_gathering,other,smb,US,\n",
        header="Lead ID,Arrived,company,Headcount,budget,authority,industry,segment,country,Notes\n",
    )
    m = tmp_path / "m.toml"
    m.write_text(MAP)
    week = read_leads(path, compiled, str(m), since=1795392000.0, until=1795996800.0)  # 2026-11-23 .. 2026-11-30
    assert [(r.line, r.lead["id"] if r.lead else r.errors) for r in week.rows] == [
        (3, "L-2"),
        (4, "L-3"),
        (7, ['field employees: "many" from Headcount is not a whole number']),
    ]
    assert (week.outside, week.undated) == (2, 1)
    plain = _csv(tmp_path, "L-1,Acme,10,unknown,info_gathering,,other,smb,,,US,\n")
    with pytest.raises(LeadsFileError) as err:
        read_leads(plain, compiled, since=1795392000.0)
    assert str(err.value) == (
        f"{plain}:1: --since/--until need each lead's arrival time, and there is no column 'arrival'; add one, or give --map naming it"
    )


# ---- the meeting


def test_the_meeting_moves_state_through_the_same_transitions(compiled):
    rows = read_leads(WEEK, compiled).rows
    start = State.from_json({"open": {"alice": 29, "farah": 3}, "away": ["carol"]})
    record, final = run_meeting(compiled, rows, start, "the-seed", PERIOD, "c" * 64)
    state = start
    for row, lead in zip(rows, record["leads"]):
        d = decide(compiled, row.lead, state, "the-seed")
        assert (lead["outcome"]["rep"], lead["outcome"]["by"]) == (d.rep, d.by)
        state = apply(state, d, float(row.line))
    assert final == state
    assert record["state_after"] == state.to_json()
    assert "carol" not in {x["outcome"]["rep"] for x in record["leads"]}


def test_a_high_lead_that_falls_through_keeps_its_draw(compiled):
    # W48-09 scores high but no rep has skill(other) >= 2: `otherwise route medium` places it,
    # and its lottery entry draw is still recorded (and verifiable)
    rows = read_leads(WEEK, compiled).rows
    record, _ = run_meeting(compiled, rows, State(), "the-seed", PERIOD, "c" * 64)
    lead = next(x for x in record["leads"] if x["lead_id"] == "W48-09")
    assert (lead["outcome"]["by"], lead["outcome"]["route"]) == ("route", "medium")
    assert [d["entered"] for d in lead["draws"]] == [False]
    for x in record["leads"]:
        expected = 1 if x["outcome"]["tier"] == "high" and x["outcome"]["by"] != "exception" else 0
        assert len(x["draws"]) == expected, x["lead_id"]


def test_the_meeting_with_a_fixed_seed(compiled, snapshot):
    from policyd.lottery.distribute import draw_lines, summary_lines

    seed = "0f3b5c7d9e1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c"
    start = State.from_json({"open": {"alice": 12, "carol": 20, "farah": 6}, "away": ["uma"]})
    record, _ = run_meeting(compiled, read_leads(WEEK, compiled).rows, start, seed, PERIOD, seeds.commit_hash(seed))
    report = "\n".join(
        ["# assignments", *summary_lines(record), "", "# lottery draws", *draw_lines(record), "", json.dumps(record["totals"])]
    )
    assert report == snapshot


# ---- the CLI end to end


def _run(args, db):
    return CliRunner().invoke(main, args, env={"POLICYD_DB": db})


# The seed key these meetings draw with: fixed, so the week's draws are the same on every run
# (a fresh random key left the meeting with no lottery winner in a few runs of a hundred).
SEED_KEY = "5eed" * 16


def _commit(db) -> str:
    """PERIOD's seed, committed before the week began (`seed commit` refuses a week that has begun)."""
    key = Path(f"{db}.seed-key")
    key.write_text(SEED_KEY + "\n", encoding="ascii")
    key.chmod(0o600)
    return seeds.commit(db, PERIOD, now=seeds.period_start(PERIOD) - 3600).commitment


def test_commit_distribute_reveal_verify(tmp_path):
    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    commitment = _commit(db)
    r = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db)
    assert r.exit_code == 0, r.output
    rid = r.stdout.splitlines()[-1].removeprefix("record ")
    page = Path(out) / f"{rid}.html"
    record = json.loads((Path(out) / f"{rid}.json").read_text())
    assert record["commitment"] == commitment and lottery.record_id(record) == rid
    seed = seeds.seed_for_period(db, PERIOD)
    assert seed not in r.output and seed not in page.read_text()
    # same inputs, same id, same page
    before = page.read_text()
    r2 = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db)
    assert r2.stdout == r.stdout and page.read_text() == before
    # nothing can be verified before the reveal
    r = _run(["lottery", "verify", str(page)], db)
    assert r.exit_code == 1
    assert r.stderr == f"policyd: the seed for {PERIOD} is not revealed yet; run `policyd seed reveal --period {PERIOD}` after the period\n"
    r = _run(["seed", "reveal", "--period", PERIOD, "--records", out], db)
    assert r.stdout == seed + "\n"
    # the page alone now verifies: no db needed
    r = _run(["lottery", "verify", str(page)], str(tmp_path / "other.db"))
    assert r.exit_code == 0, r.output
    n = sum(len(x["draws"]) for x in record["leads"])
    assert r.stdout.splitlines()[-1] == f"match: {n} draws recomputed with the seed from the page"
    r = _run(["lottery", "verify", str(Path(out) / f"{rid}.json")], db)
    assert r.exit_code == 0 and r.stdout.splitlines()[-1] == f"match: {n} draws recomputed with the seed from the db ({PERIOD})"
    # a period already revealed cannot be drawn again
    r = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db)
    assert r.exit_code == 1
    assert (
        r.stderr == f"policyd: the seed for {PERIOD} is already revealed, so its draws could be steered; commit a seed for a new period\n"
    )


def _give_away(html: str, record: dict) -> str:
    """The page with the first lottery lead given to another rep of its pool, in its draw and its outcome."""
    import copy

    changed = copy.deepcopy(record)
    lead = next(x for x in changed["leads"] if x["outcome"]["by"] == "lottery")
    winner = lead["outcome"]["rep"]
    other = next(p for p in lead["draws"][-1]["pool"] if p != winner)
    lead["outcome"]["rep"] = lead["draws"][-1]["winner"] = other
    embedded = lottery.canonical(record).decode()
    assert html.count(embedded) == 1
    return html.replace(embedded, lottery.canonical(changed).decode())


def test_a_tampered_page_fails_verification(tmp_path):
    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    _commit(db)
    rid = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db).stdout.splitlines()[-1][7:]
    _run(["seed", "reveal", "--period", PERIOD, "--records", out], db)
    page = Path(out) / f"{rid}.html"
    record = json.loads((Path(out) / f"{rid}.json").read_text())
    bad = tmp_path / "bad.html"
    bad.write_text(_give_away(page.read_text(), record))
    r = _run(["lottery", "verify", str(bad)], db)
    assert r.exit_code == 1
    lines = [line for line in r.stdout.splitlines() if line.startswith("MISMATCH")]
    assert lines[0].startswith("MISMATCH  record  id: content hashes to ")
    lead = next(x for x in record["leads"] if x["outcome"]["by"] == "lottery")
    winner = lead["outcome"]["rep"]
    other = next(p for p in lead["draws"][-1]["pool"] if p != winner)
    assert f'MISMATCH  {lead["lead_id"]}  draw: winner recorded "{other}", recomputed "{winner}"' in lines
    assert r.stdout.splitlines()[-1].startswith("mismatch: ")


def test_distribute_needs_a_commitment_and_reports_bad_files(tmp_path):
    db = str(tmp_path / "p.db")
    r = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD], db)
    assert r.exit_code == 1
    assert r.stderr == (
        f"policyd: no seed committed for {PERIOD}; run `policyd seed commit --period {PERIOD}` and publish the commitment first\n"
    )
    _commit(db)
    r = _run(["distribute", POLICY, "--leads", str(tmp_path / "nope.csv"), "--period", PERIOD], db)
    assert r.exit_code == 1 and r.stderr == f"policyd: cannot read lead history {tmp_path / 'nope.csv'}: No such file or directory\n"
    bad = _csv(
        tmp_path,
        "L-1,2026-11-24,Acme,many,stated,decision_maker,2,it,enterprise,,,US,\nL-2,2026-11-25,Beta,20,unknown,info_gathering,,retail,smb,,,US,\n",
        header="id,arrival," + HEADER.removeprefix("id,"),
    )
    r = _run(["distribute", POLICY, "--leads", bad, "--period", PERIOD, "--out", str(tmp_path / "o")], db)
    assert r.exit_code == 0
    assert f'{bad}:2: refused: field employees: "many" from employees is not a whole number\n' in r.stderr
    assert "L-2" in r.stdout


def test_verify_a_decision_from_assign(tmp_path):
    lead = tmp_path / "lead.json"
    lead.write_text(
        json.dumps(
            {
                "id": "L-6",
                "company": "Acme",
                "employees": 1500,
                "budget": "stated",
                "authority": "decision_maker",
                "industry": "it",
                "segment": "enterprise",
                "country": "US",
            }
        )
    )
    db = str(tmp_path / "p.db")
    r = _run(["assign", POLICY, "--lead", str(lead), "--seed", "s3", "--format", "json"], db)
    decision = tmp_path / "d.json"
    decision.write_text(r.stdout)
    r = _run(["lottery", "verify", str(decision)], db)
    assert r.exit_code == 0
    assert r.stdout == (
        "match     L-6  draw: entry 0.0084 < 0.30; winner gustavo from a pool of 20\n"
        "match: 1 draw recomputed with the seed from the decision\n"
    )
    r = _run(["lottery", "verify", str(decision), "--seed", "s4"], db)
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == "MISMATCH  L-6  seed: the decision was drawn with a different seed than the revealed one"
    data = json.loads(decision.read_text())["explanation"]
    data["lottery"]["pool"].remove("gustavo")
    for st in data["stages"]:
        for step in st["steps"]:
            if step.get("draw"):
                step["draw"] = data["lottery"]
    decision.write_text(json.dumps(data))
    r = _run(["lottery", "verify", str(decision)], db)
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0].startswith('MISMATCH  L-6  draw: winner recorded "gustavo", recomputed "')


def test_verify_reports_unreadable_input(tmp_path):
    db = str(tmp_path / "p.db")
    f = tmp_path / "x.json"
    f.write_text("{not json")
    r = _run(["lottery", "verify", str(f)], db)
    assert r.exit_code == 1 and r.stderr == f"policyd: {f}:1:2: not valid JSON: Expecting property name enclosed in double quotes\n"
    f.write_text('{"id": "L-1"}')
    r = _run(["lottery", "verify", str(f)], db)
    assert r.stderr == ("policyd: this decision has no lottery draw to verify (its route had no lottery step, or the lottery was off)\n")
    h = tmp_path / "x.html"
    h.write_text("<html><body>hello</body></html>")
    r = _run(["lottery", "verify", str(h)], db)
    assert r.stderr == f"policyd: {h}: no embedded lottery record (expected a page written by `policyd distribute`)\n"


def test_every_lottery_command_has_help_with_an_example():
    for args in (
        ["seed"],
        ["seed", "commit"],
        ["seed", "reveal"],
        ["seed", "list"],
        ["lottery"],
        ["lottery", "verify"],
        ["lottery", "page"],
        ["distribute"],
    ):
        r = CliRunner().invoke(main, [*args, "--help"])
        assert r.exit_code == 0 and "Example:" in r.stdout, args


# ---- the page in a real browser


def test_the_record_page_renders_in_chromium_with_its_ladders(tmp_path):
    from tests.browser import open_page

    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    _commit(db)
    rid = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db).stdout.splitlines()[-1][7:]
    _run(["seed", "reveal", "--period", PERIOD, "--records", out], db)
    record = json.loads((Path(out) / f"{rid}.json").read_text())
    winners = [d for x in record["leads"] for d in x["draws"] if d["entered"]]
    shot = tmp_path / "lottery_record.png"
    with open_page(Path(out) / f"{rid}.html", screenshot=shot) as visit:
        page = visit.page
        assert visit.errors == []
        assert page.locator("svg.ladder").count() == len(winners) > 0
        first = page.locator("svg.ladder").first
        box = first.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        assert first.locator("line.rung").count() == len(winners[0]["ladder"]["rungs"])
        assert first.locator("text.name.win").text_content() == winners[0]["winner"]
        assert page.locator("#seed").inner_text() == seeds.revealed_seed(db, PERIOD)
        embedded = json.loads(page.locator("#lottery-record").text_content())
        assert lottery.record_id(embedded) == rid
        # the page checks itself with WebCrypto: id, commitment, every draw and ladder
        page.wait_for_selector('#verify:not([data-state="running"])')
        n = sum(len(x["draws"]) for x in record["leads"])
        assert page.locator("#verify").get_attribute("data-state") == "match"
        assert page.locator("#verify").text_content() == (
            "Verified in this browser: the record matches its id, the seed matches the commitment, "
            f"and all {n} draws and their ladders were recomputed."
        )
    assert shot.stat().st_size > 10_000


def test_the_page_finds_its_own_tampering_in_chromium(tmp_path):
    from tests.browser import open_page

    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    _commit(db)
    rid = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db).stdout.splitlines()[-1][7:]
    page_path = Path(out) / f"{rid}.html"
    with open_page(page_path) as visit:
        visit.page.wait_for_selector('#verify:not([data-state="running"])')
        assert visit.page.locator("#verify").get_attribute("data-state") == "secret"
        assert visit.errors == []
    _run(["seed", "reveal", "--period", PERIOD, "--records", out], db)
    record = json.loads((Path(out) / f"{rid}.json").read_text())
    lead = next(x for x in record["leads"] if x["outcome"]["by"] == "lottery")
    bad = tmp_path / "bad.html"
    bad.write_text(_give_away(page_path.read_text(), record))
    with open_page(bad) as visit:
        visit.page.wait_for_selector('#verify:not([data-state="running"])')
        assert visit.page.locator("#verify").get_attribute("data-state") == "mismatch"
        assert visit.page.locator("#verify").text_content() == (
            f"Mismatch: record id: the embedded record does not hash to its id; {lead['lead_id']}: winner differs"
        )


def test_replay_catches_a_pool_edit_that_leaves_the_winner_in_place(compiled):
    from policyd.lottery.distribute import replay_record

    rows = read_leads(WEEK, compiled).rows
    seed = "replay-seed"
    record, _ = run_meeting(compiled, rows, State.from_json({"away": ["uma"]}), seed, PERIOD, seeds.commit_hash(seed))
    assert replay_record(record, compiled, seed) == [
        ("record", "policy", True, "the same policy source"),
        ("record", "replay", True, "the policy places all 30 leads the same way, with the same pools"),
    ]
    lead = next(x for x in record["leads"] if x["outcome"]["by"] == "lottery")
    d = lead["draws"][-1]
    # put uma (away) in the pool in place of a rep after the winner: the draws still match
    i = len(d["pool"]) - 1 if d["pool"][-1] != d["winner"] else 0
    removed = d["pool"][i]
    d["pool"][i] = "uma"
    assert lottery.verify_record(record, seed).ok
    checks = replay_record(record, compiled, seed)
    bad = [c for c in checks if not c[2]]
    assert len(bad) == 1 and bad[0][:2] == (lead["lead_id"], "replay")
    assert bad[0][3].startswith("lottery pool recorded [[")
    assert "'uma'" in bad[0][3].split("replayed")[0] and f"'{removed}'" in bad[0][3].split("replayed")[1]


def test_verify_with_policy_on_the_cli(tmp_path):
    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    _commit(db)
    rid = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db).stdout.splitlines()[-1][7:]
    _run(["seed", "reveal", "--period", PERIOD], db)
    path = Path(out) / f"{rid}.json"
    r = _run(["lottery", "verify", str(path), "--policy", POLICY], db)
    assert r.exit_code == 0
    assert "match     record  replay: the policy places all 30 leads the same way, with the same pools" in r.stdout
    record = json.loads(path.read_text())
    record["leads"][0]["outcome"]["tier"] = "low"
    path.write_text(json.dumps(record))
    r = _run(["lottery", "verify", str(path), "--policy", POLICY], db)
    assert r.exit_code == 1
    assert f"MISMATCH  {record['leads'][0]['lead_id']}  replay: tier recorded low, replayed high" in r.stdout


def test_verify_a_draw_that_names_its_period_uses_the_revealed_seed(tmp_path):
    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    _commit(db)
    rid = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db).stdout.splitlines()[-1][7:]
    record = json.loads((Path(out) / f"{rid}.json").read_text())
    won = next(d for x in record["leads"] for d in x["draws"] if d["entered"])
    one = tmp_path / "draw.json"
    one.write_text(json.dumps(won))
    r = _run(["lottery", "verify", str(one)], db)
    assert r.exit_code == 1
    assert r.stderr == f"policyd: the seed for {PERIOD} is not revealed yet; run `policyd seed reveal --period {PERIOD}` after the period\n"
    _run(["seed", "reveal", "--period", PERIOD], db)
    r = _run(["lottery", "verify", str(one)], db)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[-1] == f"match: 1 draw recomputed with the seed from the db ({PERIOD})"


def test_the_record_names_every_policy_file_by_its_sha256(compiled):
    import hashlib

    from policyd.lottery.distribute import policy_info

    text = (ROOT / "policies/inbound.policy").read_bytes()
    assert policy_info(compiled) == {
        "name": "inbound_b2b",
        "file": "inbound.policy",
        "sha256": hashlib.sha256(text).hexdigest(),
        "sources": [{"file": "inbound.policy", "sha256": hashlib.sha256(text).hexdigest()}],
    }
    emea = policy_info(load_path(str(ROOT / "policies/emea.policy")).compiled)
    assert [s["file"] for s in emea["sources"]] == ["emea.policy", "emea-team.policy"]
    assert emea["sources"][1]["sha256"] == hashlib.sha256((ROOT / "policies/emea-team.policy").read_bytes()).hexdigest()


def test_replay_with_another_policy_says_so(compiled, tmp_path):
    from policyd.lottery.distribute import replay_record

    seed = "replay-seed"
    record, _ = run_meeting(compiled, read_leads(WEEK, compiled).rows, State(), seed, PERIOD, seeds.commit_hash(seed))
    other = tmp_path / "inbound.policy"
    other.write_text((ROOT / "policies/inbound.policy").read_text().replace("lottery 30% among", "lottery 60% among"))
    checks = replay_record(record, load_path(str(other)).compiled, seed)
    assert checks[0][:3] == ("record", "policy", False)
    assert checks[0][3].startswith("the record was made with policy files sha256 67dcce999a974cf4..., this policy's are ")
    moved = [c for c in checks[1:] if not c[2]]
    assert moved and all(c[1] == "replay" for c in moved)


def test_lottery_page_prints_what_the_daemon_would_serve(tmp_path):
    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    _commit(db)
    rid = _run(["distribute", POLICY, "--leads", WEEK, "--period", PERIOD, "--out", out], db).stdout.splitlines()[-1][7:]
    r = _run(["lottery", "page", rid], db)
    assert r.exit_code == 0 and r.stdout == (Path(out) / f"{rid}.html").read_text()
    _run(["seed", "reveal", "--period", PERIOD], db)
    seed = seeds.revealed_seed(db, PERIOD)
    assert seed in _run(["lottery", "page", rid], db).stdout
    assert seed in _run(["lottery", "page", rid, "--dir", out], db).stdout
    r = _run(["lottery", "page", "0" * 64], db)
    assert r.exit_code == 1 and r.stderr == f"policyd: no record {'0' * 64} in {db}\n"
    r = _run(["lottery", "page", "nope"], db)
    assert r.exit_code == 1 and r.stderr == "policyd: not a record id: 'nope' (expected 64 lowercase hex digits)\n"
