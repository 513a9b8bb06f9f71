"""Concurrency and durability against `policyd serve` in a child process."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from click.testing import CliRunner

from policyd.cli.main import main

from .serve_support import INBOUND, ProcessServer, db_rows, lead, make_token, publish

# every rep can hold 2 leads: 40 places for the whole team
TIGHT = (
    INBOUND.replace("capacity default 25", "capacity default 2").replace("capacity 30", "capacity 2").replace("capacity 15", "capacity 2")
)


def _open_by_decisions(db) -> dict[str, int]:
    rows = db_rows(
        db, "select holder, count(*) from rt_decisions where holder is not null and status in ('assigned', 'accepted') group by holder"
    )
    return dict(rows)


def test_concurrent_assigns_never_exceed_capacity_nor_lose_or_duplicate(tmp_path):
    assert TIGHT != INBOUND
    db = tmp_path / "c.db"
    publish(db, TIGHT)
    tok = make_token(db, "assign")
    ids = [f"K-{i}" for i in range(100)]
    work = ids + ids  # every lead is sent twice, by different clients at the same time
    results: dict[str, list] = {i: [] for i in ids}
    lock = threading.Lock()
    with ProcessServer(db) as srv:
        clients = threading.local()

        def send(i: str):
            if not hasattr(clients, "c"):
                clients.c = srv.client(tok)
            r = clients.c.post("/v1/assign", json=lead(i))
            with lock:
                results[i].append((r.status_code, r.json()))

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(send, work))
        with srv.client(tok) as c:
            reps = c.get("/v1/reps").json()["reps"]
    for i, answers in results.items():
        codes = sorted(code for code, _ in answers)
        assert codes == [200, 201], (i, answers)
        a, b = (body for _, body in answers)
        assert (a["rep"], a["queue"], a["at"]) == (b["rep"], b["queue"], b["at"])
    assert db_rows(db, "select count(*), count(distinct lead_id) from rt_decisions") == [(100, 100)]
    held = Counter(body["rep"] for answers in results.values() for code, body in answers if code == 201 and body["rep"])
    assert sum(held.values()) == 40  # exactly the team's capacity, no more
    assert max(held.values()) == 2
    assert {r["rep"]: r["open"] for r in reps if r["open"]} == dict(held) == _open_by_decisions(db)
    queued = db_rows(db, "select count(*) from rt_decisions where rep is null and queue = 'unassigned'")
    assert queued == [(60,)]
    # one decision, one audit record, and the chain is intact
    assert db_rows(db, "select count(*) from audit where kind = 'assign'") == [(100,)]
    assert CliRunner().invoke(main, ["audit", "verify", "--db", str(db)]).exit_code == 0


def test_answered_assignment_survives_kill_9(tmp_path):
    db = tmp_path / "k.db"
    publish(db)
    tok = make_token(db, "assign")
    answered: dict[str, dict] = {}
    lock = threading.Lock()
    enough = threading.Event()
    srv = ProcessServer(db)
    try:

        def send(n: int):
            with srv.client(tok) as c:
                for i in range(n * 1000, n * 1000 + 60):
                    if enough.is_set():
                        return
                    try:
                        r = c.post("/v1/assign", json=lead(i))
                    except Exception:  # the server was killed under us: that answer never came
                        return
                    if r.status_code == 201:
                        with lock:
                            answered[r.json()["lead_id"]] = r.json()
                            if len(answered) >= 150:
                                if not enough.is_set():
                                    enough.set()
                                    srv.kill9()  # right after an answer, while other requests are in flight

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        if srv.proc.poll() is None:
            srv.kill9()
    assert srv.proc.returncode == -9
    assert len(answered) >= 150
    stored = dict(db_rows(db, "select lead_id, holder from rt_decisions"))
    for lead_id, body in answered.items():
        assert stored.get(lead_id) == body["rep"], lead_id
    state = json.loads(db_rows(db, "select state from rt_team_state")[0][0])
    assert {k: v for k, v in state["open"].items() if v} == _open_by_decisions(db)
    with ProcessServer(db) as again, again.client(tok) as c:
        for lead_id, body in list(answered.items())[:20]:
            assert c.get(f"/v1/decisions/{lead_id}").json()["decision"]["rep"] == body["rep"]
        reps = {r["rep"]: r["open"] for r in c.get("/v1/reps").json()["reps"] if r["open"]}
        assert reps == _open_by_decisions(db)
        # an answered lead sent again is not decided twice
        some = next(iter(answered))
        assert c.post("/v1/assign", json=lead(some.removeprefix("L-"))).status_code == 200
    assert CliRunner().invoke(main, ["audit", "verify", "--db", str(db)]).exit_code == 0
