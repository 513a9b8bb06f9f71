"""The prospect behind a lead: what stays the same when a lead is sent again under a new id.

A lottery draw depends on the lead id, so whoever may submit leads could send one
prospect under id after id, closing the misses, until the rep they want wins. The
draw cannot stop that without losing verifiability; making it visible does: every
decision carries its prospect's fingerprint, and a second lead with the fingerprint
of an earlier one is shown as a re-entry (on the dashboard, in the decision and in
the meeting record).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()  # "Acme  Corp " and "acme corp" are one prospect
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value) if value != int(value) else int(value)
    return value


def fingerprint(lead: Mapping[str, Any]) -> str:
    """SHA-256 of the lead's fields without its id, texts compared without case or extra spaces."""
    fields = {k: _norm(v) for k, v in lead.items() if k != "id" and v is not None}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()
