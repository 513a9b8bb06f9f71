"""Make the SQL dumps of databases written by earlier releases (run by hand, not by pytest).

The migration tests open these dumps with today's code. They were made by the code
as it was, from temporary worktrees of two commits:

    git worktree add --detach /tmp/old-policyd 7a82320    # flat layout, period seeds
    git worktree add --detach /tmp/older-policyd 0f06a3e  # before seed_id/lottery_note
    PYTHONPATH=/tmp/old-policyd .venv/bin/python tests/data/daemon/make_old_databases.py new tests/data/daemon/layout-7a82320.sql
    PYTHONPATH=/tmp/older-policyd .venv/bin/python tests/data/daemon/make_old_databases.py old tests/data/daemon/layout-0f06a3e.sql

Tokens are fixed strings (the tests sign in with them); the clock is fixed, so the
dump is the same every time apart from the random seeds.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from policyd import runtime, store, tokens

ROOT = Path(__file__).resolve().parents[3] if len(Path(__file__).resolve().parents) > 3 else Path.cwd()
POLICY = Path("policies/inbound.policy").read_text(encoding="utf-8")
T0 = 1_795_000_000.0  # 2026-11-18, ISO week 2026-W47
TOKENS = {"read": "pd_fixture-read-token", "assign": "pd_fixture-assign-token", "admin": "pd_fixture-admin-token"}
HIGH = {
    "employees": 1500,
    "budget": "stated",
    "authority": "decision_maker",
    "timing_months": 2,
    "industry": "finance",
    "segment": "enterprise",
}


def lead(i, **over):
    out = {
        "id": f"L-{i}",
        "company": f"Company {i}",
        "employees": 20,
        "budget": "unknown",
        "authority": "info_gathering",
        "industry": "other",
        "segment": "smb",
        "country": "US",
    }
    return out | over


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        return self.t


def build(path: str, with_seeds: bool) -> None:
    s = store.Store(path)
    v1, _ = s.publish("inbound.policy", {"inbound.policy": POLICY}, "first", "dana", now=T0 - 7200)
    v2, _ = s.publish("inbound.policy", {"inbound.policy": POLICY + "\n# tweak\n"}, "second", "erin", now=T0 - 3600)
    s.activate(v2.number, "dana", now=T0 - 3500)
    s.activate(v1.number, "dana", now=T0 - 3400)
    s.close()
    conn = runtime.connect(path)
    tokens.ensure_schema(conn)
    for role, secret in TOKENS.items():  # fixed secrets, stored the way tokens.create stores them
        with conn:
            conn.execute(
                "insert into tokens (name, role, hash, created_at) values (?, ?, ?, ?)",
                (f"{role}-fixture", role, tokens.digest(secret), T0),
            )
    conn.close()
    if with_seeds:
        from policyd import seeds

        seeds.commit(path, "2026-W47", now=T0 - 100)
        seeds.commit(path, "2026-W46", now=T0 - 8 * 86400)
        seeds.reveal(path, "2026-W46", now=T0 - 200)
    clock = Clock()
    rt = runtime.Runtime(path, clock=clock)
    rt.start()
    try:
        for i in range(1, 9):
            rt.assign(lead(i, **(HIGH if i % 3 == 0 else {})), "crm").result()
            clock.t += 60
        rt.accept("L-1", "crm").result()
        rt.close_lead("L-2", "won", "crm").result()
        rt.override("L-4", "quinn", "speaks the customer's language", "ops").result()
        rt.set_away("erin", T0 + 30 * 86400, "holiday", "ops").result()
        clock.t += 2 * 3600 + 1  # the high leads miss their deadline: moved on
        rt.tick().result()
        clock.t += 24 * 3600 + 1  # low leads escalate, high ones move again
        rt.tick().result()
    finally:
        rt.stop()


def main() -> None:
    kind, out = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "old.db")
        build(path, with_seeds=kind == "new")
        conn = sqlite3.connect(path)
        text = "\n".join(conn.iterdump()) + "\n"
        conn.close()
    Path(out).write_text(text, encoding="utf-8")
    print(f"{out}: {text.count('INSERT INTO')} rows")


if __name__ == "__main__":
    main()
