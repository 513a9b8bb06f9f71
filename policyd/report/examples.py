"""The results of `policyd test` as data: JSON (docs/schemas/test-report.schema.json) and JUnit XML for CI."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr


@dataclass(frozen=True)
class FileResults:
    """One policy's examples (or why none could run: `error`)."""

    policy: str
    file: str
    results: tuple  # ExampleResult
    error: str | None = None


def selected(name: str, patterns: Sequence[str]) -> bool:
    """An example runs when no -k was given, or its name contains a pattern, or matches it as a glob."""
    return not patterns or any(p in name or fnmatch.fnmatchcase(name, p) for p in patterns)


def to_json(files: Sequence[FileResults]) -> dict:
    out = []
    for f in files:
        examples = [
            {
                "name": r.name,
                "line": r.line,
                "ok": r.ok,
                "problems": list(r.problems),
                "explanation": None if r.ok else r.explanation,
            }
            for r in f.results
        ]
        out.append({"policy": f.policy, "file": f.file, "error": f.error, "examples": examples})
    passed = sum(r.ok for f in files for r in f.results)
    failed = sum(not r.ok for f in files for r in f.results)
    errors = sum(f.error is not None for f in files)
    return {"passed": passed, "failed": failed, "errors": errors, "files": out}


def junit(files: Sequence[FileResults]) -> str:
    """JUnit XML: one testsuite per policy, one testcase per example; a policy that cannot load is an error."""
    suites = []
    for f in files:
        cases = []
        for r in f.results:
            head = f'    <testcase classname={quoteattr(f.policy)} name={quoteattr(r.name)} file={quoteattr(f.file)} line="{r.line}"'
            if r.ok:
                cases.append(head + "/>")
            else:
                message = "; ".join(r.problems)
                body = escape("\n".join(r.problems) + ("\n\n" + r.explanation if r.explanation else ""))
                cases.append(f"{head}>\n      <failure message={quoteattr(message)}>{body}</failure>\n    </testcase>")
        if f.error is not None:
            cases.append(
                f'    <testcase classname={quoteattr(f.policy)} name="load" file={quoteattr(f.file)}>\n'
                f"      <error message={quoteattr(f.error)}/>\n    </testcase>"
            )
        failures = sum(not r.ok for r in f.results)
        tests = len(f.results) + (f.error is not None)
        suites.append(
            f'  <testsuite name={quoteattr(f.policy)} tests="{tests}" failures="{failures}" errors="{int(f.error is not None)}">\n'
            + "\n".join(cases)
            + "\n  </testsuite>"
        )
    tests = sum(len(f.results) + (f.error is not None) for f in files)
    failures = sum(not r.ok for f in files for r in f.results)
    errors = sum(f.error is not None for f in files)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="policyd test" tests="{tests}" failures="{failures}" errors="{errors}">\n'
        + "\n".join(suites)
        + "\n</testsuites>\n"
    )
