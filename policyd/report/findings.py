"""A check's findings for review: accepted findings, and the JSON, GitHub and SARIF forms.

A team may accept one finding where it is intended, in the policy itself, with the
reason kept next to the line:

    prefer veteran   # policyd: accept N003 veterans join next quarter

(or the same comment alone on the line above). An accepted finding no longer fails
`check`, and every output still shows it with its reason, so a reviewer sees it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..lang.diagnostics import ERROR, NOTE, WARNING, Diagnostic, sort_key

ACCEPT = re.compile(r"#\s*policyd:\s*accept\s+([A-Z]\d{3})\b[\s:,-]*(.*?)\s*$")


@dataclass(frozen=True)
class Finding:
    """A diagnostic, and the reason it was accepted (None when it stands)."""

    diagnostic: Diagnostic
    accepted: str | None = None

    @property
    def fails(self) -> bool:
        return self.accepted is None

    def to_json(self) -> dict:
        out = self.diagnostic.to_json()
        if self.accepted is not None:
            out["accepted"] = self.accepted
        return out


def acceptances(text: str) -> dict[int, dict[str, str]]:
    """line -> {code: reason} for every `# policyd: accept CODE reason` comment, applying to its own line
    and, when the comment stands alone, to the next line."""
    out: dict[int, dict[str, str]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = ACCEPT.search(line)
        if m is None or not m.group(2):  # a reason is required: it is what the reviewer reads
            continue
        out.setdefault(n, {})[m.group(1)] = m.group(2)
        if line[: m.start()].strip() == "":
            out.setdefault(n + 1, {})[m.group(1)] = m.group(2)
    return out


def findings(diags: Sequence[Diagnostic], sources: dict[str, str]) -> list[Finding]:
    """Diagnostics sorted by place, each with its acceptance (errors of parsing cannot be accepted)."""
    marks = {file: acceptances(text) for file, text in sources.items()}
    out = []
    for d in sorted(diags, key=sort_key):
        reason = marks.get(d.span.file, {}).get(d.span.line, {}).get(d.code)
        out.append(Finding(d, reason if not d.code.startswith("P") else None))
    return out


def failing(found: Sequence[Finding], strict: bool) -> bool:
    """Errors fail, and warnings with --strict; notes and accepted findings never do."""
    return any(f.fails and (f.diagnostic.severity == ERROR or (strict and f.diagnostic.severity == WARNING)) for f in found)


def to_json(found: Sequence[Finding]) -> list[dict]:
    """The check report: one object per finding (docs/schemas/check-report.schema.json)."""
    return [f.to_json() for f in found]


def _esc_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _esc_prop(s: str) -> str:
    return _esc_data(s).replace(":", "%3A").replace(",", "%2C")


def github(found: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on its line of the pull request."""
    kind = {ERROR: "error", WARNING: "warning", NOTE: "notice"}
    lines = []
    for f in found:
        d, s = f.diagnostic, f.diagnostic.span
        level = "notice" if f.accepted is not None else kind.get(d.severity, "notice")
        title = f"policyd {d.code}" + (" (accepted)" if f.accepted is not None else "")
        text = d.message + (f"\nhint: {d.hint}" if d.hint else "") + (f"\naccepted: {f.accepted}" if f.accepted else "")
        line, col = max(s.line, 1), max(s.col, 1)
        props = [f"file={_esc_prop(s.file)}", f"line={line}", f"col={col}"]
        if s.end_line:
            props += [f"endLine={s.end_line}", f"endColumn={max(s.end_col, col)}"]
        props.append(f"title={_esc_prop(title)}")
        lines.append(f"::{level} {','.join(props)}::{_esc_data(text)}")
    return "\n".join(lines) + ("\n" if lines else "")


def sarif(found: Sequence[Finding], version: str) -> dict:
    """SARIF 2.1.0, for code-scanning views (GitHub, GitLab, IDEs); accepted findings carry an in-source suppression."""
    level = {ERROR: "error", WARNING: "warning", NOTE: "note"}
    codes = sorted({f.diagnostic.code for f in found})
    results = []
    for f in found:
        d, s = f.diagnostic, f.diagnostic.span
        region = {"startLine": max(s.line, 1), "startColumn": max(s.col, 1)}
        if s.end_line:
            region.update(endLine=s.end_line, endColumn=max(s.end_col, region["startColumn"]))
        r = {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": level.get(d.severity, "note"),
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": s.file}, "region": region}}],
        }
        if f.accepted is not None:
            r["suppressions"] = [{"kind": "inSource", "justification": f.accepted}]
        results.append(r)
    rules = [{"id": c, "help": {"text": f"see docs/diagnostics.md, {c}"}} for c in codes]
    driver = {"name": "policyd", "version": version, "rules": rules}
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
