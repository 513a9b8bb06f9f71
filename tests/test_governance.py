"""Four eyes on versions, scheduled activations and reviews that come due, through the store and the CLI (docs/governance.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage import approvals, audit, reviews, schedule
from policyd.storage.db import connect
from policyd.storage.store import Store

from .serve_support import INBOUND

ROOT = Path(__file__).parent.parent
REPLAY = ROOT / "tests" / "data" / "replay"


def day(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def with_clauses(*clauses: str, text: str = INBOUND) -> str:
    """The reference policy with governance clauses added to its header."""
    lines = "".join(f"  {c}\n" for c in clauses)
    return text.replace("  review every 3 months\n", "  review every 3 months\n" + lines, 1)


def publish(db: Path, text: str, author: str, name: str = "inbound.policy") -> int:
    store = Store(db)
    try:
        return store.publish(name, {name: text}, "test", author)[0].number
    finally:
        store.close()


def cli(db: Path, *args: str, now: str | None = None):
    """The CLI on `db`; `now` sets its clock (POLICYD_NOW), else it reads the real one."""
    env = {"POLICYD_DB": str(db), "POLICYD_NOW": now}
    return CliRunner().invoke(main, [*args], env=env)


def audit_kinds(db: Path) -> list[tuple[str, str]]:
    return [(r["kind"], r["actor"]) for r in audit.records(connect(str(db)))]


def test_an_activation_is_refused_without_approval_self_approval_is_refused_and_another_actor_approves(db_target):
    db = db_target  # a SQLite file, then a PostgreSQL database
    n = publish(db, with_clauses("approve versions by another"), "dana")
    refused = cli(db, "activate", f"@{n}", "--by", "dana")
    assert refused.exit_code == 2
    assert (
        f"policyd: @{n} needs approval by someone other than its publisher dana before it can be activated "
        f"(the policy says `approve versions by another`): run `policyd approve @{n} --by NAME`"
    ) in refused.stderr
    assert Store(db).active() is None
    listed = cli(db, "approvals", "--format", "json")
    assert [(x["kind"], x["ref"], x["publisher"]) for x in json.loads(listed.stdout)] == [("version", f"@{n}", "dana")]
    selfish = cli(db, "approve", f"@{n}", "--by", "dana")
    assert selfish.exit_code == 2
    assert "dana published @1, so dana cannot approve it: a version is approved by someone other than its publisher" in selfish.stderr
    assert Store(db).active() is None
    ok = cli(db, "approve", f"@{n}", "--by", "lee", "--note", "read in PR 12")
    assert ok.exit_code == 0, ok.stderr
    assert ok.stderr.strip() == f"@{n} approved by lee (published by dana); it can now be activated"
    again = cli(db, "approve", f"@{n}", "--by", "kim")
    assert again.exit_code == 0 and "was approved already, by lee" in again.stderr
    assert cli(db, "approvals").stdout == "nothing waits for approval\n"
    done = cli(db, "activate", f"@{n}", "--by", "dana")
    assert done.exit_code == 0, done.stderr
    assert Store(db).active().number == n
    assert audit_kinds(db) == [("approve_version", "lee")]
    record = next(audit.records(connect(str(db))))
    assert record["data"] == {"version": n, "policy": "inbound_b2b", "publisher": "dana", "note": "read in PR 12"}
    assert audit.verify(connect(str(db)))[1] == []


def test_a_version_that_drops_the_clause_still_needs_approval_while_the_active_one_states_it(db_target):
    db = db_target  # a SQLite file, then a PostgreSQL database
    first = publish(db, with_clauses("approve versions by another"), "dana")
    approvals.approve_version(Store(db), first, "lee")
    assert cli(db, "activate", f"@{first}").exit_code == 0
    second = publish(db, INBOUND, "dana")  # the clause removed: a change a second person must see
    refused = cli(db, "activate", f"@{second}", "--by", "dana")
    assert refused.exit_code == 2 and "needs approval" in refused.stderr
    assert Store(db).active().number == first


def test_a_policy_without_the_clause_activates_as_before_and_approving_it_is_refused(tmp_path):
    db = tmp_path / "p.db"
    n = publish(db, INBOUND, "dana")
    res = cli(db, "approve", f"@{n}", "--by", "lee")
    assert res.exit_code == 2
    assert "needs no approval: neither it nor the active version says `approve versions by another`" in res.stderr
    assert cli(db, "activate", f"@{n}", "--by", "dana").exit_code == 0


NOW = "2026-01-05T08:00:00Z"  # the CLI's clock in the schedule tests (POLICYD_NOW), a Monday


def test_a_schedule_is_checked_when_made_and_listed_and_cancelled(db_target):
    db = db_target  # a SQLite file, then a PostgreSQL database
    n = publish(db, with_clauses("approve versions by another"), "dana")
    soon = "2026-01-05T09:00:00Z"  # an hour after the CLI's clock
    refused = cli(db, "activate", f"@{n}", "--at", soon, "--by", "dana", now=NOW)
    assert refused.exit_code == 2 and "needs approval" in refused.stderr  # refused now, not at 09:00 on the day
    approvals.approve_version(Store(db), n, "lee")
    bad = cli(db, "activate", f"@{n}", "--at", "next monday", now=NOW)
    assert bad.exit_code == 2 and "'next monday' is not a time: expected ISO 8601 such as 2026-12-07T09:00:00Z" in bad.stderr
    ok = cli(db, "activate", f"@{n}", "--at", soon, "--by", "dana", now=NOW)
    assert ok.exit_code == 0, ok.stderr
    assert "@1 will become active at 2026-01-05 09:00:00 UTC" in ok.stderr
    sid = ok.stdout.strip().removeprefix("#")
    assert Store(db).active() is None  # nothing active before its time
    assert cli(db, "schedule", now=NOW).stdout == f"#{sid}  2026-01-05 09:00:00 UTC  @1  by dana  pending\n"
    assert cli(db, "schedule", "cancel", sid, "--by", "kim", now="2026-01-05T08:30:00Z").exit_code == 0
    assert cli(db, "schedule", now=NOW).stdout == "no activation is scheduled\n"
    again = cli(db, "schedule", "cancel", sid, now=NOW)
    assert again.exit_code == 2 and f"scheduled activation {sid} is cancelled already" in again.stderr
    assert [k for k, _ in audit_kinds(db)] == ["approve_version", "schedule", "schedule_cancelled"]
    at = {r["kind"]: r["at"] for r in audit.records(connect(str(db)))}
    assert (at["schedule"], at["schedule_cancelled"]) == (day("2026-01-05T08:00:00"), day("2026-01-05T08:30:00"))  # the CLI's clock


def test_a_schedule_in_the_past_by_the_cli_clock_is_refused(tmp_path):
    db = tmp_path / "p.db"
    n = publish(db, INBOUND, "dana")
    past = cli(db, "activate", f"@{n}", "--at", "2026-01-05T07:59:00Z", "--by", "dana", now=NOW)
    assert past.exit_code == 2
    assert (
        "the time to activate at must be in the future (it is 2026-01-05 07:59:00 UTC; now is 2026-01-05 08:00:00 UTC);"
        " activate now with `policyd activate`"
    ) in past.stderr
    at_now = cli(db, "activate", f"@{n}", "--at", NOW, now=NOW)
    assert at_now.exit_code == 2 and "must be in the future" in at_now.stderr
    assert cli(db, "activate", f"@{n}", "--at", "2026-01-05T08:01:00Z", now=NOW).exit_code == 0  # a minute ahead is the future
    assert [k for k, _ in audit_kinds(db)] == ["schedule"]


def test_the_cli_clock_sets_check_s_review_date_and_a_bad_one_is_refused_in_words(tmp_path):
    db = tmp_path / "p.db"
    text = (REPLAY / "tiny.policy").read_text(encoding="utf-8")  # review every 3 months
    n = publish(db, text, "dana", "tiny.policy")
    assert cli(db, "activate", f"@{n}", "--by", "dana", now="2026-01-15T10:00:00Z").exit_code == 0
    assert Store(db).activation_log()[0].at == day("2026-01-15T10:00:00")
    assert "G001" not in cli(db, "check", "@active", now="2026-04-14T00:00:00Z").stderr
    warned = cli(db, "check", "@active", now="2026-04-20")  # --as-of's default is the CLI's clock
    assert "has been active since 2026-01-15, so it was due 2026-04-15, 4 days ago" in warned.stderr
    for bad, said in (
        ("next monday", "POLICYD_NOW='next monday' is not a time: expected ISO 8601 with a zone, such as 2026-12-07T09:00:00Z"),
        ("2026-01-05T08:00:00", "POLICYD_NOW='2026-01-05T08:00:00' has no zone: add Z or an offset such as +01:00"),
    ):
        r = cli(db, "activate", f"@{n}", "--at", "2026-01-06T09:00:00Z", now=bad)
        assert (r.exit_code, "Traceback" in r.output) == (1, False) and said in r.stderr, r.output
        assert said in cli(db, "check", "@active", now=bad).stderr


def test_version_as_of_reads_the_activation_log_and_the_schedule(tmp_path):
    db = tmp_path / "p.db"
    one = publish(db, INBOUND, "dana")
    two = publish(db, INBOUND.replace("lottery 30%", "lottery 25%"), "dana")
    store = Store(db)
    store.activate(one, "dana", now=day("2026-01-05"))
    schedule.schedule(store, [two], day("2026-03-02"), "dana", now=day("2026-02-01"))
    assert store.active().number == one
    assert schedule.version_as_of(store, "inbound_b2b", day("2026-02-15")).number == one
    assert schedule.version_as_of(store, "inbound_b2b", day("2026-03-02")).number == two  # will be active then


def test_the_review_comes_due_three_months_after_activation_and_recording_it_starts_again(db_target):
    db = db_target  # a SQLite file, then a PostgreSQL database
    text = (REPLAY / "tiny.policy").read_text(encoding="utf-8")  # review every 3 months
    n = publish(db, text, "dana", "tiny.policy")
    store = Store(db)
    store.activate(n, "dana", now=day("2026-01-15T10:00:00"))
    v = store.get(n)
    assert reviews.review_due(store, v, day("2026-04-14")) is None
    due = reviews.review_due(store, v, day("2026-04-20"))
    assert (due["due_at"], due["days_over"]) == (day("2026-04-15T10:00:00"), 4)
    quiet = cli(db, "check", "@active", "--as-of", "2026-04-14")
    assert quiet.exit_code == 0 and "G001" not in quiet.stderr
    warned = cli(db, "check", "@active", "--as-of", "2026-04-20")
    assert warned.exit_code == 0  # a warning: --strict makes it fail
    assert (
        "warning G001: review due: @1 says `review every 3 months` and has been active since 2026-01-15, so it was due 2026-04-15, 4 days ago"
    ) in warned.stderr
    assert cli(db, "check", "@active", "--as-of", "2026-04-20", "--strict").exit_code == 1
    leads = ["--leads", str(REPLAY / "tiny.csv"), "--map", str(REPLAY / "tiny.map.toml")]
    rec = cli(db, "review", "@active", str(REPLAY / "tiny-v2.policy"), *leads, "--record", "--by", "lee", "--as-of", "2026-04-21")
    assert rec.exit_code == 0, rec.stderr
    assert "recorded as the review of @1 by lee (2026-04-21 00:00:00 UTC); its review period starts again" in rec.stderr
    assert "G001" not in cli(db, "check", "@active", "--as-of", "2026-07-20").stderr
    later = cli(db, "check", "@active", "--as-of", "2026-07-22")
    assert "and was last reviewed 2026-04-21, so it was due 2026-07-21, 1 day ago" in later.stderr
    assert audit_kinds(db) == [("review", "lee")]
    not_stored = cli(db, "review", str(REPLAY / "tiny.policy"), str(REPLAY / "tiny-v2.policy"), *leads, "--record")
    assert not_stored.exit_code == 2 and "--record records the review of a stored version" in not_stored.stderr


def test_a_database_of_the_previous_release_migrates_forward_and_takes_approvals(tmp_path):
    """The dumps were made before m017: they open with the governance table, every earlier row kept."""
    import sqlite3

    from policyd.storage import db as dbfile

    path = tmp_path / "old.db"
    conn = sqlite3.connect(str(path))
    conn.executescript((ROOT / "tests" / "data" / "daemon" / "layout-7a82320.sql").read_text(encoding="utf-8"))
    conn.close()
    before = sqlite3.connect(str(path)).execute("select count(*) from audit").fetchone()[0]
    migrated = connect(str(path))
    assert "m017_governance" in dbfile.applied(migrated) and dbfile.applied(migrated)[-1] == dbfile.migration_names()[-1]
    assert [r[1] for r in migrated.execute("pragma table_info(governance)")] == [
        "id",
        "kind",
        "subject",
        "data",
        "by",
        "at",
        "due",
        "status",
        "decided_by",
        "decided_at",
    ]
    store = Store(path)
    n = store.publish("inbound.policy", {"inbound.policy": with_clauses("approve versions by another")}, "m", "dana")[0].number
    assert [x["version"] for x in approvals.pending_versions(store)] == [n]
    approvals.approve_version(store, n, "lee")
    assert approvals.pending_versions(store) == []
    assert audit.verify(migrated) == (before + 1, [])


def test_replay_reads_at_active_as_of_a_date_through_the_schedule(tmp_path):
    db = tmp_path / "p.db"
    text = (REPLAY / "tiny.policy").read_text(encoding="utf-8")
    one = publish(db, text, "dana", "tiny.policy")
    two = publish(db, text.replace('"Tiny team"', '"Tiny team, second"'), "dana", "tiny.policy")
    store = Store(db)
    store.activate(one, "dana", now=day("2026-01-05"))
    schedule.schedule(store, [two], day("2026-03-02"), "dana", now=day("2026-02-01"))
    leads = ["--leads", str(REPLAY / "tiny.csv"), "--map", str(REPLAY / "tiny.map.toml"), "--format", "json"]
    before = cli(db, "replay", "@active", *leads, "--as-of", "2026-02-10")
    assert before.exit_code == 0, before.stderr
    assert "@active as of 2026-02-10 00:00:00 UTC: @1" in before.stderr
    after = cli(db, "replay", "@active", *leads, "--as-of", "2026-03-02T09:00:00Z")
    assert "@active as of 2026-03-02 09:00:00 UTC: @2" in after.stderr
    never = cli(db, "replay", "@active", *leads, "--as-of", "2025-12-01")
    assert never.exit_code == 2 and "no version of tiny was active, or is scheduled to be, at 2025-12-01 00:00:00 UTC" in never.stderr


def test_the_semantic_diff_names_each_clause_added_or_removed_at_its_line(tmp_path):
    old, new = tmp_path / "old.policy", tmp_path / "new.policy"
    old.write_text(INBOUND, encoding="utf-8")
    new.write_text(with_clauses("approve versions by another", "approve overrides of lottery"), encoding="utf-8")
    res = CliRunner().invoke(main, ["diff", str(old), str(new)])
    assert "policy: `approve overrides of lottery` added (line 10)" in res.stdout
    assert "policy: `approve versions by another` added (line 9)" in res.stdout
    back = CliRunner().invoke(main, ["diff", str(new), str(old)])
    assert "policy: `approve versions by another` removed (was line 9)" in back.stdout
