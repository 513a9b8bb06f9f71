"""Colour for terminal output: on for a terminal, off for pipes and files, and off whenever NO_COLOR is set
(https://no-color.org) unless `--color always` asks for it."""

from __future__ import annotations

import os
import re
from typing import IO

CODES = {
    "error": "1;31",
    "warning": "1;33",
    "note": "1;36",
    "notice": "1;36",
    "ok": "32",
    "fail": "1;31",
    "add": "32",
    "del": "31",
    "hunk": "36",
}
_HEAD = re.compile(r"^(\S.*?:\d+:\d+: )(error|warning|note)( [A-Z]\d{3}:)", re.M)
_CARET = re.compile(r"^(       \| *)(\^~*)$", re.M)


def enabled(choice: str, stream: IO) -> bool:
    """`always`, `never`, or `auto`: a terminal, and NO_COLOR unset or empty."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, what: str) -> str:
    return f"\x1b[{CODES[what]}m{text}\x1b[0m"


def diagnostics(text: str) -> str:
    """gcc-style diagnostics with the severity and the caret coloured."""
    text = _HEAD.sub(lambda m: m.group(1) + paint(m.group(2), m.group(2)) + m.group(3), text)
    return _CARET.sub(lambda m: m.group(1) + paint(m.group(2), "error"), text)


def diff(text: str) -> str:
    """A unified diff with added, removed and hunk lines coloured."""
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(line)
        elif line.startswith("+"):
            out.append(paint(line.rstrip("\n"), "add") + "\n")
        elif line.startswith("-"):
            out.append(paint(line.rstrip("\n"), "del") + "\n")
        elif line.startswith("@@"):
            out.append(paint(line.rstrip("\n"), "hunk") + "\n")
        else:
            out.append(line)
    return "".join(out)
