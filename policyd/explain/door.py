"""The front door in explanations and examples: the door's step comes first.

`explain_routed` renders a team decision with the door's step before it (text, md,
html, json); `run_door_examples` runs a door's `example` blocks with the one door
evaluator (`door.route.route`).
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..door.route import CompiledDoor, Routed, route
from ..engine.codegen import Compiled
from ..engine.decision import Decision
from ..engine.schema import LeadError
from .examples import ExampleResult


def explain_routed(routed: Routed, c: Compiled, d: Decision, fmt: str = "text", why_not: str | None = None) -> str:
    """The team's explanation, opened by the door's step (`front door maven, line 3: ... -> team east`)."""
    from .decision_json import document
    from .explain import render

    if fmt == "json":
        return json.dumps({"door": routed.to_json(), **document(c, d, why_not)}, indent=2, ensure_ascii=False) + "\n"
    return with_door_step(routed, render(c, d, fmt, why_not), fmt)


def with_door_step(routed: Routed, body: str, fmt: str = "text") -> str:
    """A rendered explanation (text, md or html) opened by the door's step: the CLI and the daemon read alike."""
    step, why = routed.step(), routed.why_otherwise()
    if fmt == "md":
        return f"**{step}**" + (f" ({why})" if why else "") + f"\n\n{body}"
    if fmt == "html":
        more = f' <span class="muted">({html.escape(why)})</span>' if why else ""
        return body.replace("<body>", f'<body>\n<p class="door">{html.escape(step)}{more}</p>', 1)
    return f"{step}\n" + (f"  {why}\n" if why else "") + body


def run_door_examples(door: CompiledDoor) -> list[ExampleResult]:
    """Each example's lead through the door; `expect team NAME` is compared with where it went."""
    out = []
    for ex in door.door.examples:
        lead = {k: v for k, v, _ in ex.lead}
        try:
            r = route(door, lead)
        except LeadError as err:
            out.append(ExampleResult(ex.name, ex.span.line, False, tuple(f"lead refused: {e.message}" for e in err.errors), ""))
            continue
        problems = [
            f"expected team {e.value}, got {'no team' if r.team is None else 'team ' + r.team} (line {e.span.line})"
            for e in ex.expects
            if e.kind == "team" and e.value != r.team
        ]
        problems += [f"`expect {e.kind}` is not for a door: expect team NAME (line {e.span.line})" for e in ex.expects if e.kind != "team"]
        out.append(ExampleResult(ex.name, ex.span.line, not problems, tuple(problems), r.step() + "\n"))
    return out


def routed_json(r: Routed) -> dict[str, Any]:
    return r.to_json()
