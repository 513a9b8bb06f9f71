"""The writer's retries of an operation that met a busy team lock (LockBusy), on a real SQLite file.

A batch that fails as a whole at its end puts every operation back once, even one that
was already put back inside it; a stop answers every operation put back; and a lock
still busy after MAX_TRIES is refused in words without marking the storage as failing.
"""

from __future__ import annotations

import sqlite3

import pytest

from policyd.daemon.writer import MAX_TRIES, Tx, Writer
from policyd.storage.engines import LockBusy
from policyd.storage.errors import StorageFailure
from policyd.storage.health import StorageHealth


class Fake(Writer):
    """A writer over one table, whose batch end can be made to meet a busy lock."""

    def __init__(self, path, busy_ends: int = 0):
        super().__init__()
        self.path = str(path)
        self.clock = lambda: 1_800_000_000.0
        self.health = StorageHealth(self.path)
        self.busy_ends = busy_ends

    def open(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("create table if not exists done (name text)")

    def begin(self, conn, log_, now) -> Tx:
        return Tx(conn, log_, now, {}, {})

    def finish(self, tx: Tx) -> None:
        if self.busy_ends:
            self.busy_ends -= 1
            raise LockBusy("another writer holds it")
        super().finish(tx)


def _insert(name: str, busy_first: int = 0):
    left = [busy_first]

    def op(tx: Tx) -> str:
        if left[0]:
            left[0] -= 1
            raise LockBusy("another writer holds it")
        tx.conn.execute("insert into done (name) values (?)", (name,))
        return name

    return op


def test_a_batch_that_fails_at_its_end_runs_each_operation_once_again(tmp_path):
    w = Fake(tmp_path / "w.db", busy_ends=1)
    a = w.submit(_insert("a", busy_first=1))  # put back inside the batch, then with the whole batch
    b = w.submit(_insert("b"))
    w.start()
    try:
        assert (a.result(timeout=10), b.result(timeout=10)) == ("a", "b")
        w.call(lambda tx: None)
        rows = sorted(r[0] for r in w.conn.execute("select name from done"))
    finally:
        w.stop()
    assert rows == ["a", "b"]


def test_a_stop_answers_the_operations_put_back_and_a_busy_lock_is_not_a_storage_failure(tmp_path):
    w = Fake(tmp_path / "w.db")
    busy = w.submit(_insert("never", busy_first=MAX_TRIES + 5))
    w._queue.put(None)  # the stop `stop()` sends, queued before the thread runs: it arrives in the same batch
    w.start()
    err = busy.exception(timeout=10)
    w.stop()
    assert isinstance(err, StorageFailure)
    assert str(err) == f"the team's lock was busy through {MAX_TRIES} tries (other daemons hold it); nothing was recorded, send it again"
    assert w.retries == MAX_TRIES and w.health.failing is False


@pytest.mark.parametrize("busy_first", [1, 3])
def test_an_operation_put_back_commits_in_a_later_batch(tmp_path, busy_first):
    w = Fake(tmp_path / "w.db")
    w.start()
    try:
        assert w.submit(_insert("late", busy_first=busy_first)).result(timeout=10) == "late"
        assert w.retries == busy_first and w.health.failing is False
    finally:
        w.stop()
