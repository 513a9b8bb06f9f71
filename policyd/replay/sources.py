"""Raw rows from one source file, CSV, JSON Lines or a SQLite table, and the lookup tables.

Reading is separate from mapping: a source yields (row number, where, dict) or an
error text for a row it cannot read, one at a time; it knows nothing of the policy.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .mapping import Lookup
from .records import HistoryError, MappingError

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")  # read as JSON Lines, and rejects written as such


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The source format: `fmt` when given, else by the file's suffix (CSV when none fits)."""
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return "sqlite"
    return "csv"


def _not_utf8(path: str | Path, err: UnicodeDecodeError) -> str:
    return f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); export the file as UTF-8"


def _open_text(path: str | Path):
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise HistoryError(f"cannot read lead history {path}: {err.strerror}") from None


class Source:
    """Raw rows as (row number, where, dict or an error text) from one source file."""

    def __init__(self, path: str | Path, fmt: str, table: str | None, order_by: str | None):
        self.path = str(path)
        self.fmt = fmt
        self.table = table
        self.order_by = order_by
        self.columns: list[str] | None = None
        if fmt == "csv":
            with _open_text(path) as fh:
                try:
                    header = next(csv.reader(fh), None)
                except UnicodeDecodeError as err:
                    raise HistoryError(_not_utf8(path, err)) from None
            if header is None:
                raise HistoryError(f"{path}: empty file; expected a header line of column names")
            self.columns = header
        elif fmt == "sqlite":
            self._check_sqlite()

    def _connect(self) -> sqlite3.Connection:
        p = Path(self.path)
        if not p.is_file():
            raise HistoryError(f"cannot read lead history {self.path}: No such file or directory")
        return sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)

    def _check_sqlite(self) -> None:
        if not self.table:
            raise HistoryError(f"{self.path}: a SQLite history needs a table: set [source] table in the mapping or pass --table")
        con = self._connect()
        try:
            tables = [r[0] for r in con.execute("select name from sqlite_master where type in ('table', 'view') order by name")]
        except sqlite3.DatabaseError as err:
            raise HistoryError(f"{self.path}: not a SQLite database ({err})") from None
        finally:
            con.close()
        if self.table not in tables:
            raise HistoryError(f"{self.path}: no table {self.table!r}; the tables are: {', '.join(tables) or 'none'}")
        con = self._connect()
        try:
            self.columns = [r[1] for r in con.execute(f'pragma table_info("{self.table}")')]
        finally:
            con.close()

    def size_hint(self) -> int | None:
        """Rows to expect (for a progress bar): counted without parsing."""
        if self.fmt == "sqlite":
            con = self._connect()
            try:
                return con.execute(f'select count(*) from "{self.table}"').fetchone()[0]
            finally:
                con.close()
        n = 0
        with open(self.path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                n += chunk.count(b"\n")
        return max(n - (1 if self.fmt == "csv" else 0), 0)

    def __iter__(self) -> Iterator[tuple[int, str, Any]]:
        if self.fmt == "csv":
            yield from self._csv()
        elif self.fmt == "jsonl":
            yield from self._jsonl()
        else:
            yield from self._sqlite()

    def _csv(self):
        with _open_text(self.path) as fh:
            reader = csv.reader(fh)
            header = next(reader, None) or []
            width = len(header)
            n = 0
            line = reader.line_num
            try:
                for values in reader:
                    start, line = line + 1, reader.line_num
                    if not values:
                        continue  # a blank line is not a row
                    n += 1
                    if len(values) != width:
                        yield n, f"line {start}", f"has {len(values)} values; the header has {width} columns"
                        continue
                    yield n, f"line {start}", dict(zip(header, values))
            except csv.Error as err:
                yield n + 1, f"line {reader.line_num}", f"unreadable CSV: {err}; the rest of the file was not read"
            except UnicodeDecodeError as err:  # the file as a whole is unusable: stop, naming it
                raise HistoryError(_not_utf8(self.path, err)) from None

    def _jsonl(self):
        with _open_text(self.path) as fh:
            n = 0
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                n += 1
                try:
                    obj = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as err:
                    yield n, f"line {lineno}", f"not valid JSON: {err.msg} (column {err.colno})"
                    continue
                if not isinstance(obj, dict):
                    yield n, f"line {lineno}", "expected a JSON object per line"
                    continue
                yield n, f"line {lineno}", obj

    def _sqlite(self):
        con = self._connect()
        con.row_factory = sqlite3.Row
        try:
            order = f' order by "{self.order_by}", rowid' if self.order_by else " order by rowid"
            cur = con.execute(f'select rowid as "__rowid__", * from "{self.table}"{order}')
            for n, r in enumerate(cur, 1):
                d = dict(r)
                yield n, f"rowid {d.pop('__rowid__')}", d
        finally:
            con.close()


def load_lookup(lk: Lookup, base: Path, file: str) -> dict[str, dict]:
    path = Path(lk.file) if Path(lk.file).is_absolute() else base / lk.file
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise MappingError(f"{file}: lookups.{lk.name}.file: cannot read {path}: {err.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        if lk.key not in (reader.fieldnames or []):
            raise MappingError(
                f"{file}: lookups.{lk.name}.key: {lk.key!r} is not a column of {path.name}; expected one of {', '.join(reader.fieldnames or [])}"
            )
        return {row[lk.key].strip(): row for row in reader}
