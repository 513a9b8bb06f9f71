"""The name a stored bundle is filed under: its `policy NAME` (or `door NAME`) header, else its file's stem.

Read from the text with a pattern, not the parser, so the migration that files old
versions (storage/db.py) and the store agree without loading a policy.
"""

from __future__ import annotations

import posixpath
import re

from ..lang.door import is_door_text

_HEADER = re.compile(r"^[ \t]*policy[ \t]+([A-Za-z_][A-Za-z0-9_]*)\b", re.MULTILINE)
_DOOR = re.compile(r"^[ \t]*door[ \t]+([A-Za-z_][A-Za-z0-9_]*)\b", re.MULTILINE)


def policy_name(main_file: str, text: str) -> str:
    """`inbound` for `policy inbound "..." {`; a policy without the header is named after its file."""
    found = (_DOOR if is_door_text(text) else _HEADER).search(text)
    if found:
        return found.group(1)
    stem = posixpath.basename(main_file.replace("\\", "/")).rsplit(".", 1)[0]
    return stem or "policy"
