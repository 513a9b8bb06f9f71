"""JSON at the boundary: read only what every later stage can store and send back; echo anything safely.

`loads` is the one reader of request bodies and lead files. Python's `json`
accepts NaN and Infinity, lets 1e400 become infinity, keeps lone UTF-16
surrogates and turns a 5,000-digit integer into a ValueError; each of these
later made an answer unencodable (a 500, for good once stored). Here each is
refused with the JSON path where it was found and what was expected.

`safe` makes any value encodable for an error body that echoes it: texts are
cut and their lone surrogates escaped, non-finite numbers and huge integers
become words.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 32  # objects and lists inside each other; a lead is flat
MAX_INT_DIGITS = 64  # far beyond any count or amount, far below Python's 4,300-digit limit
MAX_PROBLEMS = 10
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class JsonRefused(ValueError):
    """A text that is not JSON, or JSON this service does not take; `problems` are (path, message) pairs."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None, at: tuple[int, int, str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.at = at  # (line, column, reason) of malformed JSON

    def fields(self) -> list[dict[str, str]]:
        return [{"field": p, "message": m} for p, m in self.problems]


@dataclass(frozen=True)
class _Bad:
    """A number the parser met that must be refused; reported with its path after parsing."""

    message: str


def _constant(token: str) -> _Bad:
    return _Bad(f"{token} is not a JSON number; expected a finite number")


def _float(text: str) -> float | _Bad:
    value = float(text)
    if not math.isfinite(value):
        return _Bad(f"{_cut(text, 24)} is too large for a number; expected a finite number (at most about 1.8e308)")
    return value


def _int(text: str) -> int | _Bad:
    digits = len(text) - (text[0] == "-")
    if digits > MAX_INT_DIGITS:
        return _Bad(f"a whole number of {digits} digits; expected at most {MAX_INT_DIGITS} digits")
    return int(text)


_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_float, parse_int=_int)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def escape_surrogates(text: str) -> str:
    """The text with each lone surrogate written as \\udXXX, so it can be encoded as UTF-8."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if not text.isascii() else text


def _key(path: str, key: str) -> str:
    shown = escape_surrogates(key)
    if _NAME.match(shown):
        return f"{path}.{shown}" if path != "$" else shown
    return f"{'' if path == '$' else path}[{json.dumps(_cut(shown, 40))}]"


def _index(path: str, i: int) -> str:
    return f"{'' if path == '$' else path}[{i}]"


def _check(value: Any, path: str, depth: int, problems: list[tuple[str, str]]) -> None:
    if len(problems) >= MAX_PROBLEMS:
        return
    if isinstance(value, _Bad):
        problems.append((path, value.message))
    elif isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            problems.append((path, "text with a lone UTF-16 surrogate; expected Unicode text"))
    elif isinstance(value, (dict, list)):
        if depth >= MAX_DEPTH:
            problems.append((path, f"nested deeper than {MAX_DEPTH} levels of objects and lists"))
            return
        if isinstance(value, dict):
            for k, v in value.items():
                where = _key(path, k)
                if not k.isascii() and _SURROGATE.search(k):
                    problems.append((where, "a key with a lone UTF-16 surrogate; expected Unicode text"))
                _check(v, where, depth + 1, problems)
        else:
            for i, v in enumerate(value):
                _check(v, _index(path, i), depth + 1, problems)


def loads(text: str) -> Any:
    """Parse JSON text, refusing what `safe` would have to repair (JsonRefused names each path)."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as err:
        raise JsonRefused(
            f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}", at=(err.lineno, err.colno, err.msg)
        ) from None
    except RecursionError:
        raise JsonRefused(f"JSON nested too deeply (the limit is {MAX_DEPTH} levels)", [("$", "nested too deeply")]) from None
    problems: list[tuple[str, str]] = []
    _check(value, "$", 0, problems)
    if problems:
        path, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise JsonRefused(f"{path}: {message}{more}", problems)
    return value


def safe(value: Any, limit: int = 200, depth: int = 0) -> Any:
    """A JSON-encodable copy of `value` for an answer that echoes it: bounded in size, every text encodable."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return escape_surrogates(_cut(value, limit))
    if isinstance(value, int):
        if value.bit_length() > 3 * MAX_INT_DIGITS:  # str() of a huge integer is slow, or refused
            return f"(a whole number of about {int(value.bit_length() * 0.30103) + 1} digits)"
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, _Bad):
        return "(a refused number)"
    if depth >= 4:
        return "(nested too deeply to show)"
    if isinstance(value, dict):
        items = list(value.items())[:50]
        return {safe(str(k), 80, depth + 1): safe(v, limit, depth + 1) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [safe(v, limit, depth + 1) for v in list(value)[:50]]
    return _cut(escape_surrogates(repr(value)), limit)
