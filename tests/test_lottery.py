"""Ladders, records and verification: the ladder agrees with the evaluator, and any change is caught."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyd.checks.load import load_path
from policyd.engine.draw import draw, draw_index
from policyd.engine.state import State
from policyd.lottery import record as lottery
from policyd.lottery.distribute import read_leads, run_meeting
from policyd.lottery.seeds import commit_hash

ROOT = Path(__file__).parent.parent
SEED = "5a1e56dbf27e97d7f25bcd91483437a8c894a0a675a3cd098a10ff5638ee2e76"
PERIOD = "2026-W48"


@pytest.fixture(scope="module")
def compiled():
    return load_path(str(ROOT / "policies/inbound.policy")).compiled


@pytest.fixture(scope="module")
def record(compiled):
    rows = read_leads(str(ROOT / "policies/leads/week-2026-W48.csv"), compiled).rows
    rec, _ = run_meeting(compiled, rows, State(), SEED, PERIOD, commit_hash(SEED), {"name": "week.csv", "sha256": "0" * 64})
    return rec


def _won(record):
    return [d for lead in record["leads"] for d in lead["draws"] if d["entered"]]


# ---- the ladder


@given(st.integers(1, 25), st.text(min_size=1, max_size=8), st.integers(0, 10**6))
def test_a_ladder_is_a_permutation_and_traces_the_winner_to_its_marker(n, lead_id, salt):
    seed = f"seed-{salt}"
    rungs = lottery.ladder_rungs(seed, lead_id, n)
    assert len(rungs) == lottery.rung_count(n)
    assert all(0 <= g < n - 1 for g in rungs)
    ends = [lottery.trace(rungs, i) for i in range(n)]
    assert sorted(ends) == list(range(n))
    w = draw_index(draw(seed, lead_id, "winner"), None, n)
    lad = lottery.ladder(seed, lead_id, n, w)
    # tracing back up from the marker reaches the evaluator's winner
    assert lottery.trace(list(reversed(lad["rungs"])), lad["end"]) == w


def test_rungs_are_the_documented_hmac_draws():
    rungs = lottery.ladder_rungs(SEED, "W48-01", 5)
    assert rungs == [min(int(draw(SEED, "W48-01", f"rung:{k}") * 4), 3) for k in range(10)]
    assert lottery.ladder_rungs(SEED, "W48-01", 1) == []


def test_trace_moves_along_the_rungs_that_touch_the_leg():
    # legs 0..3; rungs join (1,2), (0,1), (2,3)
    assert [lottery.trace([1, 0, 2], i) for i in range(4)] == [1, 3, 0, 2]


def test_the_ladder_svg_draws_every_leg_rung_and_the_winner_path():
    names = ["alice", "bob", "carol", "dan"]
    lad = {"rungs": [1, 0, 2], "start": 2, "end": 0}
    svg = lottery.ladder_svg(names, lad, "L-<1>")
    assert svg.count('class="leg"') == 4
    assert svg.count('class="rung"') == 3
    assert svg.count('class="name win"') == 1 and 'class="name win">carol</text>' in svg
    assert "L-&lt;1&gt;" in svg and "<1>" not in svg
    # the path starts on carol's leg (x=168), crosses to bob's, then alice's (x=40), where the marker is
    path = svg.split('class="path" points="')[1].split('"')[0].split()
    assert [p.split(",")[0] for p in path] == ["168", "168", "104", "104", "40", "40"]
    assert '<circle cx="40"' in svg


# ---- records


def test_the_record_agrees_with_the_evaluator_and_its_ladders(record, compiled):
    won = _won(record)
    assert won, "the bundled week has lottery winners"
    for dr in won:
        i = dr["pool"].index(dr["winner"])
        assert i == draw_index(dr["winner_draw"], dr["weights"], len(dr["pool"]))
        assert dr["ladder"]["start"] == i
        assert lottery.trace(dr["ladder"]["rungs"], i) == dr["ladder"]["end"]
        assert dr["seed_id"] == PERIOD
    assert SEED not in json.dumps(record)
    assert record["totals"]["by_lottery"] == sum(1 for x in record["leads"] if x["outcome"]["by"] == "lottery") > 0


def test_a_record_verifies_with_its_seed(record):
    v = lottery.verify_record(record, SEED, lottery.record_id(record))
    assert v.ok, [c for c in v.checks if not c.ok]
    assert v.draws == sum(len(x["draws"]) for x in record["leads"])


def _mismatches(v):
    return [(c.subject, c.what, c.detail) for c in v.mismatches]


def test_a_changed_seed_fails(record):
    v = lottery.verify_record(record, SEED[:-1] + "f")
    assert not v.ok
    bad = _mismatches(v)
    assert bad[0][:2] == ("record", "seed")
    assert bad[0][2].startswith("sha256(seed) is ")
    assert len(bad) > 1  # and the draws themselves differ


def test_a_changed_pool_fails(record):
    rec = copy.deepcopy(record)
    dr = _won(rec)[0]
    dr["pool"].remove(dr["winner"])  # the winner taken out of the pool
    v = lottery.verify_record(rec, SEED)
    lead = next(x for x in rec["leads"] if dr in x["draws"])
    assert [(s, w) for s, w, _ in _mismatches(v)] == [(lead["lead_id"], "draw")]
    assert "winner recorded" in _mismatches(v)[0][2]
    # reordering the pool also changes who the winner draw picks
    rec = copy.deepcopy(record)
    dr = _won(rec)[0]
    dr["pool"].reverse()
    detail = _mismatches(lottery.verify_record(rec, SEED))[0][2]
    assert f'winner recorded "{dr["winner"]}", recomputed "' in detail


def test_a_changed_lead_id_fails(record):
    rec = copy.deepcopy(record)
    dr = _won(rec)[0]
    dr["lead_id"] = dr["lead_id"] + "X"
    bad = _mismatches(lottery.verify_record(rec, SEED))
    assert bad[0][0] == dr["lead_id"]
    assert bad[0][2].startswith("entry_draw recorded ")


def test_a_moved_rung_or_marker_fails(record):
    rec = copy.deepcopy(record)
    lad = _won(rec)[0]["ladder"]
    lad["rungs"][3] = (lad["rungs"][3] + 1) % (len(_won(rec)[0]["pool"]) - 1)
    detail = _mismatches(lottery.verify_record(rec, SEED))[0][2]
    assert detail.startswith("ladder rung 3 recorded between legs ")
    rec = copy.deepcopy(record)
    _won(rec)[0]["ladder"]["end"] += 1
    detail = _mismatches(lottery.verify_record(rec, SEED))[0][2]
    assert detail.startswith("ladder.end recorded ")


def test_an_edited_record_no_longer_matches_its_id(record):
    rid = lottery.record_id(record)
    rec = copy.deepcopy(record)
    rec["leads"][0]["outcome"]["rep"] = "quinn"
    bad = _mismatches(lottery.verify_record(rec, SEED, rid))
    assert bad[0][:2] == ("record", "id")
    assert bad[0][2] == f"content hashes to {lottery.record_id(rec)}, not {rid}"


def test_an_outcome_that_is_not_the_winner_fails(record):
    rec = copy.deepcopy(record)
    lead = next(x for x in rec["leads"] if x["outcome"]["by"] == "lottery")
    lead["outcome"]["rep"] = "quinn" if lead["outcome"]["rep"] != "quinn" else "uma"
    bad = _mismatches(lottery.verify_record(rec, SEED))
    assert bad == [(lead["lead_id"], "outcome", f"assigned to {lead['outcome']['rep']}, which is not the recorded lottery winner")]


def test_record_id_is_the_sha256_of_canonical_json(record):
    import hashlib

    rid = lottery.record_id(record)
    assert rid == hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert lottery.record_id(json.loads(json.dumps(record, indent=3))) == rid


# ---- pages and files


def test_the_page_embeds_the_record_and_verifies_from_its_own_contents(record, tmp_path):
    rid, page = lottery.write_record(record, tmp_path, seed=SEED)
    assert page.name == f"{rid}.html"
    kind, data, claimed, seed = lottery.read_subject(str(page))
    assert (kind, claimed, seed) == ("record", rid, SEED)
    assert data == record
    assert lottery.verify_record(data, seed, claimed).ok


def test_a_page_written_before_the_reveal_has_no_seed(record, tmp_path):
    rid, page = lottery.write_record(record, tmp_path)
    html = page.read_text()
    assert SEED not in html
    assert "secret until" in html
    assert lottery.read_subject(str(page))[3] is None
    # the reveal rewrites the page with the seed
    assert lottery.republish(tmp_path, PERIOD, SEED) == [page]
    assert lottery.read_subject(str(page))[3] == SEED
    assert lottery.republish(tmp_path, "2026-W47", SEED) == []


def test_a_wrong_seed_is_never_published_on_a_page(record):
    with pytest.raises(lottery.RecordError) as err:
        lottery.render_page(record, "0" * 64)
    assert str(err.value) == f"the seed does not match the record's commitment {record['commitment']}; refusing to publish it"


def test_embedded_json_cannot_close_the_script_element(record):
    rec = copy.deepcopy(record)
    rec["leads"][0]["lead"]["company"] = "</script><script>alert(1)</script>"
    html = lottery.render_page(rec)
    assert "</script><script>alert(1)" not in html
    data, claimed, seed = lottery.parse_page(html, "page")
    assert (data, claimed, seed) == (rec, lottery.record_id(rec), None)


def test_render_record_reads_from_a_directory_or_the_db(record, tmp_path):
    from policyd.lottery import seeds

    db = str(tmp_path / "p.db")
    seeds_rec = seeds.commit(db, PERIOD, now=seeds.period_start(PERIOD) - 60)
    rec = dict(record, commitment=seeds_rec.commitment)
    assert lottery.list_records(db) == []
    rid = lottery.store_record(db, rec, now=50.0)
    assert lottery.store_record(db, rec, now=60.0) == rid  # same content, same id, stored once
    assert lottery.list_records(db) == [{"id": rid, "period": PERIOD, "created_at": 50.0, "totals": rec["totals"]}]
    assert lottery.list_records(db, PERIOD) == lottery.list_records(db) and lottery.list_records(db, "2026-W47") == []
    html = lottery.render_record(rid, db)
    assert f'<meta name="policyd-record-id" content="{rid}">' in html
    assert seeds_rec.seed not in html
    seeds.reveal(db, PERIOD)
    assert seeds_rec.seed in lottery.render_record(rid, db)
    lottery.write_record(rec, tmp_path / "out")
    assert lottery.render_record(rid, tmp_path / "out") == html
    assert seeds_rec.seed in lottery.render_record(rid, tmp_path / "out", seed_db=db)


@pytest.mark.parametrize("rid", ["../../etc/passwd", "abc", "A" * 64])
def test_render_record_refuses_what_is_not_an_id(rid, tmp_path):
    with pytest.raises(lottery.RecordNotFound) as err:
        lottery.render_record(rid, tmp_path)
    assert str(err.value).startswith("not a record id: ")


def test_render_record_of_an_unknown_or_altered_record(record, tmp_path):
    rid, _ = lottery.write_record(record, tmp_path)
    with pytest.raises(lottery.RecordNotFound) as err:
        lottery.render_record("0" * 64, tmp_path)
    assert str(err.value) == f"no record {'0' * 64} in {tmp_path}"
    path = tmp_path / f"{rid}.json"
    path.write_text(path.read_text().replace('"W48-01"', '"W48-99"'))
    with pytest.raises(lottery.RecordError) as err:
        lottery.render_record(rid, tmp_path)
    assert str(err.value) == f"record {rid} was altered: its content no longer hashes to its id"


# ---- a lottery by weight

WEIGHTED = """policy weighted_test "A weighted lottery" {
  owner "sales-ops"
  review every 3 months
}

lead {
  id     text
  size   int
}

score size {
  2 when size >= 100
  1 otherwise
}

tiers {
  big    2..2
  small  1..1
}

team {
  capacity default 1000
  rep ana mid weight 1
  rep ben mid weight 2.5
  rep cleo new weight 0.1
  rep dev veteran weight 3
}

route big "Most by weighted lottery" {
  lottery 80% among available reps by weight
  pick least loaded
}

route small "Rotation" {
  pick round robin
}
"""


@pytest.fixture(scope="module")
def weighted_record(tmp_path_factory):
    d = tmp_path_factory.mktemp("weighted")
    (d / "weighted.policy").write_text(WEIGHTED)
    (d / "leads.csv").write_text("id,size\n" + "".join(f"B-{i:02d},{150 if i % 4 else 20}\n" for i in range(40)))
    c = load_path(str(d / "weighted.policy")).compiled
    rec, _ = run_meeting(c, read_leads(str(d / "leads.csv"), c).rows, State(), SEED, PERIOD, commit_hash(SEED))
    return rec


def test_a_weighted_lottery_records_its_weights_and_verifies(weighted_record):
    won = _won(weighted_record)
    assert len(won) > 10
    assert all(d["weights"] == [1.0, 2.5, 0.1, 3.0] and d["pool"] == ["ana", "ben", "cleo", "dev"] for d in won)
    assert lottery.verify_record(weighted_record, SEED).ok
    # swapping ana's and dev's weights moves the winner of some draws: each such draw fails
    swapped = [3.0, 2.5, 0.1, 1.0]
    rec = copy.deepcopy(weighted_record)
    moved = []
    for dr in _won(rec):
        got = lottery.recompute(SEED, dr["lead_id"], dr["ratio"], dr["pool"], swapped)["winner"]
        dr["weights"] = swapped
        if got != dr["winner"]:
            moved.append((dr["lead_id"], dr["winner"], got))
    assert moved
    bad = _mismatches(lottery.verify_record(rec, SEED))
    assert [b[0] for b in bad] == [m[0] for m in moved]
    assert all(f'winner recorded "{w}", recomputed "{g}"' in b[2] for b, (_, w, g) in zip(bad, moved))


def test_the_page_recomputes_a_weighted_lottery_in_chromium(weighted_record, tmp_path):
    from tests.browser import open_page

    _, page = lottery.write_record(weighted_record, tmp_path, seed=SEED)
    with open_page(page) as visit:
        visit.page.wait_for_selector('#verify:not([data-state="running"])')
        assert visit.errors == []
        assert visit.page.locator("#verify").get_attribute("data-state") == "match", visit.page.locator("#verify").text_content()
    # a page whose weights were swapped (and whose id was recomputed to hide it) still fails
    rec = copy.deepcopy(weighted_record)
    for dr in _won(rec):
        dr["weights"] = [3.0, 2.5, 0.1, 1.0]
    _, bad = lottery.write_record(rec, tmp_path / "bad", seed=SEED)
    with open_page(bad) as visit:
        visit.page.wait_for_selector('#verify:not([data-state="running"])')
        text = visit.page.locator("#verify").text_content()
        assert visit.page.locator("#verify").get_attribute("data-state") == "mismatch"
        assert text.startswith("Mismatch: B-") and "winner, ladder marker differ" in text


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r.update(leads="x"), "record: `leads` must be a list"),
        (lambda r: r["leads"].__setitem__(2, 7), "record: leads[2] must be an object"),
        (lambda r: r["leads"][0].update(outcome=None), "record: leads[0].outcome must be an object"),
        (lambda r: r["leads"][1].update(draws=[1]), "record: leads[1].draws must be a list of objects"),
        (lambda r: r.update(extra=float("nan")), "record: cannot be hashed: it holds NaN or infinity, which JSON does not allow"),
    ],
)
def test_a_malformed_record_is_refused_with_its_place(record, edit, message):
    rec = copy.deepcopy(record)
    edit(rec)
    with pytest.raises(lottery.RecordError) as err:
        lottery.verify_record(rec, SEED)
    assert str(err.value) == message


def test_a_malformed_decision_is_refused_or_checked_without_crashing():
    with pytest.raises(lottery.RecordError):
        lottery.verify_decision({"stages": "x", "lottery": 5}, "s")
    v = lottery.verify_decision({"entry_draw": 0.5, "lead_id": "L-1", "ratio": "x", "pool": []}, "s")
    assert [(c.what, c.ok) for c in v.checks] == [("draw", False)]
    assert v.checks[0].detail.startswith("the recorded draw is incomplete (")


def test_a_page_of_a_record_with_an_impossible_ladder_still_renders(record):
    rec = copy.deepcopy(record)
    dr = _won(rec)[0]
    dr["ladder"]["rungs"][0] = 99
    _won(rec)[1]["ladder"] = "x"
    html = lottery.render_page(rec)
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="ladder"') == len(_won(record)) - 2
    details = [c.detail for c in lottery.verify_record(rec, SEED).mismatches]
    assert details[0].startswith("ladder rung 0 recorded between legs 99 and 100, recomputed ")
    assert details[1] == 'ladder recorded "x", not a ladder, recomputed a ladder'
