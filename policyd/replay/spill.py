"""An external sort for `--sort` and row orders without an arrival time: rows go to a
temporary SQLite file and come back in key order, so memory stays flat at any size.

Holding the rows in a list cost about 3.8 KB a row (351 MB for 92,400 rows); here only
a batch of rows and SQLite's page cache are in memory at a time: the table is an
index on (key, order added), so reading it in order needs no sort (benchmarks/bench_sort.py measures it).
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BATCH = 2000  # rows written per transaction
CACHE_KIB = 8192  # SQLite page cache of the spill file (and its sorter's memory), in KiB


class Spill:
    """Rows by (key, order added): `add` them, then iterate once, sorted; `close` removes the file."""

    def __init__(self, directory: str | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="policyd-sort-", dir=directory)
        self.path = Path(self._dir.name) / "rows.db"
        self.con = sqlite3.connect(self.path)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}", "temp_store = FILE"):
            self.con.execute(f"pragma {pragma}")
        # kept in key order as it is written (no sort at the end, whose merge buffers grow with the file)
        self.con.execute("create table rows (k real not null, seq integer not null, row blob not null, primary key (k, seq)) without rowid")
        self.count = 0
        self._batch: list[tuple[float, int, bytes]] = []

    def add(self, key: float, row: Any) -> None:
        self.count += 1
        self._batch.append((key, self.count, pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)))
        if len(self._batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            with self.con:
                self.con.executemany("insert into rows values (?, ?, ?)", self._batch)
            self._batch = []

    def __iter__(self) -> Iterator[Any]:
        """The rows sorted by key; ties keep the order they were added in (a stable sort)."""
        self._flush()
        cur = self.con.execute("select row from rows order by k, seq")
        loads = pickle.loads
        while chunk := cur.fetchmany(BATCH):
            for (blob,) in chunk:
                yield loads(blob)

    def close(self) -> None:
        self.con.close()
        self._dir.cleanup()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SeenIds:
    """Which lead ids were seen, kept in a temporary SQLite file (a set of a million ids would
    cost about 70 MB): `add` answers False for an id seen before. Ids are stored as their
    64-bit hash; two different ids colliding is about 1 in 10^13 for a million ids."""

    def __init__(self, directory: str | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="policyd-ids-", dir=directory)
        self.con = sqlite3.connect(Path(self._dir.name) / "ids.db", isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}"):
            self.con.execute(f"pragma {pragma}")
        self.con.execute("create table ids (h integer primary key)")
        self.con.execute("begin")
        self._insert = "insert or ignore into ids values (?)"

    def add(self, lead_id: str) -> bool:
        return self.con.execute(self._insert, (hash(lead_id),)).rowcount == 1

    def close(self) -> None:
        self.con.close()
        self._dir.cleanup()
