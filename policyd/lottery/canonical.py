"""What a lottery record is as data: its format name, canonical bytes and id.

Below every reader and writer of records, so the page, the store and the
verification hash the same bytes and refuse bad input with the same error.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

RECORD_FORMAT = "policyd-lottery-record/1"
_ID = re.compile(r"^[0-9a-f]{64}$")


class RecordError(ValueError):
    """A record or decision file that cannot be read or used; the message says why."""


class RecordNotFound(RecordError, KeyError):
    """No record with that id (the daemon answers 404)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _script_safe(text: str) -> str:
    """JSON text with `<`, `>` and `&` as \\u escapes: safe inside <script>, parsed back the same."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def canonical(record: dict) -> bytes:
    """The bytes the id is computed from: sorted keys, no spaces, UTF-8, and `<`, `>`, `&` as \\u escapes.

    The escapes (legal only inside JSON strings, and parsed back to the same
    characters) let the page embed these exact bytes in a <script> element, so a
    browser can hash the embedded text and compare it with the id.
    """
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _script_safe(text).encode("utf-8")


def record_id(record: dict) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def _json(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise RecordError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
