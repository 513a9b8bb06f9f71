"""Arrival order without a date (the row order, newest first, a sequence column) on a
synthetic clock, and `--sort` through the spill file: same result as a sorted file."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyd.checks.load import load_path
from policyd.replay.history import History
from policyd.replay.mapping import load_mapping
from policyd.replay.records import MappingError
from policyd.replay.replay import Replay
from policyd.replay.review import run_report
from policyd.replay.spill import Spill
from policyd.replay.values import parse_time

DATA = Path(__file__).parent / "data" / "replay"
FIELDS = '[fields]\nid = "id"\nsize = "size"\nkind = "kind"\n'


def tiny():
    return load_path(DATA / "tiny.policy").compiled


def replay_ids(tmp_path: Path, rows: list[str], history_keys: str, *, hold_days=None, header="id,size,kind"):
    """The lead ids in the order the replay took them, with their arrival times."""
    src = tmp_path / "h.csv"
    src.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    m = tmp_path / "m.toml"
    m.write_text('[history]\nid = "id"\n' + history_keys + FIELDS)
    c = tiny()
    seen = []
    r = Replay([("p", c)], hold_days=hold_days, listener=lambda row, ds: seen.append((row.lead_id, row.arrival)))
    intake = r.run(History(src, load_mapping(m), c.schema))
    return seen, intake, r


def test_the_row_order_is_the_arrival_order_on_a_synthetic_clock(tmp_path):
    seen, intake, _ = replay_ids(tmp_path, ["L1,150,a", "L2,5,a", "L3,150,a"], 'order = "row"\nspacing = 60\nstart = "2024-01-01"\n')
    t0 = parse_time("2024-01-01")
    assert seen == [("L1", t0), ("L2", t0 + 60), ("L3", t0 + 120)]
    assert intake.replayed == 3


def test_newest_first_is_replayed_oldest_first(tmp_path):
    seen, _, _ = replay_ids(tmp_path, ["L3,150,a", "L2,5,a", "L1,150,a"], 'order = "reversed"\n')
    t0 = parse_time("2000-01-01")  # the default start, one lead an hour
    assert seen == [("L1", t0), ("L2", t0 + 3600), ("L3", t0 + 7200)]


def test_a_sequence_column_gives_the_order(tmp_path):
    rows = ["L2,5,a,20", "L1,150,a,3", "L3,150,a,1000", "L0,5,a,"]
    seen, intake, _ = replay_ids(tmp_path, rows, 'sequence = "n"\n', header="id,size,kind,n")
    assert [i for i, _ in seen] == ["L1", "L2", "L3"]
    assert intake.rejected == 1  # an empty sequence number cannot be placed


def test_the_synthetic_clock_drives_holds(tmp_path):
    # cy (capacity 1) gets the low-tier rotation's third lead; a one-hour hold frees every rep between leads
    rows = [f"L{i},5,a" for i in range(8)]
    _, _, r = replay_ids(tmp_path, rows, 'order = "row"\nspacing = 7200\n', hold_days=1 / 24)
    assert r.lanes[0].tally.queues == {} and r.lanes[0].closed == 7
    _, _, r = replay_ids(tmp_path, rows, 'order = "row"\nspacing = 7200\n')
    assert sum(r.lanes[0].tally.queues.values()) == 3  # without a hold, five seats fill up


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('order = "row"\narrival = "at"\n', "history.order: 'row' replaces the arrival column"),
        ('order = "sideways"\n', 'history.order: expected one of arrival, row, reversed, got "sideways"'),
        ('order = "row"\nclosed_at = "c"\n', "history.closed_at: a recorded close time cannot be placed on the synthetic clock"),
        ('sequence = "n"\narrival = "at"\n', "history.sequence: expected either history.arrival (a time) or history.sequence"),
        ('order = "row"\nspacing = 0\n', "history.spacing: expected a number of seconds above 0"),
        ('order = "row"\nstart = "soon"\n', "history.start: expected an ISO date where the synthetic clock starts"),
    ],
)
def test_order_mistakes_are_named(tmp_path, keys, message):
    m = tmp_path / "m.toml"
    m.write_text("[history]\n" + keys)
    with pytest.raises(MappingError) as err:
        load_mapping(m)
    assert message in str(err.value)


def test_sort_gives_the_report_of_the_sorted_file(tmp_path):
    rows = [f"L{i},2024-01-{1 + i // 3:02d},{150 if i % 2 else 5},a,Won,2024-02-01" for i in range(30)]
    header = "id,arrived,size,kind,stage,closed\n"
    good = tmp_path / "good.csv"
    good.write_text(header + "".join(r + "\n" for r in rows))
    rev = tmp_path / "rev.csv"
    rev.write_text(header + "".join(r + "\n" for r in reversed(rows)))
    m = tmp_path / "m.toml"
    m.write_text('[history]\nid = "id"\narrival = "arrived"\nclosed_at = "closed"\n' + FIELDS)
    pol = [("replay", "tiny.policy", tiny())]
    a = run_report(pol, str(good), str(m), hold_days=2)
    b = run_report(pol, str(rev), str(m), hold_days=2, sort=True)
    # same day -> the later source row first in the reversed file; the rotation then differs, the counts do not
    assert a["runs"][0]["leads"] == b["runs"][0]["leads"] == 30
    assert a["runs"][0]["tiers"] == b["runs"][0]["tiers"]
    assert b["input"]["sorted"] is True


def test_the_spill_sort_is_stable_and_removes_its_file():
    s = Spill()
    for i, k in enumerate([3.0, 1.0, 2.0, 1.0, 3.0]):
        s.add(k, ("row", i))
    path = s.path
    assert list(s) == [("row", 1), ("row", 3), ("row", 2), ("row", 0), ("row", 4)]
    s.close()
    assert not path.exists() and not path.parent.exists()
