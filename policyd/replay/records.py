"""What reading a lead history yields, a mapped row or a reject, and the errors that stop it.

Below the mapping, the readers and the history, which all produce or raise these, so
none of them has to import another for its results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class MappingError(ValueError):
    """A mapping file (or a lookup it names) that cannot be used: says file, key and what was expected."""


class HistoryError(ValueError):
    """A history source that cannot be read at all (missing file, unknown table)."""


@dataclass(slots=True)
class HistoryRow:
    """One past lead, mapped: the lead for the policy plus what history says about it."""

    row: int  # 1-based record number in the source
    where: str  # "line 17" / "rowid 17": where to look in the source
    lead: dict[str, Any]
    lead_id: str
    arrival: float | None  # seconds since the epoch, UTC; None only when the source has no arrival column (`arrival_optional`)
    assignee: str | None = None  # the rep it historically went to (mapped to a rep name)
    outcome: str | None = None  # "won", "lost" or None (still open / unknown)
    value: float | None = None
    closed_at: float | None = None
    source: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Reject:
    """A row that was not replayed, and why."""

    row: int
    where: str
    field: str
    reason: str
    source: Mapping[str, Any] | None = None
    errors: tuple[tuple[str, str], ...] = ()  # every (field, reason) of the row when more than one was bad

    @property
    def fields(self) -> tuple[str, ...]:
        """Every bad field of the row (one entry per field, in mapping order)."""
        return tuple(f for f, _ in self.errors) if self.errors else (self.field,)

    def message(self, file: str) -> str:
        """`file:LINE: field: reason` (gcc style), or `file: rowid N: ...` for SQLite; every bad field of the row."""
        at = f"{file}:{self.where[5:]}:" if self.where.startswith("line ") else f"{file}: {self.where}:"
        if len(self.errors) > 1:
            return f"{at} " + "; ".join(f"{f}: {r}" for f, r in self.errors)
        return f"{at} {self.field}: {self.reason}" if self.field else f"{at} {self.reason}"


class RowError(ValueError):
    """One bad field of a row; `errors` holds every bad field when the row had several."""

    def __init__(self, field: str, reason: str, errors: tuple[tuple[str, str], ...] = ()):
        self.field = field
        self.reason = reason
        self.errors = errors
        super().__init__(f"{field}: {reason}")

    @classmethod
    def of(cls, errors: list[tuple[str, str]]) -> RowError:
        """One error standing for all the row's: the first field and reason, and the whole list."""
        field, reason = errors[0]
        return cls(field, reason, tuple(errors) if len(errors) > 1 else ())
