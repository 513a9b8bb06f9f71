"""Rejected rows written out with their reasons (`--rejects`), so none is dropped silently.

CSV keeps the source's columns beside the reason, so the file can be fixed and read
again; JSON Lines keeps each row as it was read.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .records import HistoryError, Reject
from .sources import JSONL_SUFFIXES


class RejectWriter:
    """Rejected rows to a file, with their reasons: CSV (the source's columns kept) or JSON Lines (.jsonl)."""

    def __init__(self, path: str | Path, columns: list[str] | None):
        self.path = str(path)
        self.jsonl = Path(path).suffix.lower() in JSONL_SUFFIXES
        self.columns = columns
        self.count = 0
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(path, "w", encoding="utf-8", newline="")
        except OSError as err:
            raise HistoryError(f"cannot write rejects to {path}: {err.strerror}") from None
        self.writer = None
        if not self.jsonl:
            cols = ["row", "where", "field", "reason"] + (list(columns) if columns else ["source"])
            self.writer = csv.writer(self.fh)
            self.writer.writerow(cols)

    def write(self, r: Reject) -> None:
        self.count += 1
        src = dict(r.source) if r.source is not None else None
        if self.jsonl:
            self.fh.write(
                json.dumps({"row": r.row, "where": r.where, "field": r.field, "reason": r.reason, "source": src}, default=str) + "\n"
            )
            return
        meta = [r.row, r.where, r.field, r.reason]
        if self.columns:
            self.writer.writerow(meta + [("" if src is None else src.get(c, "")) for c in self.columns])
        else:
            self.writer.writerow(meta + [json.dumps(src, default=str) if src is not None else ""])

    def close(self) -> None:
        self.fh.close()
