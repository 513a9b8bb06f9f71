"""The policy store on a real SQLite file and a real PostgreSQL database: versions, activation, rollback, migrations, concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from policyd.checks.load import load_path
from policyd.cli.main import main
from policyd.storage.store import Store, StoreError, bundle_of, make_bundle

ROOT = Path(__file__).parent.parent
POLICY = ROOT / "policies" / "inbound.policy"


def bundle(text_change: str = "") -> tuple[str, dict[str, str]]:
    text = POLICY.read_text(encoding="utf-8") + text_change
    return "inbound.policy", {"inbound.policy": text}


def test_publish_numbers_versions_and_keeps_them(db_target):
    store = Store(db_target)
    v1, new1 = store.publish(*bundle(), "first", "dana", now=1000.0)
    v2, new2 = store.publish(*bundle("\n# tweak\n"), "second", "erin", now=2000.0)
    assert (v1.number, new1, v1.parent) == (1, True, None)
    assert (v2.number, new2, v2.parent) == (2, True, 1)
    assert [v.number for v in store.versions()] == [2, 1]  # newest first
    assert (v2.author, v2.message, v2.created_at) == ("erin", "second", 2000.0)
    assert v1.hash != v2.hash and len(v1.hash) == 64
    # a fresh connection on the same file sees the same thing
    again = Store(db_target)
    assert again.get("@1") == v1 and again.get(2) == v2 and again.get("@latest") == v2


def test_identical_publish_stores_nothing(db_target):
    store = Store(db_target)
    v1, _ = store.publish(*bundle(), "first", "dana")
    same, created = store.publish(*bundle(), "again", "dana")
    assert (created, same.number) == (False, 1)
    assert len(store.versions()) == 1
    # identical to an older version (not the latest) is a new version: a revert is a change
    store.publish(*bundle("\n# x\n"), "x", "dana")
    v3, created = store.publish(*bundle(), "revert", "dana")
    assert (created, v3.number, v3.hash) == (True, 3, v1.hash)
    assert store.find_hash(v1.hash).number == 1


def test_versions_are_immutable_in_the_database(db_target):
    store = Store(db_target)
    store.publish(*bundle(), "first", "dana")
    store.activate("@1", "dana")
    with pytest.raises(sqlite3.IntegrityError, match="versions are append-only"):
        store.db.execute("update versions set message = 'rewritten'")
    with pytest.raises(sqlite3.IntegrityError, match="versions are append-only"):
        store.db.execute("delete from versions")
    with pytest.raises(sqlite3.IntegrityError, match="activations are append-only"):
        store.db.execute("delete from activations")
    assert store.get("@1").message == "first"


def test_activation_and_rollback_walk_back_through_history(db_target):
    store = Store(db_target)
    for i in range(3):
        store.publish(*bundle(f"\n# v{i}\n"), f"v{i + 1}", "dana")
    assert store.active() is None
    store.activate("@1", "ann", now=10.0)
    store.activate("@2", "bob", now=20.0)
    store.activate("@3", "cat", now=30.0)
    assert store.active().number == 3 and store.get("@previous").number == 2
    before, after = store.rollback("dan", now=40.0)
    assert (before.number, after.number) == (3, 2)
    assert store.get("@previous").number == 1
    before, after = store.rollback("eve", now=50.0)
    assert (before.number, after.number) == (2, 1)
    with pytest.raises(StoreError) as err:
        store.rollback("fay")
    assert str(err.value) == f"there is no previously active version in {store.path}"
    log = store.activation_log()
    assert [(a.number, a.by, a.at, a.previous, a.action) for a in log] == [
        (1, "eve", 50.0, 2, "rollback"),
        (2, "dan", 40.0, 3, "rollback"),
        (3, "cat", 30.0, 2, "activate"),
        (2, "bob", 20.0, 1, "activate"),
        (1, "ann", 10.0, None, "activate"),
    ]
    # activating the active version again records nothing
    store.activate("@1", "gil")
    assert len(store.activations()) == 5


def test_store_errors_are_pinned(tmp_path):
    store = Store(tmp_path / "p.db")
    with pytest.raises(StoreError) as err:
        store.get("@active")
    assert str(err.value) == f"no version is active yet in {store.path}; run `policyd activate @N`"
    store.publish(*bundle(), "first", "dana")
    with pytest.raises(StoreError) as err:
        store.get("@7")
    assert str(err.value) == f"no version 7 in {store.path} (versions are @1..@1)"
    with pytest.raises(StoreError) as err:
        store.get("@head")
    assert str(err.value) == "not a version reference: '@head' (expected @N, @active, @previous or @latest)"
    (tmp_path / "junk.db").write_text("not a database at all, just text" * 100)
    with pytest.raises(StoreError) as err:
        Store(tmp_path / "junk.db")
    assert str(err.value) == (
        f"{tmp_path / 'junk.db'}: not a policyd store (file is not a database): the file holds something else, "
        "or its first page was overwritten; point --db at the policyd database, or restore this one from a backup"
    )
    with pytest.raises(StoreError) as err:
        Store(tmp_path / "no" / "such" / "dir.db")
    assert str(err.value) == (
        f"{tmp_path / 'no' / 'such' / 'dir.db'}: cannot open the policy store (unable to open database file): "
        "check that its directory exists and that this user may write there"
    )


def test_a_store_made_before_migrations_is_upgraded_in_place(tmp_path):
    """The first minimal store had the two tables and no migration record."""
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    db["versions"].create(
        {"number": int, "hash": str, "parent": int, "author": str, "message": str, "created_at": float, "main_file": str, "files": str},
        pk="number",
    )
    db["activations"].create({"id": int, "number": int, "by": str, "at": float, "previous": int}, pk="id")
    main_file, files = bundle()
    import json

    db["versions"].insert(
        dict(number=1, hash="h", parent=None, author="a", message="m", created_at=1.0, main_file=main_file, files=json.dumps(files))
    )
    db["activations"].insert(dict(number=1, by="a", at=2.0, previous=None))
    db.close()
    store = Store(path)
    from policyd.storage.db import migration_names

    assert store.applied_migrations() == migration_names()
    assert store.applied_migrations()[:3] == ["m001_versions_and_activations", "m002_append_only", "m003_activation_action_and_hash_index"]
    assert store.active().number == 1
    assert store.activation_log()[0].action == "activate"
    assert store.get("@1").load().errors == []


def test_bundles_hold_the_team_file_and_load_without_the_disk(tmp_path):
    text = POLICY.read_text(encoding="utf-8")
    start, end = text.index("team {"), text.index("# Exceptions run")
    (tmp_path / ".git").mkdir()  # one repository: the policy and its team folder
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "sales.policy").write_text(text[start:end], encoding="utf-8")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "inbound.policy").write_text(text[:start] + 'team from "../teams/sales.policy"\n\n' + text[end:], encoding="utf-8")
    loaded = load_path(tmp_path / "p" / "inbound.policy")
    assert loaded.errors == []
    main_file, files = bundle_of(loaded)
    assert (main_file, sorted(files)) == ("d0/inbound.policy", ["d0/inbound.policy", "teams/sales.policy"])
    store = Store(tmp_path / "p.db")
    v, _ = store.publish(main_file, files, "split team", "dana")
    (tmp_path / "teams" / "sales.policy").unlink()  # the stored version does not need the disk
    again = store.get(v.number).load()
    assert again.errors == [] and again.label == "@1"
    assert again.compiled.rep_names == loaded.compiled.rep_names
    assert make_bundle("x/y.policy", "T") == ("y.policy", {"y.policy": "T"})


# ---------------------------------------------------------------- two processes at once
def _publisher(path: str, who: str, count: int, start) -> None:
    start.wait()
    store = Store(path)  # opening a fresh file races the migrations too
    for i in range(count):
        main_file, files = bundle(f"\n# {who} {i}\n")
        store.publish(main_file, files, f"{who} {i}", who)


def test_two_processes_publishing_at_once_lose_nothing(db_target):
    path = db_target
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    count = 15
    procs = [ctx.Process(target=_publisher, args=(path, who, count, start)) for who in ("ann", "bob")]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    store = Store(path)
    versions = store.versions()
    assert sorted(v.number for v in versions) == list(range(1, 2 * count + 1))
    assert sorted(v.message for v in versions) == sorted(f"{w} {i}" for w in ("ann", "bob") for i in range(count))
    assert all(v.parent == (v.number - 1 or None) for v in versions)
    assert len({v.hash for v in versions}) == 2 * count


# ---------------------------------------------------------------- the commands
def run(args, db, **kw):
    return CliRunner().invoke(main, [*args, "--db", str(db)], catch_exceptions=False, **kw)


def test_publish_activate_rollback_commands(db_target, tmp_path):
    db = db_target
    r = run(["publish", str(POLICY), "-m", "first", "--author", "dana"], db)
    assert (r.exit_code, r.stdout) == (0, "@1\n")  # the reference's A009 note (high falls back to medium) is shown
    assert r.stderr.endswith(f"{POLICY}: published as @1; 0 errors, 0 warnings, 1 note\n")
    r = run(["publish", str(POLICY), "-m", "again", "--author", "dana"], db)
    assert r.exit_code == 0 and r.stderr.endswith(f"{POLICY}: identical to the latest version @1; nothing stored\n")
    changed = tmp_path / "inbound.policy"
    changed.write_text(POLICY.read_text().replace("lottery 30%", "lottery 25%"))
    assert run(["publish", str(changed), "-m", "less lottery", "--author", "erin"], db).stdout == "@2\n"
    r = run(["activate", "@1", "--by", "ann"], db)
    assert (r.stdout, r.stderr) == ("@1\n", "@1 is now active\n")
    r = run(["activate", "@2", "--by", "bob"], db)
    assert r.stderr == "@2 is now active (was @1)\n"
    lines = run(["versions"], db).stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["@2", "@1"]
    assert lines[0].endswith("erin: less lottery  (active)") and lines[1].endswith("dana: first")
    r = run(["diff", "@previous", "@active", "--no-impact"], db)
    assert r.stdout == "@1 -> @2: 1 change in meaning\nroute high: lottery 30% -> 25% (line 116)\n"
    r = run(["rollback", "--by", "cat"], db)
    assert (r.stdout, r.stderr) == ("@1\n", "rolled back from @2 to @1\n")
    log = run(["versions", "--activations"], db).stdout.splitlines()
    assert [line.split("UTC  ")[1] for line in log] == ["cat rolled back to @1 (was @2)", "bob activated @2 (was @1)", "ann activated @1"]
    r = run(["rollback"], db)
    assert (r.exit_code, r.stderr) == (1, f"policyd: there is no previously active version in {db}\n")
    shown = run(["show", "@active"], db).stdout
    assert shown.startswith("version  @1  (active)\n") and "author   dana\n" in shown and "==> inbound.policy <==" in shown
    assert run(["show", "@2", "--raw"], db).stdout == changed.read_text()


def test_publish_refuses_a_policy_with_errors(tmp_path):
    db = tmp_path / "cli.db"
    bad = tmp_path / "bad.policy"
    bad.write_text(POLICY.read_text().replace("otherwise route medium", "otherwise route mediun"))
    r = run(["publish", str(bad), "-m", "typo", "--author", "dana"], db)
    assert r.exit_code == 1
    assert f"{bad}: 1 error, 0 warnings; fix the errors first" in r.stderr
    assert "mediun" in r.stderr  # the diagnostic itself is printed
    assert not db.exists() or Store(db).versions() == []


def test_store_commands_need_an_existing_store(tmp_path):
    db = tmp_path / "none.db"
    r = run(["versions"], db)
    assert (r.exit_code, r.stderr) == (1, f"policyd: no policy store at {db} (publish first, or point --db / POLICYD_DB at one)\n")
    assert not db.exists()
    r = CliRunner().invoke(main, ["show", "@1"], env={"POLICYD_DB": str(db)})
    assert r.stderr == f"policyd: @1: no policy store at {db} (publish first, or point --db / POLICYD_DB at one)\n"


def test_publish_shows_warnings_and_publishes(tmp_path):
    db = tmp_path / "cli.db"
    warned = tmp_path / "warned.policy"
    warned.write_text(POLICY.read_text().replace("prefer veteran", "prefer veteren"))
    r = run(["publish", str(warned), "-m", "typo in a level", "--author", "dana"], db)
    assert (r.exit_code, r.stdout) == (0, "@1\n")
    assert "warning N003: no rep has level `veteren`" in r.stderr
    assert r.stderr.endswith(f"{warned}: published as @1; 0 errors, 1 warning, 1 note\n")
