"""Committed lottery seeds: commit, reveal, refuse a seed that fails its commitment."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.lottery import seedkey, seeds
from policyd.storage.db import connect

BEFORE = datetime(2026, 11, 1, tzinfo=UTC).timestamp()  # before 2026-W48 and W49 begin


def _future() -> str:
    """A week that has not begun whenever the test runs: the CLI commits with the real clock."""
    return seeds.period_of(time.time() + 14 * 86400)


@pytest.fixture
def db(db_target):
    """A SQLite file, or a PostgreSQL database (its seed key then in $POLICYD_SEED_KEY)."""
    return db_target


def test_commit_stores_a_secret_seed_and_its_sha256(db):
    rec = seeds.commit(db, "2026-W48", now=BEFORE)
    assert len(rec.seed) == 64 and int(rec.seed, 16) >= 0
    assert rec.commitment == hashlib.sha256(rec.seed.encode()).hexdigest()
    assert seeds.commitment_for(db, "2026-W48") == rec.commitment
    assert seeds.seed_for_period(db, "2026-W48") == rec.seed
    assert seeds.commitment_for(db, "2026-W49") is None
    assert not seeds.get(db, "2026-W48").revealed
    # two periods get different seeds
    assert seeds.commit(db, "2026-W49", now=BEFORE).seed != rec.seed


def test_the_database_never_holds_an_unrevealed_seed(db, tmp_path):
    rec = seeds.commit(db, "2026-W48", now=BEFORE)
    conn = connect(db)
    assert conn.execute("select seed from lottery_seeds").fetchall() == [(None,)]
    conn.close()
    for f in tmp_path.iterdir():  # the file, its WAL and its shared memory: no copy of the seed anywhere
        if f.name.startswith("policyd.db") and not f.name.endswith(".seed-key"):
            assert rec.seed.encode() not in f.read_bytes(), f.name
    key = seedkey.key_path(db)
    assert os.stat(key).st_mode & 0o777 == 0o600  # readable by its owner only
    seeds.reveal(db, "2026-W48", now=BEFORE + 40 * 86400)
    conn = connect(db)
    assert conn.execute("select seed from lottery_seeds").fetchall() == [(rec.seed,)]  # published from now on
    conn.close()


def test_without_the_seed_key_an_unrevealed_period_cannot_draw_nor_be_revealed(db, tmp_path):
    seeds.commit(db, "2026-W48", now=BEFORE)
    (seedkey.key_path(db)).unlink()
    for fn in (seeds.reveal, seeds.seed_for_period):
        with pytest.raises(seeds.SeedError) as err:
            fn(db, "2026-W48")
        assert str(err.value).startswith(f"2026-W48: the seed key {seedkey.key_path(db)} is missing: ")
    draw = seeds.draw_seed(db, datetime(2026, 11, 24, tzinfo=UTC).timestamp())
    assert (draw.status, draw.seed) == ("refused", None) and "is missing" in draw.note


def test_the_seed_key_can_live_elsewhere(db, tmp_path, monkeypatch):
    away = tmp_path / "vault" / "lottery.key"
    away.parent.mkdir()
    monkeypatch.setenv("POLICYD_SEED_KEY", str(away))
    rec = seeds.commit(db, "2026-W48", now=BEFORE)
    assert away.exists() and not (tmp_path / "policyd.db.seed-key").exists()
    assert seeds.seed_for_period(db, "2026-W48") == rec.seed
    away.write_text("not a key\n")
    with pytest.raises(seeds.SeedError) as err:
        seeds.seed_for_period(db, "2026-W48")
    assert str(err.value) == f"2026-W48: {away} is not a seed key (expected 64 hexadecimal digits on one line)"


@pytest.mark.parametrize(
    "when, message",
    [
        (datetime(2026, 11, 23, tzinfo=UTC).timestamp(), "2026-W48 began on 2026-11-23 00:00 UTC"),  # the first second of it
        (datetime(2026, 11, 26, 15, tzinfo=UTC).timestamp(), "2026-W48 began on 2026-11-23 00:00 UTC"),
    ],
)
def test_a_current_period_cannot_be_committed(db, when, message):
    with pytest.raises(seeds.SeedError) as err:
        seeds.commit(db, "2026-W48", now=when)
    assert str(err.value) == (
        f"{message}: a seed is committed before its period begins, so nobody can choose it after seeing the period's leads;"
        " commit 2026-W49 (or a later week) instead"
    )
    assert seeds.periods(db) == []


def test_a_past_period_cannot_be_committed(db):
    with pytest.raises(seeds.SeedError) as err:
        seeds.commit(db, "2020-W01", now=BEFORE)
    assert str(err.value).startswith("2020-W01 began on 2019-12-30 00:00 UTC: a seed is committed before its period begins")
    assert seeds.commit(db, "2026-W45", now=BEFORE).period == "2026-W45"  # the next one that has not begun


def test_a_seed_an_earlier_release_kept_in_the_database_still_draws_and_is_flagged(db):
    seeds.commit(db, "2026-W48", now=BEFORE)
    conn = connect(db)
    old = "ab" * 32
    conn.execute(
        "update lottery_seeds set seed = ?, commitment = ? where period = ?", (old, hashlib.sha256(old.encode()).hexdigest(), "2026-W48")
    )
    conn.commit()
    conn.close()
    assert seeds.seed_for_period(db, "2026-W48") == old
    (listed,) = seeds.periods(db)
    assert listed["intact"] and listed["in_database"] and listed["seed"] is None


def test_the_seed_is_not_public_before_reveal(db):
    rec = seeds.commit(db, "2026-W48", now=BEFORE)
    with pytest.raises(seeds.SeedError) as err:
        seeds.revealed_seed(db, "2026-W48")
    assert str(err.value) == "the seed for 2026-W48 is not revealed yet; run `policyd seed reveal --period 2026-W48` after the period"
    assert seeds.periods(db)[0]["seed"] is None
    out = seeds.reveal(db, "2026-W48", now=200.0)
    assert out.seed == rec.seed and out.revealed_at == 200.0
    assert seeds.revealed_seed(db, "2026-W48") == rec.seed
    assert seeds.periods(db) == [
        {
            "period": "2026-W48",
            "commitment": rec.commitment,
            "committed_at": rec.committed_at,
            "revealed_at": 200.0,
            "seed": rec.seed,
            "intact": True,
            "problem": None,
            "in_database": False,
        }
    ]
    # no new draws with a revealed seed, unless replaying
    with pytest.raises(seeds.SeedError) as err:
        seeds.seed_for_period(db, "2026-W48")
    assert str(err.value) == "the seed for 2026-W48 is already revealed, so its draws could be steered; commit a seed for a new period"
    assert seeds.seed_for_period(db, "2026-W48", allow_revealed=True) == rec.seed
    # revealing again keeps the first reveal time
    assert seeds.reveal(db, "2026-W48", now=300.0).revealed_at == 200.0


def test_a_period_has_one_seed(db):
    rec = seeds.commit(db, "2026-W48", now=BEFORE)
    with pytest.raises(seeds.SeedError) as err:
        seeds.commit(db, "2026-W48", now=BEFORE)
    assert str(err.value) == f"2026-W48 is already committed (commitment {rec.commitment}); a period has one seed"
    assert seeds.seed_for_period(db, "2026-W48") == rec.seed


def _tamper(db: str, period: str, column: str, value: str) -> None:
    conn = connect(db)
    conn.execute(f"update lottery_seeds set {column} = ? where period = ?", (value, period))
    conn.commit()
    conn.close()


def test_a_tampered_commitment_or_key_is_refused_everywhere(db, tmp_path):
    seeds.commit(db, "2026-W48", now=BEFORE)
    _tamper(db, "2026-W48", "commitment", "0" * 64)
    msg = "the seed derived from the seed key for 2026-W48 does not match its commitment"
    for fn in (seeds.reveal, seeds.seed_for_period, seeds.get):
        with pytest.raises(seeds.SeedError) as err:
            fn(db, "2026-W48")
        assert str(err.value).startswith(msg)
        assert str(err.value).endswith("the database or the key was altered, so this seed is refused")
    assert seeds.periods(db)[0]["intact"] is False
    assert seeds.periods(db)[0]["seed"] is None
    # a key swapped after the commitment: the derived seed no longer matches
    seeds.commit(db, "2026-W49", now=BEFORE)
    (seedkey.key_path(db)).write_text("cd" * 32 + "\n")
    with pytest.raises(seeds.SeedError, match="derived from the seed key for 2026-W49 does not match"):
        seeds.seed_for_period(db, "2026-W49")


def test_a_revealed_seed_edited_in_the_database_is_refused(db):
    seeds.commit(db, "2026-W48", now=BEFORE)
    seeds.reveal(db, "2026-W48", now=BEFORE + 40 * 86400)
    _tamper(db, "2026-W48", "seed", "0" * 64)
    with pytest.raises(seeds.SeedError, match="the seed stored for 2026-W48 does not match its commitment"):
        seeds.revealed_seed(db, "2026-W48")


@pytest.mark.parametrize(
    "period, message",
    [
        ("2026-48", "period '2026-48': expected an ISO week like 2026-W48 (year, -W, two-digit week)"),
        ("2026-W4", "period '2026-W4': expected an ISO week like 2026-W48 (year, -W, two-digit week)"),
        ("W48", "period 'W48': expected an ISO week like 2026-W48 (year, -W, two-digit week)"),
        ("2026-W00", "period '2026-W00': week 0 does not exist; 2026 has weeks 01 to 53"),
        ("2025-W53", "period '2025-W53': week 53 does not exist; 2025 has weeks 01 to 52"),
    ],
)
def test_period_strings_are_validated(db, period, message):
    with pytest.raises(seeds.SeedError) as err:
        seeds.commit(db, period)
    assert str(err.value) == message
    assert seeds.check_period("2026-W53") == "2026-W53"


def test_reveal_needs_a_commitment(db):
    with pytest.raises(seeds.SeedError) as err:
        seeds.reveal(db, "2026-W48")
    assert str(err.value) == "no seed committed for 2026-W48; run `policyd seed commit --period 2026-W48` first"


def test_cli_commit_prints_only_the_commitment_then_reveal_prints_the_seed(db):
    runner = CliRunner()
    period = _future()
    r = runner.invoke(main, ["seed", "commit", "--period", period, "--db", db])
    assert r.exit_code == 0, r.output
    commitment = r.stdout.strip()
    seed = seeds.seed_for_period(db, period)
    assert commitment == hashlib.sha256(seed.encode()).hexdigest()
    assert seed not in r.output
    r = runner.invoke(main, ["seed", "list", "--db", db])
    assert r.stdout == f"{period}  {commitment}  secret\n"
    r = runner.invoke(main, ["seed", "reveal", "--period", period], env={"POLICYD_DB": db})
    assert r.exit_code == 0 and r.stdout == seed + "\n"
    assert r.stderr == f"revealed {period}: sha256(seed) = {commitment}\n"


def test_cli_refuses_a_past_period(db):
    r = CliRunner().invoke(main, ["seed", "commit", "--period", "2020-W01", "--db", db])
    assert r.exit_code == 1
    assert r.stderr.startswith("policyd: 2020-W01 began on 2019-12-30 00:00 UTC: a seed is committed before its period begins")


def test_cli_refuses_a_tampered_seed_and_a_bad_period(db):
    runner = CliRunner()
    seeds.commit(db, "2026-W48", now=BEFORE)
    seeds.reveal(db, "2026-W48", now=BEFORE + 40 * 86400)
    _tamper(db, "2026-W48", "seed", "f" * 64)
    r = runner.invoke(main, ["seed", "reveal", "--period", "2026-W48", "--db", db])
    assert r.exit_code == 1
    assert "f" * 64 not in r.stdout
    assert r.stderr.startswith("policyd: the seed stored for 2026-W48 does not match its commitment")
    r = runner.invoke(main, ["seed", "commit", "--period", "2026-48", "--db", db])
    assert r.exit_code == 1
    assert r.stderr == "policyd: period '2026-48': expected an ISO week like 2026-W48 (year, -W, two-digit week)\n"
    r = runner.invoke(main, ["seed", "list", "--db", db])
    assert r.stdout.startswith("2026-W48  ") and "TAMPERED: the seed stored for 2026-W48 does not match" in r.stdout


def test_period_of_a_timestamp_is_its_utc_iso_week():
    from datetime import datetime

    assert seeds.period_of(datetime(2026, 11, 24, 3, 0, tzinfo=UTC).timestamp()) == "2026-W48"
    assert seeds.period_of(datetime(2027, 1, 1, tzinfo=UTC).timestamp()) == "2026-W53"
    assert seeds.period_of(datetime(2025, 12, 29, tzinfo=UTC).timestamp()) == "2026-W01"


def test_an_unusable_database_is_a_clear_error(tmp_path):
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello\n")
    runner = CliRunner()
    r = runner.invoke(main, ["seed", "list", "--db", str(not_db)])
    assert r.exit_code == 1 and r.stderr.startswith(f"policyd: {not_db}: not a policyd store (file is not a database): ")
    missing = tmp_path / "no" / "such" / "dir.db"
    r = runner.invoke(main, ["seed", "commit", "--period", _future(), "--db", str(missing)])
    assert r.exit_code == 1 and r.stderr.startswith(f"policyd: {missing}: cannot open the policy store (unable to open database file): ")
    assert not_db.read_text() == "hello\n"
