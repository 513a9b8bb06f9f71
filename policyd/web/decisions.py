"""A decision as the API and the pages show it: where the lead is now, its moves, then why it was decided.

The engine explains the decision as made (`explain`, `render`); daemon/moves.py
says what happened since. Both are composed here for every format, so the JSON,
text, Markdown, HTML answer and the page say the same.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from ..daemon import moves, reads
from ..door.route import Routed
from ..engine.codegen import Compiled
from ..engine.decision import Decision
from ..explain.door import with_door_step
from ..storage.errors import NotFound
from .requests import iso
from .state import Daemon

FORMATS = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def decision_json(row: dict, replayed: bool | None = None) -> dict:
    """A decision row for clients: `rep`/`queue` where the lead is now, `decided` what the decision was
    (the shape `policyd assign --format json` prints too: explain/decision_json.py)."""
    from ..explain.decision_json import decision_fields

    out = decision_fields(
        row["lead_id"],
        rep=row["holder"],
        queue=row.get("current_queue"),
        status=row["status"],
        decided={"rep": row["rep"], "queue": row["queue"], "tier": row["tier"], "by": row["by"]},
        seed_id=row.get("seed_id"),
        version=row["version"],
        at=iso(row["at"]),
        deadline=iso(row["deadline"]),
        reassigned=row["reassigned"],
        overridden=bool(row["overridden"]),
        override_reason=row["override_reason"],
        lottery_note=row.get("lottery_note"),
        reentry_of=row.get("reentry_of"),
        explanation=f"/v1/decisions/{quote(row['lead_id'], safe='')}",
    )
    out["team"] = row.get("team")
    if row.get("door"):
        out["door"] = json.loads(row["door"])
    if replayed is not None:
        out["replayed"] = replayed
    return out


def history_json(records: list[dict]) -> list[dict]:
    """A lead's audit records (reads.history) with times (and deadlines, away times) as ISO-8601."""
    out = []
    for h in records:
        data = dict(h["data"])
        for key in ("deadline", "until"):
            if isinstance(data.get(key), (int, float)):
                data[key] = iso(data[key])
        out.append({**h, "at": iso(h["at"]), "data": data})
    return out


def check_why_not(c: Compiled, who: str | None) -> str | None:
    """The rep asked about, when on the team (NotFound with a suggestion otherwise)."""
    if who is not None and who not in c.rep_index:
        from ..lang.diagnostics import did_you_mean

        guess = did_you_mean(who, c.rep_names)
        raise NotFound(f"why_not={who}: no such rep" + (f"; did you mean {guess}?" if guess else ""))
    return who


def _notes(row: dict) -> list[str]:
    return [row["lottery_note"]] if row.get("lottery_note") else []


def explained(d: Daemon, row: dict, why_not: str | None) -> tuple[Compiled, Decision, dict, list[dict]]:
    """(compiled, decision, composed explanation dict, raw history) of a stored decision."""
    from ..explain.explain import explain

    c, decision = d.runtime.redecide(row)
    who = check_why_not(c, why_not)
    raw = reads.history(d.read, row["lead_id"])
    x = moves.compose(explain(c, decision, who, _notes(row)), row, raw, who)
    return c, decision, x, raw


def answer(d: Daemon, row: dict, fmt: str, why_not: str | None) -> tuple[Any, str]:
    """The body (a dict for json, else text) and its media type."""
    c, decision, x, raw = explained(d, row, why_not)
    x["moves"] = [{**m, "at": iso(m["at"])} for m in x["moves"]]
    if fmt == "json":
        return {"decision": decision_json(row), "explanation": x, "history": history_json(raw)}, FORMATS[fmt]
    from ..explain.explain import render

    body = render(c, decision, fmt, None, _notes(row))  # the decision as made; why-not is answered below, about now
    if fmt == "text":
        out = moves.render_text(x, body)
    elif fmt == "md":
        out = moves.render_md(x, body)
    else:
        out = _html(x, body)
    routed = door_step(row)
    return (out if routed is None else with_door_step(routed, out, fmt)), FORMATS[fmt]


def door_step(row: dict) -> Routed | None:
    """The front door's step a decision row keeps (None for a lead posted to its team)."""
    text = row.get("door")
    return Routed.from_json(json.loads(text)) if text else None


def now_fragment(x: dict) -> Markup:
    """The 'now, moves' block and the why-not answer, as HTML (for the page and the html format)."""
    from ..render.jinja import render_template

    return Markup(render_template("page_moves_fragment.html.j2", {"x": x}))


def _html(x: dict, body: str) -> str:
    """The engine's HTML page of the decision with where the lead is now first, and why-not after."""
    from ..render.jinja import render_template

    top = now_fragment(x)
    bottom = render_template("page_why_not_fragment.html.j2", {"x": x}) if "why_not" in x else ""
    head, sep, rest = body.partition("<body>\n")
    if not sep:
        return str(top) + body + bottom
    main, end, tail = rest.rpartition("</body>")
    return head + sep + str(top) + main + bottom + end + tail


def page_data(d: Daemon, row: dict, why_not: str | None) -> dict:
    """What page_decision.html.j2 shows."""
    _, _, x, raw = explained(d, row, why_not)
    x["moves"] = [{**m, "at": iso(m["at"])} for m in x["moves"]]
    return {"d": decision_json(row), "x": x, "lead": json.loads(row["lead"]), "history": history_json(raw)}
