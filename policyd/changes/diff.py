"""The report of `policyd diff`: the semantic diff (and impact) as plain data, rendered.

Every output format (text, Markdown for a pull-request comment, JSON) renders the
same data, so the formats cannot disagree about what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..lang import model as m
from .change import Change
from .semantic import diff_policies


def changes_by_area(changes: Sequence[Change]) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = {}
    for c in changes:
        out.setdefault(c.area, []).append(c)
    return out


AREA_TITLES = {
    "policy": "Policy",
    "lead": "Lead fields",
    "score": "Scores",
    "tiers": "Tiers",
    "team": "Team",
    "exception": "Exceptions",
    "route": "Routes",
    "sla": "Response times (SLA)",
    "example": "Examples",
}


def headline(changes: Sequence[Change]) -> str:
    if not changes:
        return "no change in meaning"
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''} in meaning"


def report(old_label: str, new_label: str, old: m.Policy, new: m.Policy, imp: Any = None) -> dict[str, Any]:
    """The diff (and impact, when given) as plain data: what every format renders."""
    changes = diff_policies(old, new)
    identical = [t for _, t in old.sources] == [t for _, t in new.sources]
    groups = changes_by_area(changes)
    data: dict[str, Any] = {
        "old": old_label,
        "new": new_label,
        "headline": headline(changes),
        "identical": identical,
        "changes": [c.to_json() for c in changes],
        "groups": [{"area": a, "title": AREA_TITLES.get(a, a), "changes": [c.to_json() for c in cs]} for a, cs in groups.items()],
        "impact": imp.to_json() if imp is not None else None,
        "impact_empty": imp.empty if imp is not None else True,
    }
    if not changes:
        data["headline"] += " (identical)" if identical else " (layout or comments only)"
    return data


def render(data: dict[str, Any], fmt: str) -> str:
    """text (one line per change), md (a pull-request comment) or json."""
    if fmt == "json":
        import json

        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    from ..render.jinja import render_template

    return render_template(f"diff.{fmt}.j2", data)
