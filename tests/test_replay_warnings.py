"""Warnings that speak up, each on a small file written here: every rep full, nothing
replayed (exit 1), outcome values matching neither won nor lost, repeated ids, an
unknown rep in --state; and `--db` for stored versions."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from policyd.checks.load import load_path
from policyd.cli.main import main
from policyd.replay.review import run_report

DATA = Path(__file__).parent / "data" / "replay"
TINY = str(DATA / "tiny.policy")
MAP = '[history]\nid = "id"\narrival = "at"\noutcome = "stage"\nwon = ["Won"]\nlost = ["Lost"]\n[fields]\nid = "id"\nsize = "size"\nkind = "kind"\n'


def write(tmp_path: Path, rows: list[str], mapping: str = MAP) -> tuple[str, str]:
    src = tmp_path / "h.csv"
    src.write_text("id,at,size,kind,stage\n" + "".join(r + "\n" for r in rows))
    m = tmp_path / "m.toml"
    m.write_text(mapping)
    return str(src), str(m)


def report(tmp_path, rows, mapping=MAP, **kw):
    src, m = write(tmp_path, rows, mapping)
    return run_report([("replay", "tiny.policy", load_path(TINY).compiled)], src, m, **kw)


def codes(r) -> list[str]:
    return [w["code"] for w in r["warnings"]]


def cli(*args):
    return CliRunner().invoke(main, list(args))


def test_every_rep_full_and_leads_queued_is_a_warning_with_the_hint(tmp_path):
    # ann 2 + bob 2 + cy 1 = 5 seats; nothing closes without --hold, so leads 6..8 queue
    rows = [f"L{i},2024-01-0{i},150,a,Won" for i in range(1, 9)]
    r = report(tmp_path, rows)
    (w,) = r["warnings"]
    assert w["code"] == "saturated"
    assert w["text"] == (
        "3 leads (38% of those replayed) were queued because every rep was at capacity, from 2024-01-06 on; "
        "without --hold a lead with no recorded close time never closes: pass --hold DAYS (e.g. --hold 30)"
    )
    assert r["runs"][0]["queued"] == 3
    # with a hold of a day each lead closes before the next: nobody is full, no warning
    assert codes(report(tmp_path, rows, hold_days=1)) == []


def test_nothing_replayed_warns_and_the_cli_exits_1(tmp_path):
    src, m = write(tmp_path, ["L1,,150,a,Won", "L2,,5,a,Won"])
    r = run_report([("replay", "tiny.policy", load_path(TINY).compiled)], src, m)
    assert codes(r) == ["nothing-replayed"]
    assert r["warnings"][0]["text"].startswith("no lead was replayed (all 2 rows read were rejected)")
    res = cli("replay", TINY, "--leads", src, "--map", m)
    assert res.exit_code == 1
    assert "WARNING: no lead was replayed" in res.stdout
    assert res.stderr.endswith(
        "warning: no lead was replayed (all 2 rows read were rejected), so every figure below is empty; "
        "fix the rejects listed and run again\npolicyd: nothing was replayed\n"
    )
    empty, _ = write(tmp_path, [])
    assert cli("review", TINY, str(DATA / "tiny-v2.policy"), "--leads", empty, "--map", m).exit_code == 1


def test_outcome_values_matching_neither_won_nor_lost_are_named(tmp_path):
    rows = ["L1,2024-01-01,150,a,Closed Won", "L2,2024-01-02,150,a,Closed Won", "L3,2024-01-03,5,a,Open"]
    r = report(tmp_path, rows)
    (w,) = r["warnings"]
    assert w["code"] == "outcome-unmatched"
    assert w["text"] == (
        "3 rows have a stage value matching neither won ['Won'] nor lost ['Lost']: 'Closed Won' (2), 'Open' (1); "
        "they count as still open (list the values that are open in history.open, and fix won/lost if one is missing), "
        "so there is no conversion by tier or score"
    )
    assert r["runs"][0]["conversion"] is None
    # values listed as open are expected: no warning
    fixed = MAP.replace('lost = ["Lost"]', 'lost = ["Lost"]\nopen = ["Open"]').replace('won = ["Won"]', 'won = ["Won", "Closed Won"]')
    assert codes(report(tmp_path, rows, fixed)) == []
    no_words = MAP.replace('won = ["Won"]\nlost = ["Lost"]\n', "")
    assert codes(report(tmp_path, rows, no_words)) == ["outcome-words"]


def test_repeated_lead_ids_are_a_warning(tmp_path):
    rows = ["L1,2024-01-01,150,a,Won", "L2,2024-01-02,150,a,Won", "L1,2024-01-03,5,a,Won", "L1,2024-01-04,5,a,Won"]
    r = report(tmp_path, rows, hold_days=0.5)
    (w,) = r["warnings"]
    assert w == {
        "code": "duplicate-ids",
        "text": "2 rows repeat an earlier lead id (line 4: id 'L1', line 5: id 'L1'); each is replayed as another lead",
    }
    assert r["input"]["replayed"] == 4


def test_an_unknown_rep_in_the_starting_state_is_refused(tmp_path):
    src, m = write(tmp_path, ["L1,2024-01-01,150,a,Won"])
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"open": {"anne": 1}}))
    res = cli("replay", TINY, "--leads", src, "--map", m, "--state", str(state))
    assert res.exit_code == 1
    assert res.stderr == "policyd: --state: rep 'anne' is not on the team; did you mean 'ann'? expected one of ann, bob, cy\n"
    state.write_text(json.dumps({"open": {"ann": 1}}))
    assert cli("replay", TINY, "--leads", src, "--map", m, "--state", str(state)).exit_code == 0


TWO_ENUMS = """policy two { owner "t" }
lead {
  id    text
  kind  {a, b}
  plan  {free, pro}
}
score s { 1 otherwise }
tiers { all 1..1 }
team { rep ann veteran }
route all { pick least loaded }
"""


def test_a_schema_refusal_lists_every_bad_field(tmp_path):
    pol = tmp_path / "two.policy"
    pol.write_text(TWO_ENUMS)
    src = tmp_path / "h.csv"
    src.write_text("id,at,kind,plan\nL1,2024-01-01,zz,gold\n")
    m = tmp_path / "m.toml"
    m.write_text('[history]\nid = "id"\narrival = "at"\n[fields]\nid = "id"\nkind = "kind"\nplan = "plan"\n')
    r = run_report([("replay", "two.policy", load_path(pol).compiled)], str(src), str(m))
    assert r["input"]["first_rejects"] == [
        'h.csv:2: kind: "zz" is not one of its words; expected one of a, b; plan: "gold" is not one of its words; expected one of free, pro'
    ]
    assert r["input"]["rejected_by_field"] == {"kind": 1, "plan": 1}


def test_replay_and_review_take_db_for_stored_versions(tmp_path):
    db = str(tmp_path / "store.db")
    assert cli("publish", TINY, "-m", "first", "--author", "t", "--db", db).exit_code == 0
    src, m = write(tmp_path, ["L1,2024-01-01,150,a,Won"])
    res = cli("replay", "@1", "--leads", src, "--map", m, "--db", db, "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["input"]["replayed"] == 1
    res = cli("review", "@1", TINY, "--leads", src, "--map", m, "--db", db, "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)["kind"] == "review"
    assert cli("replay", "@1", "--leads", src, "--map", m, "--db", str(tmp_path / "none.db")).exit_code == 1
