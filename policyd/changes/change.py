"""One change in meaning, as the diff finds it and every output format shows it.

The record is shared by the walk that finds changes (semantic.py) and the report that
groups and renders them (diff.py), so it sits below both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One change: `subject: text (where)`."""

    area: str  # policy | lead | score | tiers | team | exception | route | sla | example
    kind: str  # added | removed | changed | reordered
    subject: str  # "route high", "team", "tier medium"
    text: str  # "lottery 30% -> 25%"
    line: int | None = None  # in the new policy (the old one for a removal)
    file: str = ""  # a `team from` file's name, "" for the policy file
    old_side: bool = False  # the line is in the old policy (a removal)

    @property
    def where(self) -> str:
        if not self.line:
            return ""
        place = f"{self.file} line {self.line}" if self.file else f"line {self.line}"
        return f"was {place}" if self.old_side else place

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.subject}: {self.text}{where}"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["where"] = self.where
        out["summary"] = str(self)
        return out
