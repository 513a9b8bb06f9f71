"""Three `policyd serve` processes on one PostgreSQL database, under load on two teams, through faults.

The load keeps the reps at capacity (2 leads each) with clients spread over the three
daemons, so a write batch that did not wait for the others would overbook a rep or
collide on the audit chain; the daemons run on the rehearsal clock (cli/clock.py) at
1800x, so the reference policy's 2h SLA passes every four seconds while the faults happen.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage import audit
from policyd.storage.db import connect
from policyd.storage.store import Store

from . import pg_server as servers
from .serve_support import HIGH, INBOUND, ProcessServer, db_rows, lead, make_token

CAP = 2
SMALL = INBOUND.replace("capacity default 25", f"capacity default {CAP}").replace("capacity 30", f"capacity {CAP}")
SMALL = SMALL.replace("capacity 15", f"capacity {CAP}")
REPS = 2 * SMALL.count("\n  rep ")  # the two teams' reps
TEAMS = ("inbound_b2b", "emea")
T0 = "2026-12-08T09:00:00Z"  # the daemons' time when the test starts: a Tuesday morning, far from a week's end
SPEED = 1800  # a high lead's 2h SLA passes in 4 real seconds
SEED = 20261208
WORKERS, MIN_LEADS = 6, 20  # each worker assigns at least MIN_LEADS, and goes on until the faults are over


def _emea(text: str) -> str:
    """The policy as a second team, every rep renamed (a rep belongs to one team)."""
    import re

    from policyd.storage.store import load_bundle

    reps = load_bundle("inbound.policy", {"inbound.policy": text}).compiled.rep_names
    return re.sub(r"\b(" + "|".join(reps) + r")\b", r"eu_\1", text.replace("policy inbound_b2b", "policy emea", 1))


def wait_for(what: str, cond, timeout: float = 90) -> None:
    """Until `cond()` holds (a condition, never a duration); AssertionError naming `what` after a generous timeout."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Load:
    """Clients spread over the daemons: each assigns high leads to its team, closes some it got and accepts others.

    A request is sent again, to any daemon, until one answers (a lost answer's retry gets the stored decision)."""

    def __init__(self, daemons: list[ProcessServer], token: str):
        self.daemons, self.headers = daemons, {"Authorization": f"Bearer {token}"}
        self.answered: dict[str, tuple] = {}  # lead id -> (rep, queue), as first answered
        self.refusals: list[str] = []  # the message of every 503
        self.unexpected: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def call(self, rng: random.Random, path: str, body: dict, done: tuple[int, ...]) -> httpx.Response | None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            srv = self.daemons[rng.randrange(len(self.daemons))]
            try:
                r = httpx.post(srv.url + path, json=body, headers=self.headers, timeout=20)
            except httpx.HTTPError:  # a daemon killed, or being replaced
                time.sleep(0.05)
                continue
            if r.status_code in done:
                return r
            if r.status_code != 503:
                with self.lock:
                    self.unexpected.append(f"{path}: {r.status_code} {r.text}")
                return None
            with self.lock:
                self.refusals.append(r.text)
            time.sleep(0.05)
        with self.lock:
            self.unexpected.append(f"{path}: no daemon answered in 60 s")
        return None

    def work(self, w: int) -> None:
        try:
            self._work(w)
        except Exception as err:  # reported by the test, not lost with the thread
            with self.lock:
                self.unexpected.append(f"worker {w}: {err!r}")

    def _work(self, w: int) -> None:
        rng, team = random.Random(SEED * 100 + w), TEAMS[w % 2]
        base = f"/v1/teams/{team}/decisions"
        held: list[str] = []  # leads answered with a rep, not closed yet
        i = 0
        while i < MIN_LEADS or not self.stop.is_set():
            r = self.call(rng, f"/v1/teams/{team}/assign", lead(f"F-{w}-{i}", **HIGH), (200, 201))
            i += 1
            if r is None:
                continue
            d = r.json()
            with self.lock:
                if self.answered.setdefault(d["lead_id"], (d["rep"], d["queue"])) != (d["rep"], d["queue"]):
                    self.unexpected.append(f"{d['lead_id']} answered {d['rep'] or d['queue']}, first {self.answered[d['lead_id']]}")
            if d["rep"] is not None:
                held.append(d["lead_id"])
            roll = rng.random()
            if roll < 0.15 and held:  # frees a place: the next assignment races for it; 409 once the SLA escalated it
                self.call(rng, f"{base}/{held.pop(rng.randrange(len(held)))}/close", {"outcome": rng.choice(["won", "lost"])}, (200, 409))
            elif roll < 0.3 and held:  # stops its SLA timer (409 when the SLA escalated it first)
                self.call(rng, f"{base}/{rng.choice(held)}/accept", {}, (200, 409))
            time.sleep(rng.uniform(0.005, 0.04))


def _replay(trail: list[tuple[int, str, dict]]) -> tuple[dict[str, str], Counter]:
    """Who holds each open lead, from the audit records alone; and the most each rep ever held at once."""
    holder: dict[str, str] = {}
    load: Counter = Counter()
    peak: Counter = Counter()
    for _, kind, d in trail:
        if kind == "assign" and d["rep"] is not None:
            holder[d["lead_id"]] = d["rep"]
            load[d["rep"]] += 1
        elif kind == "sla_reassign":
            assert holder.pop(d["lead_id"]) == d["from"], d
            load[d["from"]] -= 1
            holder[d["lead_id"]] = d["to"]
            load[d["to"]] += 1
        elif kind in ("sla_escalate", "close") and d["lead_id"] in holder:
            load[holder.pop(d["lead_id"])] -= 1
        for rep, n in load.items():
            peak[rep] = max(peak[rep], n)
    return holder, peak


def test_three_daemons_under_load_on_two_teams_lose_nothing_when_killed_restarted_cut_off_and_dropped(tmp_path, monkeypatch):
    """kill -9 of a daemon at random moments (then restarted), the database server restarted, every connection
    dropped by the server, the database out of reach for a moment, reps at capacity, SLA deadlines passing:
    afterwards every answered lead is stored once, as answered, nobody was ever over capacity, each SLA step
    ran once, the audit verifies, and no request was refused but for the database being out of reach."""
    from policyd.storage.teams import activate_set

    from .pg_server import Proxy

    rng = random.Random(SEED)
    server = servers.start(own=True)  # this test restarts its server: never the one the session shares
    monkeypatch.setenv("POLICYD_SEED_KEY", str(tmp_path / "seed-key"))
    proxy = None
    daemons: list[ProcessServer] = []
    try:
        pg_url = server.create()
        store = Store(pg_url)
        numbers = [
            store.publish(f"{n}.policy", {f"{n}.policy": t}, "test", "tests")[0].number
            for n, t in (("inbound", SMALL), ("emea", _emea(SMALL)))
        ]
        activate_set(store, numbers, "tests")
        store.close()
        tok = make_token(pg_url, "assign")
        proxy = Proxy(pg_url)
        origin = dt.datetime.now(dt.UTC).isoformat()  # every daemon, a restarted one too, keeps one time from here
        clock = {"POLICYD_NOW": T0, "POLICYD_CLOCK_SPEED": str(SPEED), "POLICYD_CLOCK_FROM": origin}

        def start(_: object = None) -> ProcessServer:
            return ProcessServer(proxy.url, "--sla-interval", "0.2", env=clock)

        with ThreadPoolExecutor(3) as pool:
            daemons[:] = pool.map(start, range(3))
        load = Load(daemons, tok)
        workers = [threading.Thread(target=load.work, args=(w,)) for w in range(WORKERS)]
        for t in workers:
            t.start()

        def head() -> int:
            return db_rows(pg_url, "select coalesce(max(seq), 0) from audit")[0][0]

        def busy() -> bool:  # every rep of both teams at capacity once (a lead queued in each), and a deadline passed
            full = db_rows(pg_url, "select count(distinct team) from rt_decisions where rep is null")[0][0]
            return full == len(TEAMS) and db_rows(pg_url, "select count(*) from audit where kind like 'sla_%'")[0][0] > 0

        wait_for("reps at capacity and a first SLA step", busy)
        faults_from = head()
        for fault in ("kill", "drop", "restart", "kill", "cut", "kill"):
            time.sleep(rng.uniform(0.3, 1.5))
            if fault == "kill":
                k = rng.randrange(len(daemons))
                daemons[k].kill9()
                daemons[k] = start()
            elif fault == "drop":
                server.admin("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'policyd'")
            elif fault == "restart":
                server.restart()
            else:
                proxy.cut()
                time.sleep(0.5)
                proxy.restore()
        faults_to = head()
        load.stop.set()
        for t in workers:
            t.join(120)
        assert not any(t.is_alive() for t in workers)
        wait_for(
            "every SLA timer to run out", lambda: db_rows(pg_url, "select count(*) from rt_decisions where deadline is not null")[0][0] == 0
        )
        for d in daemons:
            d.stop()

        assert load.unexpected == []
        answered = load.answered
        assert len(answered) >= WORKERS * MIN_LEADS
        stored = db_rows(pg_url, "select lead_id, rep, queue, holder, status, team, reassigned, tried from rt_decisions")
        assert len(stored) == len({r[0] for r in stored})
        assert {r[0]: (r[1], r[2]) for r in stored} == answered  # each answered lead once, as answered; none unanswered
        assert {r[5] for r in stored} == set(TEAMS)

        trail = [(seq, k, json.loads(d)) for seq, k, d in db_rows(pg_url, "select seq, kind, data from audit order by seq")]
        kinds = Counter(k for _, k, _ in trail)
        assert kinds["assign"] == len(answered) and kinds["reroute"] == 0
        holder, peak = _replay(trail)
        assert set(peak.values()) == {CAP} and len(peak) == REPS, peak  # every rep reached capacity, and nobody ever held more
        held_rows = {r[0]: r[3] for r in stored if r[3] is not None and r[4] in ("assigned", "accepted")}
        assert holder == held_rows  # who holds what: the rows and the audit records agree
        assert max(Counter(held_rows.values()).values(), default=0) <= CAP

        steps = Counter((d["lead_id"], k, d.get("attempt")) for _, k, d in trail if k.startswith("sla_"))
        assert max(steps.values()) == 1, [s for s, n in steps.items() if n > 1]  # no SLA step twice
        during = sum(1 for seq, k, _ in trail if k.startswith("sla_") and faults_from < seq <= faults_to)
        assert during > 0, (len(steps), faults_from, faults_to)  # SLA steps came due while the faults happened
        moves: dict[str, list[str]] = {}
        for _, k, d in trail:
            if k == "sla_reassign":
                assert d["attempt"] == len(moves.setdefault(d["lead_id"], [])) + 1, d
                moves[d["lead_id"]].append(d["to"])
        for lead_id, rep, _, _, status, _, reassigned, tried in stored:  # the timer rows say what the steps did
            assert reassigned == len(moves.get(lead_id, [])) and json.loads(tried) == ([rep] if rep else []) + moves.get(lead_id, [])
            escalated = steps[(lead_id, "sla_escalate", None)]
            assert escalated == (status == "escalated") if status not in ("won", "lost") else escalated <= 1, (lead_id, status)

        other = [m for m in load.refusals if "cannot reach the server" not in m]  # a daemon waits for another's batch
        assert other == [], (len(other), other[:2])  # instead of refusing the request when their writes meet
        assert audit.verify(connect(pg_url))[1] == []
        r = CliRunner().invoke(main, ["audit", "verify", "--db", pg_url])
        assert r.exit_code == 0 and "chain intact" in r.output
    finally:
        for d in daemons:
            d.stop()
        if proxy is not None:
            proxy.close()
        server.stop()
