"""What happened to a lead after its decision, composed with the engine's explanation.

The engine explains the decision as it was made; a lead may have moved since (an
override by someone, with a reason; an SLA reassignment or escalation). A reader
asking "why not quinn?" about a lead that quinn now holds must hear that first:
who holds the lead now and how it got there, then the decision as made. This
module reads the moves from the lead's audit records and composes both, for JSON,
text, Markdown and HTML; it never re-decides anything.
"""

from __future__ import annotations

from typing import Any

MOVING = ("override", "sla_reassign", "sla_escalate")
KINDS = (*MOVING, "accept", "close")


def _who(rep: str | None) -> str:
    return rep if rep else "the queue"


def move_text(kind: str, actor: str, data: dict) -> str:
    """One move as a sentence (no time: the caller shows when)."""
    if kind == "override":
        return f'{actor} overrode it from {_who(data.get("from"))} to {data.get("to")}: "{data.get("reason")}"'
    if kind == "sla_reassign":
        return f"not accepted in time: the SLA moved it from {data.get('from')} to {data.get('to')} (reassignment {data.get('attempt')})"
    if kind == "sla_escalate":
        return f"not accepted in time: the SLA escalated it from {data.get('from')} ({data.get('why')})"
    if kind == "accept":
        return f"{data.get('rep')} accepted it"
    return f"closed as {data.get('outcome')}" + (f" ({data.get('rep')})" if data.get("rep") else "")


def moves(history: list[dict]) -> list[dict]:
    """The lead's audit records after its decision, oldest first: {seq, at, kind, actor, from, to, text}."""
    out = []
    for h in history:
        if h["kind"] not in KINDS:
            continue
        data = h["data"]
        out.append(
            {
                "seq": h["seq"],
                "at": h["at"],
                "kind": h["kind"],
                "actor": h["actor"],
                "from": data.get("from", data.get("rep")) if h["kind"] in MOVING else None,
                "to": data.get("to") if h["kind"] in ("override", "sla_reassign") else None,
                "text": move_text(h["kind"], h["actor"], data),
            }
        )
    return out


def now(row: dict, mv: list[dict]) -> dict[str, Any]:
    """Where the lead is now and how it got there: {rep, queue, status, moved, where, how, text}."""
    moving = [m for m in mv if m["kind"] in MOVING]
    how = moving[-1]["text"] if moving else "as decided"
    holder, queue, status = row["holder"], row.get("current_queue"), row["status"]
    if status in ("won", "lost"):
        where = f"closed as {status}" + (f", held by {holder}" if holder else "")
    elif holder:
        where = f"{holder} holds the lead ({status})"
    else:
        where = f"the lead waits in queue {queue} ({status})"
    text = where + (f", since {how}" if moving else ", as decided")
    return {"rep": holder, "queue": queue, "status": status, "moved": bool(moving), "where": where, "how": how, "text": text}


def why_not(row: dict, mv: list[dict], rep: str, as_decided: dict) -> dict[str, Any]:
    """Why `rep` does not hold the lead, now first, then the decision (the engine's answer as `as_decided`)."""
    current = now(row, mv)
    out = {**as_decided, "as_decided": as_decided["answer"]}
    if not current["moved"]:
        return out
    held = current["rep"] == rep and row["status"] not in ("won", "lost")
    if held:
        lead_in = f"{rep} holds this lead now: {current['how']}"
    else:
        lost = [m for m in mv if m["kind"] in MOVING and m["from"] == rep]
        last = [m for m in mv if m["kind"] in MOVING][-1]
        if lost and lost[-1] is last:  # the move that took it from them is how it got where it is
            lead_in = f"{rep} no longer holds it: {last['text']}; now {current['where']}"
        elif lost:
            lead_in = f"{rep} no longer holds it ({lost[-1]['text']}); now {current['text']}"
        else:
            lead_in = f"now {current['text']}"
    out["answer"] = f"{lead_in}. As decided: {as_decided['answer']}"
    out["now"] = current["text"]
    return out


def compose(explanation: dict, row: dict, history: list[dict], why_not_rep: str | None) -> dict:
    """The engine's explanation with `now` and `moves` added, and `why_not` answered about now first."""
    mv = moves(history)
    out = dict(explanation)
    out["now"] = now(row, mv)
    out["moves"] = mv
    out["made_by"] = {"team": row.get("team"), "version": row.get("version")}  # the explanation's header names them
    if why_not_rep is not None and "why_not" in explanation:
        out["why_not"] = why_not(row, mv, why_not_rep, explanation["why_not"])
    return out


def _made_by(composed: dict) -> str:
    """` (team inbound, version 3)`: which team's version decided, for the explanation's header."""
    m = composed.get("made_by") or {}
    parts = ([f"team {m['team']}"] if m.get("team") else []) + ([f"version {m['version']}"] if m.get("version") is not None else [])
    return f" ({', '.join(parts)})" if parts else ""


def render_text(composed: dict, body: str) -> str:
    """Text: where the lead is now and its moves, then the engine's text of the decision, then why-not.

    `body` is the engine's text of the decision as made; move times are shown as the caller formatted them.
    """
    lines = [f"Now: {composed['now']['text']}."]
    if composed["moves"]:
        lines.append("Moves after the decision:")
        lines += [f"  {m['at']}  {m['text']}" for m in composed["moves"]]
    lines += ["", f"The decision{_made_by(composed)}:", body.rstrip("\n")]
    if "why_not" in composed:
        lines += ["", f"Why not {composed['why_not']['rep']}? {composed['why_not']['answer']}"]
    return "\n".join(lines) + "\n"


def render_md(composed: dict, body: str) -> str:
    lines = [f"**Now:** {composed['now']['text']}.", ""]
    if composed["moves"]:
        lines += ["**Moves after the decision:**", ""] + [f"- {m['at']}: {m['text']}" for m in composed["moves"]] + [""]
    lines += [f"## The decision{_made_by(composed)}", "", body.rstrip("\n")]
    if "why_not" in composed:
        lines += ["", f"**Why not {composed['why_not']['rep']}?** {composed['why_not']['answer']}"]
    return "\n".join(lines) + "\n"
