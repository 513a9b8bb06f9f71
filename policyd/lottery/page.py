"""A record's HTML page: writing it (ladders, embedded JSON) and reading a page or file back.

Its own module because the page is both the published artifact and an input
of `policyd verify`, which must read back exactly what was embedded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .canonical import _ID, RECORD_FORMAT, RecordError, _json, _script_safe, canonical, record_id
from .ladder import ladder_svg
from .seeds import commit_hash

_SCRIPT = re.compile(r'<script type="application/json" id="(lottery-record|lottery-seed)">(.*?)</script>', re.S)


def _embed(data: Any) -> str:
    """JSON safe inside <script>: no `<`, `>` or `&` can close the element."""
    return _script_safe(json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False))


def _drawable(d: dict) -> bool:
    """A ladder whose numbers fit its pool (a hand-made record may hold anything)."""
    lad, pool = d.get("ladder"), d.get("pool")
    if not isinstance(lad, dict) or not isinstance(pool, list) or not pool:
        return False
    n = len(pool)
    rungs = lad.get("rungs")
    ints = isinstance(rungs, list) and all(isinstance(g, int) and 0 <= g < n - 1 for g in rungs)
    return ints and all(isinstance(lad.get(k), int) and 0 <= lad[k] < n for k in ("start", "end"))


def page_data(record: dict, seed: str | None) -> dict:
    """What the record template shows; the seed only once revealed."""
    rid = record_id(record)
    ladders = []
    for lead in record["leads"]:
        for d in lead.get("draws", []):
            if d.get("entered") and _drawable(d):
                label = f"{lead['lead_id']}"
                ladders.append({"lead_id": lead["lead_id"], "draw": d, "svg": ladder_svg(d["pool"], d["ladder"], label)})
    return {
        "id": rid,
        "record": record,
        "ladders": ladders,
        "seed": seed,
        "record_json": canonical(record).decode("utf-8"),
        "seed_json": _embed({"period": record["period"], "seed": seed, "commitment": record["commitment"]}) if seed else None,
    }


def render_page(record: dict, seed: str | None = None) -> str:
    """The record's HTML page: ladders as inline SVG, the record JSON embedded for verification."""
    from ..render.jinja import render_template

    if seed is not None and commit_hash(seed) != record.get("commitment"):
        raise RecordError(f"the seed does not match the record's commitment {record.get('commitment')}; refusing to publish it")
    return render_template("lottery_record.html.j2", page_data(record, seed))


def read_subject(path: str) -> tuple[str, dict, str | None, str | None]:
    """Read a file to verify: (kind, data, claimed record id, seed embedded in a page).

    kind is "record" or "decision". The claimed id comes from the page or from a
    file name that is a record id (`<id>.json`).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise RecordError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a text file (expected JSON or a record page)") from None
    stem = Path(path).name.split(".")[0]
    claimed = stem if _ID.match(stem) else None
    if text.lstrip().startswith("<"):
        data, page_id, seed = parse_page(text, path)
        return "record", data, page_id or claimed, seed
    data = _json(text, path)
    if not isinstance(data, dict):
        raise RecordError(f"{path}: expected a JSON object (a decision or a lottery record)")
    return ("record" if data.get("format") == RECORD_FORMAT else "decision"), data, claimed, None


def parse_page(text: str, where: str) -> tuple[dict, str | None, str | None]:
    """A record page's embedded (record, id, revealed seed or None): all a verifier needs."""
    blocks = dict(_SCRIPT.findall(text))
    if "lottery-record" not in blocks:
        raise RecordError(f"{where}: no embedded lottery record (expected a page written by `policyd distribute`)")
    data = _json(blocks["lottery-record"], where)
    if not isinstance(data, dict):
        raise RecordError(f"{where}: the embedded record is not a JSON object")
    m = re.search(r'<meta name="policyd-record-id" content="([0-9a-f]{64})">', text)
    seed = None
    if "lottery-seed" in blocks:
        block = _json(blocks["lottery-seed"], where)
        seed = block.get("seed") if isinstance(block, dict) else None
    return data, (m.group(1) if m else None), seed
