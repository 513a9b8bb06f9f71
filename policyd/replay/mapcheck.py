"""What a mapping does to an export, before a full run (`policyd map check`).

Every row is mapped (no decisions are made) and validated by the policy's lead
schema, as a replay would: per lead field, the source column and the most common
source value -> lead value pairs, how often it was empty or defaulted; then how many
rows would be rejected, by field, with the first messages. Counters only, capped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..engine.schema import LeadError
from .history import History
from .records import Reject

PAIRS_CAP = 200  # distinct (source, lead) pairs kept per field


def check_mapping(history: History, *, limit: int | None = None, first: int = 10) -> dict[str, Any]:
    """Map the rows of `history` (the first `limit`), validate each lead, and count what happened."""
    m, schema = history.mapping, history.schema
    fields = {f.name: f for f in schema.fields}
    pairs: dict[str, Counter] = {n: Counter() for n in fields}
    left_out: Counter = Counter()
    rejected: Counter = Counter()
    messages: list[str] = []
    rows = ok = 0
    name = history.name

    def reject(r: Reject) -> None:
        for f in r.fields:
            rejected[f or "(row)"] += 1
        if len(messages) < first:
            messages.append(r.message(name))

    for item in history:
        if limit is not None and rows >= limit:
            break
        rows += 1
        if isinstance(item, Reject):
            reject(item)
            continue
        try:
            lead = schema.validate(item.lead)
        except LeadError as err:
            every = tuple((e.field, e.message.removeprefix(f"field {e.field}: ")) for e in err.errors)
            first_e = err.errors[0]
            reject(Reject(item.row, item.where, first_e.field, first_e.message, None, every if len(every) > 1 else ()))
            continue
        ok += 1
        src = item.source or {}
        for n in fields:
            spec = m.fields.get(n)
            col = spec.column if spec is not None else (n if m.by_name else None)
            raw = src.get(col) if col is not None and (spec is None or spec.lookup is None) else None
            if n not in item.lead:
                left_out[n] += 1
            c = pairs[n]
            key = ("" if raw is None else str(raw), lead.get(n))
            if key in c or len(c) < PAIRS_CAP:
                c[key] += 1
    out_fields = []
    for n, f in fields.items():
        spec = m.fields.get(n)
        source = spec.column if spec is not None else (n if m.by_name else ("[history] id" if n == "id" and m.id else None))
        out_fields.append(
            {
                "field": n,
                "type": schema.expected(f),
                "column": source,
                "lookup": spec is not None and spec.lookup is not None,
                "left_out": left_out[n],
                "pairs": [{"source": s, "lead": v, "count": k} for (s, v), k in pairs[n].most_common(5)],
                "defaults": sum(v for k, v in history.notes.items() if k.startswith(f"{n}: empty, default")),
            }
        )
    return {
        "leads": Path(history.path).name,
        "mapping": Path(m.file).name,
        "rows": rows,
        "ok": ok,
        "rejected": rows - ok,
        "rejected_by_field": dict(sorted(rejected.items())),
        "first_rejects": messages,
        "fields": out_fields,
        "notes": [{"text": k, "count": v} for k, v in sorted(history.notes.items())],
    }


def render_check(c: dict[str, Any]) -> str:
    """The check as terminal text."""
    lines = [f"{c['leads']} mapped by {c['mapping']}: {c['rows']:,} rows, {c['ok']:,} would replay, {c['rejected']:,} would be rejected"]
    if c["rejected_by_field"]:
        lines.append("  rejected by field: " + ", ".join(f"{k} {v:,}" for k, v in c["rejected_by_field"].items()))
        lines += [f"    {m}" for m in c["first_rejects"]]
    lines.append("")
    for f in c["fields"]:
        col = f["column"] or "(not mapped)"
        extra = []
        if f["left_out"]:
            extra.append(f"left out {f['left_out']:,}")
        if f["defaults"]:
            extra.append(f"default used {f['defaults']:,}")
        lines.append(f"{f['field']} ({f['type']}) <- {col}" + (f"  [{', '.join(extra)}]" if extra else ""))
        for p in f["pairs"]:
            src = "(from the lookup)" if f["lookup"] else repr(p["source"]) if p["source"] != "" else "(empty)"
            lines.append(f"    {p['count']:>7,}  {src} -> {p['lead']!r}")
    if c["notes"]:
        lines += ["", "mapping notes:"] + [f"  {n['count']:>7,}  {n['text']}" for n in c["notes"]]
    return "\n".join(lines) + "\n"
