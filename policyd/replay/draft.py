"""A draft mapping file from an export's profile and a policy's lead schema (`policyd map init`).

Guesses, never silently: every choice is written with a comment saying what it was
based on, and what could not be matched is written as a comment to fill in. The
result loads with `load_mapping` once its required fields are mapped.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from .profile import Column, Profile
from .values import identifier

WON = ("won", "closed_won", "win", "converted", "success", "successful", "closed")
LOST = ("lost", "closed_lost", "lose", "dead", "disqualified", "unqualified", "failed", "rejected")
HINTS = {
    "id": ("id", "lead_id", "opportunity_id", "prospect_id", "deal_id", "record_id", "lead_number"),
    "arrival": ("created", "created_at", "created_date", "arrival", "arrived", "engage_date", "received", "date", "lead_date"),
    "closed_at": ("closed", "closed_at", "close_date", "closed_date", "won_date"),
    "assignee": ("owner", "lead_owner", "sales_agent", "agent", "rep", "assignee", "assigned_to", "salesperson"),
    "outcome": ("stage", "deal_stage", "status", "lead_stage", "outcome", "converted", "result"),
    "value": ("value", "close_value", "amount", "revenue", "deal_value"),
}


def _q(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else _q(k)


def best_column(name: str, columns: list[Column], *, kinds: tuple[str, ...] = (), avoid: set[str] = frozenset()) -> Column | None:
    """The column whose name is closest to `name` (as identifiers), among those of `kinds` if given."""
    pool = [c for c in columns if c.name not in avoid and (not kinds or c.kind in kinds)]
    by_id = {identifier(c.name): c for c in pool}
    target = identifier(name)
    if target in by_id:
        return by_id[target]
    close = difflib.get_close_matches(target, list(by_id), n=1, cutoff=0.75)
    if close:
        return by_id[close[0]]
    inside = [c for i, c in by_id.items() if target and (target in i.split("_") or i in target.split("_"))]
    return inside[0] if len(inside) == 1 else None


def _hinted(role: str, columns: list[Column], kinds: tuple[str, ...] = (), avoid: set[str] = frozenset()) -> Column | None:
    for h in HINTS[role]:
        c = best_column(h, columns, kinds=kinds, avoid=avoid)
        if c is not None and identifier(c.name) == h:
            return c
    for h in HINTS[role]:
        c = best_column(h, columns, kinds=kinds, avoid=avoid)
        if c is not None:
            return c
    return None


def _outcome_words(c: Column) -> tuple[list[str], list[str], list[str]]:
    won, lost, other = [], [], []
    for v in c.values:
        i = identifier(v)
        (won if i in WON else lost if i in LOST else other).append(v)
    return won, lost, other


def word_for(value: str, words: tuple[str, ...]) -> str | None:
    """The enum word a source value stands for: the same identifier, else a close spelling."""
    i = identifier(value)
    if i in words:
        return i
    close = difflib.get_close_matches(i, list(words), n=1, cutoff=0.8)
    return close[0] if close else None


def draft_mapping(p: Profile, schema, *, file_name: str = "") -> str:
    """The draft mapping text (TOML) for `schema` over the profiled export."""
    cols = p.columns
    out = [
        f"# Draft mapping for {file_name or p.file} ({p.rows:,} rows profiled), written by `policyd map init`.",
        "# Check every guess, then run `policyd map check` to see what each column turns into.",
        "",
    ]
    source = []
    if p.delimiter != ",":
        source.append(f"delimiter = {_q(p.delimiter if p.delimiter != chr(9) else 'tab')}  # sniffed from the header")
    if any(c.kinds.get("grouped") for c in cols):
        source.append('thousands = ","                  # numbers like 1,234 were seen')
    ph = p.placeholders()
    if ph:
        source.append(f"unknown = {_q(ph)}  # placeholder words seen: read as empty")
    if source:
        out += ["[source]", *source, ""]
    used: set[str] = set()
    hist = []
    idc = _hinted("id", cols, avoid=used)
    if idc is not None:
        used.add(idc.name)
        hist.append(f"id = {_q(idc.name)}")
    arr = _hinted("arrival", [c for c in cols if c.kind == "date"], avoid=used)
    if arr is not None:
        used.add(arr.name)
        hist.append(f"arrival = {_q(arr.name)}  # a date column ({100 * arr.empty_share:.0f}% empty: those rows are rejected)")
        fmts = arr.date_formats
        if fmts:
            hist.append(f"arrival_format = {_q(fmts if len(fmts) > 1 else fmts[0])}")
        closed = _hinted("closed_at", [c for c in cols if c.kind == "date"], avoid=used)
        if closed is not None:
            used.add(closed.name)
            hist.append(f"closed_at = {_q(closed.name)}")
            if closed.date_formats:
                hist.append(f"closed_at_format = {_q(closed.date_formats)}")
    else:
        hist.append('order = "row"  # no date column found: the rows are taken in file order (use "reversed" if newest first)')
    who = _hinted("assignee", [c for c in cols if c.kind == "text"], avoid=used)
    if who is not None:
        used.add(who.name)
        hist += [f"assignee = {_q(who.name)}", 'assignee_transform = "identifier"  # "Moses Frase" -> moses_frase']
    stage = next((c for c in cols if c.name not in used and c.distinct and any(_outcome_words(c)[:2])), None)
    if stage is not None:
        won, lost, other = _outcome_words(stage)
        used.add(stage.name)
        hist += [f"outcome = {_q(stage.name)}", f"won = {_q(won)}", f"lost = {_q(lost)}"]
        if other:
            hist.append(f"open = {_q(other[:20])}  # the other values seen: still open")
    val = _hinted("value", [c for c in cols if c.kind in ("int", "number")], avoid=used)
    if val is not None:
        hist.append(f"value = {_q(val.name)}")
    out += ["[history]", *hist, ""]
    for f in schema.fields:
        if f.name == "id" and idc is not None:
            out += ["[fields.id]", f"column = {_q(idc.name)}", ""]
            continue
        kinds = {"int": ("int", "number"), "number": ("int", "number"), "bool": ("bool", "text", "int")}.get(f.type.kind, ())
        c = best_column(f.name, cols, kinds=kinds) or best_column(f.name, cols)
        need = "optional" if f.optional or f.has_default else "required"
        if c is None:
            out += [f"# [fields.{f.name}]  {need} ({schema.expected(f)}): no column looks like it; map one:", '# column = "..."', ""]
            continue
        odd = f"; not all cells are {schema.expected(f)}: see `map check`" if kinds and c.kind not in kinds else ""
        lines = [f"[fields.{_key(f.name)}]", f"column = {_q(c.name)}  # {c.kind}, {100 * c.empty_share:.0f}% empty{odd}"]
        if f.type.kind == "enum":
            words = tuple(f.type.words)
            values, unmatched = {}, []
            for v, n in c.values.most_common():
                w = word_for(v, words)
                if w is None:
                    unmatched.append(f"{v!r} ({n})")
                elif w != v:
                    values[v] = w
            if values:
                lines.append("values = { " + ", ".join(f"{_q(k)} = {_q(v)}" for k, v in values.items()) + " }")
            if unmatched:
                lines.append(f"# not one of {', '.join(words)}: {', '.join(unmatched[:10])}{' ...' if len(unmatched) > 10 else ''}")
            fallback = next((w for w in ("unknown", "other", "none") if w in words), None)
            if fallback and (c.empty or unmatched):
                lines.append(f"default = {_q(fallback)}")
        elif f.type.kind == "text" and c.empty and not (f.optional or f.has_default):
            lines.append('default = "unknown"')
        out += [*lines, ""]
    return "\n".join(out).rstrip("\n") + "\n"
