"""What the language server knows about one policy text, as plain data (no LSP types here).

Positions are LSP's: 0-based lines and characters. The diagnostics are `check`'s own
(the same codes, accepted findings left out); hover, definition and completion read the
last text that parsed, so they keep working while the user types a broken line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.load import Loaded, load_text
from ..lang import model as m
from ..lang.diagnostics import Diagnostic, PolicyError
from ..report.findings import findings

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TICKED = re.compile(r"`([^`\s]+)`")
GUESS = re.compile(r"did you mean `([^`]+)`\?|write `([^`]+)`")


@dataclass(frozen=True)
class Place:
    """A range in a file: (file, line, start character, end character), 0-based."""

    file: str
    line: int
    start: int
    end: int


@dataclass
class Analysis:
    text: str
    path: str
    diagnostics: list[Diagnostic]
    loaded: Loaded | None = None
    sources: dict[str, str] = field(default_factory=dict)


def analyse(text: str, path: str) -> Analysis:
    """Parse and check a document as `policyd check` would (a team file without the missing-block errors)."""
    try:
        loaded = load_text(text, path, Path(path).parent)
    except PolicyError as err:
        return Analysis(text, path, err.diagnostics, None, err.sources)
    diags = loaded.diagnostics
    if loaded.policy.is_team_file:
        diags = [d for d in diags if d.code != "S001"]
    kept = [f.diagnostic for f in findings(diags, loaded.sources) if f.fails]
    return Analysis(text, path, kept, loaded, loaded.sources)


def to_range(d: Diagnostic) -> tuple[int, int, int, int]:
    """(start line, start char, end line, end char), 0-based; a file-level finding sits on the first line."""
    s = d.span
    line, col = max(s.line - 1, 0), max(s.col - 1, 0)
    end_line = max((s.end_line or s.line) - 1, line)
    end_col = max(s.end_col - 1, col + 1) if s.end_line in (0, s.line) else max(s.end_col - 1, 0)
    return line, col, end_line, end_col


def word_at(text: str, line: int, char: int) -> tuple[str, int, int, str] | None:
    """(word, start, end, the word before it on the line) under the cursor."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    before = None
    for mt in WORD.finditer(lines[line]):
        if mt.start() <= char <= mt.end():
            return mt.group(), mt.start(), mt.end(), before or ""
        before = mt.group()
    return None


def _name_place(p: m.Policy, span: m.Span, name: str) -> Place:
    """Where `name` is written on the span's line (the span may start at a keyword)."""
    text = p.source_line(span)
    at = text.find(name, max(span.col - 1, 0))
    at = at if at >= 0 else max(span.col - 1, 0)
    return Place(span.file, span.line - 1, at, at + len(name))


def definition(a: Analysis, line: int, char: int) -> Place | None:
    """Where the rep, tier, route or lead field under the cursor is defined."""
    if a.loaded is None or (hit := word_at(a.text, line, char)) is None:
        return None
    word, _, _, before = hit
    p = a.loaded.policy
    if before == "route" and (route := p.route_for(word)) is not None and route.span.line - 1 != line:
        return _name_place(p, route.span, word)
    for rep in p.team.reps if p.team else ():
        if rep.name == word:
            return _name_place(p, rep.span, word)
    for t in p.tiers:
        if t.name == word:
            return _name_place(p, t.span, word)
    if (f := p.field_named(word)) is not None:
        return _name_place(p, f.span, word)
    return None


def hover(a: Analysis, line: int, char: int) -> tuple[str, tuple[int, int, int]] | None:
    """Markdown about the rep (level, skills, capacity), field (type) or tier (range) under the cursor."""
    if a.loaded is None or (hit := word_at(a.text, line, char)) is None:
        return None
    word, start, end, _ = hit
    p = a.loaded.policy
    where = (line, start, end)
    team = p.team
    for rep in team.reps if team else ():
        if rep.name == word:
            cap = f"capacity {rep.capacity}" if rep.capacity is not None else f"capacity {team.capacity_default} (team default)"
            skills = ", ".join(f"{s} {v}" for s, v in rep.skills) or "none above the default"
            lines = [f"**rep {rep.name}**: level `{rep.level}`, {cap}, weight {rep.weight:g}"]
            lines.append(f"skills: {skills} (default {team.skill_default}, scale {team.skill_low}..{team.skill_high})")
            if rep.speaks:
                lines.append(f"speaks: {', '.join(rep.speaks)}")
            return "\n\n".join(lines), where
    for t in p.tiers:
        if t.name == word:
            route = p.route_for(t.name)
            tail = f"; route at line {route.span.line}: {route.why}" if route is not None else "; no route"
            return f"**tier {t.name}**: total score `{t.low}..{t.high}`{tail}", where
    if (f := p.field_named(word)) is not None:
        kind = f"one of {', '.join(f.type.words)}" if f.type.kind == "enum" else f.type.kind
        extra = " (optional)" if f.optional else ""
        if f.has_default:
            extra += f", default `{f.default}`"
        return f"**lead field {f.name}**: `{kind}`{extra}", where
    return None


def completions(a: Analysis) -> list[tuple[str, str, str]]:
    """(label, kind, detail) for every field, rep, level, skill and tier name the policy knows."""
    if a.loaded is None:
        return []
    p = a.loaded.policy
    out: dict[str, tuple[str, str, str]] = {}

    def add(label: str, kind: str, detail: str) -> None:
        out.setdefault(label, (label, kind, detail))

    for f in p.fields:
        add(f.name, "field", f"lead field ({f.type.kind})")
    for t in p.tiers:
        add(t.name, "tier", f"tier {t.low}..{t.high}")
    reps = p.team.reps if p.team else ()
    for rep in reps:
        add(rep.name, "rep", f"rep, level {rep.level}")
    for level in sorted({r.level for r in reps}):
        add(level, "level", "rep level")
    for skill in sorted({s for r in reps for s, _ in r.skills}):
        add(skill, "skill", "skill")
    return list(out.values())


def quick_fix(a: Analysis, d: Diagnostic) -> tuple[str, tuple[int, int, int]] | None:
    """(replacement, (line, start, end)) for a did-you-mean finding: the misspelt word inside its range."""
    hint = GUESS.search(d.message + " " + (d.hint or ""))
    if hint is None:
        return None
    guess = hint.group(1) or hint.group(2)
    line, col, end_line, end_col = to_range(d)
    lines = a.text.splitlines()
    if line >= len(lines):
        return None
    text = lines[line]
    stop = end_col if end_line == line else len(text)
    for wrong in TICKED.findall(d.message):
        if wrong == guess:
            continue
        for mt in WORD.finditer(text):
            if mt.group() == wrong and col <= mt.start() < max(stop, mt.start() + 1):
                return guess, (line, mt.start(), mt.end())
    return None
