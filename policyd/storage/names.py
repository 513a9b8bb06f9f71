"""The policy name a stored bundle is filed under: its `policy NAME` header, else its file's stem.

Read from the text with a pattern, not the parser, so the migration that files old
versions (storage/db.py) and the store agree without loading a policy.
"""

from __future__ import annotations

import posixpath
import re

_HEADER = re.compile(r"^[ \t]*policy[ \t]+([A-Za-z_][A-Za-z0-9_]*)\b", re.MULTILINE)


def policy_name(main_file: str, text: str) -> str:
    """`inbound` for `policy inbound "..." {`; a policy without the header is named after its file."""
    found = _HEADER.search(text)
    if found:
        return found.group(1)
    stem = posixpath.basename(main_file.replace("\\", "/")).rsplit(".", 1)[0]
    return stem or "policy"
