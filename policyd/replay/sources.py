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


SUFFIX_FORMATS = {".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".csv": "csv", ".tsv": "csv", ".txt": "csv"}
SUFFIX_FORMATS.update({s: "jsonl" for s in JSONL_SUFFIXES})
SNIFF = (",", ";", "\t", "|")


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The source format: by the file's suffix (CSV when none fits), or `fmt` when the suffix says nothing.

    A `fmt` that contradicts the suffix (`format = "csv"` for a `.jsonl` file) is an
    error, not a silent override: one of the two is a mistake."""
    by_suffix = SUFFIX_FORMATS.get(Path(path).suffix.lower())
    if fmt and by_suffix and fmt != by_suffix:
        raise HistoryError(
            f"{path}: the mapping says format = {fmt!r}, but the file name ends in {Path(path).suffix} ({by_suffix}); "
            "expected the two to agree: rename the file or change [source] format"
        )
    return fmt or by_suffix or "csv"


def _not_decoded(err: UnicodeDecodeError, offset: int, encoding: str) -> str:
    """Where a byte did not decode: its offset in the file (not in a read chunk), and what to set."""
    hint = (
        'set [source] encoding = "latin-1" (or "cp1252") in the mapping'
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        else "check [source] encoding"
    )
    return f"not {encoding} text ({err.reason} at byte {offset + err.start} of the file); {hint}"


def _open_bytes(path: str | Path):
    try:
        return open(path, "rb")
    except OSError as err:
        raise HistoryError(f"cannot read lead history {path}: {err.strerror}") from None


def _lines(fh, encoding: str, bad: dict[int, str]) -> Iterator[str]:
    """Decoded lines of a binary file, one at a time; a line that does not decode is read with
    replacement characters and its error kept in `bad` (by line number) for the row holding it."""
    offset = 0
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    for number, raw in enumerate(fh, 1):
        if number == 1 and utf8 and raw.startswith(b"\xef\xbb\xbf"):
            raw, offset = raw[3:], 3
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as err:
            bad[number] = _not_decoded(err, offset, encoding)
            text = raw.decode(encoding, errors="replace")
        offset += len(raw)
        yield text


def sniff_delimiter(header: str) -> str:
    """The delimiter of a CSV header line: the candidate (, ; tab |) it holds most often outside quotes."""
    bare = csv.reader([header])  # quotes removed by reading once with ","
    outside = header if '"' not in header else ",".join(next(bare, []))
    counts = {d: outside.count(d) for d in SNIFF}
    best = max(SNIFF, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class Source:
    """Raw rows as (row number, where, dict or an error text) from one source file."""

    def __init__(
        self,
        path: str | Path,
        fmt: str,
        table: str | None,
        order_by: str | None,
        *,
        delimiter: str | None = ",",
        encoding: str = "utf-8",
    ):
        """`delimiter` None sniffs it from the header line; `encoding` decodes each line on its own,
        so one bad byte rejects its row, not the file."""
        self.path = str(path)
        self.fmt = fmt
        self.table = table
        self.order_by = order_by
        self.encoding = encoding
        self.delimiter = delimiter or ","
        self.columns: list[str] | None = None
        if fmt == "csv":
            bad: dict[int, str] = {}
            with _open_bytes(path) as fh:
                first = next(_lines(fh, encoding, bad), None)
            if bad:
                raise HistoryError(f"{path}: the header line is {bad[1]}")
            if first is None or not first.strip():
                raise HistoryError(f"{path}: empty file; expected a header line of column names")
            if delimiter is None:
                self.delimiter = sniff_delimiter(first.rstrip("\r\n"))
            header = next(csv.reader([first], delimiter=self.delimiter), [])
            self.columns = [h.strip() for h in header]
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
        bad: dict[int, str] = {}
        with _open_bytes(self.path) as fh:
            reader = csv.reader(_lines(fh, self.encoding, bad), delimiter=self.delimiter)
            next(reader, None)
            header = self.columns or []
            width = len(header)
            sep = f" (delimiter {self.delimiter!r})" if self.delimiter != "," else ""
            n = 0
            line = reader.line_num
            try:
                for values in reader:
                    start, line = line + 1, reader.line_num
                    if not values:
                        continue  # a blank line is not a row
                    n += 1
                    if bad:
                        hit = [bad.pop(k) for k in range(start, line + 1) if k in bad]
                        if hit:
                            yield n, f"line {start}", hit[0]
                            continue
                    if len(values) != width:
                        yield n, f"line {start}", f"has {len(values)} values; the header has {width} columns" + sep
                        continue
                    yield n, f"line {start}", dict(zip(header, values))
            except csv.Error as err:
                yield n + 1, f"line {reader.line_num}", f"unreadable CSV: {err}; the rest of the file was not read"

    def _jsonl(self):
        bad: dict[int, str] = {}
        with _open_bytes(self.path) as fh:
            n = 0
            for lineno, line in enumerate(_lines(fh, self.encoding, bad), 1):
                if not line.strip():
                    continue
                n += 1
                if lineno in bad:
                    yield n, f"line {lineno}", bad.pop(lineno)
                    continue
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
