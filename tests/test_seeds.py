"""Committed lottery seeds: commit, reveal, refuse a seed that fails its commitment."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.lottery import seeds


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "policyd.db")


def test_commit_stores_a_secret_seed_and_its_sha256(db):
    rec = seeds.commit(db, "2026-W48", now=100.0)
    assert len(rec.seed) == 64 and int(rec.seed, 16) >= 0
    assert rec.commitment == hashlib.sha256(rec.seed.encode()).hexdigest()
    assert seeds.commitment_for(db, "2026-W48") == rec.commitment
    assert seeds.seed_for_period(db, "2026-W48") == rec.seed
    assert seeds.commitment_for(db, "2026-W49") is None
    assert not seeds.get(db, "2026-W48").revealed
    # two periods get different seeds
    assert seeds.commit(db, "2026-W49").seed != rec.seed


def test_the_seed_is_not_public_before_reveal(db):
    rec = seeds.commit(db, "2026-W48")
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
    rec = seeds.commit(db, "2026-W48")
    with pytest.raises(seeds.SeedError) as err:
        seeds.commit(db, "2026-W48")
    assert str(err.value) == f"2026-W48 is already committed (commitment {rec.commitment}); a period has one seed"
    assert seeds.seed_for_period(db, "2026-W48") == rec.seed


def _tamper(db: str, period: str, seed: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("update lottery_seeds set seed = ? where period = ?", (seed, period))
    conn.commit()
    conn.close()


def test_a_tampered_seed_is_refused_everywhere(db):
    seeds.commit(db, "2026-W48")
    _tamper(db, "2026-W48", "0" * 64)
    msg = "the seed stored for 2026-W48 does not match its commitment"
    for fn in (seeds.reveal, seeds.seed_for_period, seeds.get):
        with pytest.raises(seeds.SeedError) as err:
            fn(db, "2026-W48")
        assert str(err.value).startswith(msg)
        assert str(err.value).endswith("the database was altered, so this seed is refused")
    assert seeds.periods(db)[0]["intact"] is False
    assert seeds.periods(db)[0]["seed"] is None


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
    r = runner.invoke(main, ["seed", "commit", "--period", "2026-W48", "--db", db])
    assert r.exit_code == 0, r.output
    commitment = r.stdout.strip()
    seed = seeds.seed_for_period(db, "2026-W48")
    assert commitment == hashlib.sha256(seed.encode()).hexdigest()
    assert seed not in r.output
    r = runner.invoke(main, ["seed", "list", "--db", db])
    assert r.stdout == f"2026-W48  {commitment}  secret\n"
    r = runner.invoke(main, ["seed", "reveal", "--period", "2026-W48"], env={"POLICYD_DB": db})
    assert r.exit_code == 0 and r.stdout == seed + "\n"
    assert r.stderr == f"revealed 2026-W48: sha256(seed) = {commitment}\n"


def test_cli_refuses_a_tampered_seed_and_a_bad_period(db):
    runner = CliRunner()
    runner.invoke(main, ["seed", "commit", "--period", "2026-W48", "--db", db])
    _tamper(db, "2026-W48", "f" * 64)
    r = runner.invoke(main, ["seed", "reveal", "--period", "2026-W48", "--db", db])
    assert r.exit_code == 1
    assert "f" * 64 not in r.stdout
    assert r.stderr.startswith("policyd: the seed stored for 2026-W48 does not match its commitment")
    r = runner.invoke(main, ["seed", "commit", "--period", "2026-48", "--db", db])
    assert r.exit_code == 1
    assert r.stderr == "policyd: period '2026-48': expected an ISO week like 2026-W48 (year, -W, two-digit week)\n"
    r = runner.invoke(main, ["seed", "list", "--db", db])
    assert r.stdout.endswith("TAMPERED\n")


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
    r = runner.invoke(main, ["seed", "commit", "--period", "2026-W48", "--db", str(missing)])
    assert r.exit_code == 1 and r.stderr.startswith(f"policyd: {missing}: cannot open the policy store (unable to open database file): ")
    assert not_db.read_text() == "hello\n"
