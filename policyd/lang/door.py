"""The front door's model and parser: `door NAME { send TEAM when COND ... }`.

A door file is written in the policy language: the same grammar (one module builds
the parser), the same `lead { ... }` block and the same conditions, so `fmt`, the
checks' lead-space enumeration and the compiled conditions serve it unchanged. Its
own parts are the `door` block (send rules, first match wins) and examples that
`expect team NAME`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import model as m
from .diagnostics import ERROR, Diagnostic, PolicyError
from .span import NO_SPAN, Span
from .tree_door import DoorBlock, DoorRules, Send  # noqa: F401 - the door's model, re-exported


@dataclass(frozen=True, slots=True)
class Door:
    """A whole door file: its name, lead fields, send rules in order, and examples."""

    name: str
    title: str | None
    fields: tuple[m.LeadField, ...]
    sends: tuple[Send, ...]
    examples: tuple[m.Example, ...]
    file: str
    span: Span = field(default=NO_SPAN, compare=False)
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def teams(self) -> tuple[str, ...]:
        """The teams the rules name, in the order first written."""
        return tuple(dict.fromkeys(s.team for s in self.sends))

    def as_policy(self) -> m.Policy:
        """The door's lead block as a policy with no rules: what the condition compiler and the
        lead-space enumeration read (the door adds its own conditions)."""
        return m.Policy(None, self.fields, (), (), None, (), (), (), (), self.file, self.sources)


def is_door_text(text: str) -> bool:
    """Whether a file is a door: its first statement (after comments) is `door`."""
    for line in text.splitlines():
        code = line.split("#", 1)[0].strip()
        if code:
            return code.split()[0] == "door"
    return False


def _cond_text(send: Send, lines: list[str]) -> str:
    """The condition as written (joined when it wraps), for the explanation's first step."""
    if send.cond is None:
        return "otherwise"
    sp = send.span
    end = sp.end_line or sp.line
    body = " ".join(x.split("#", 1)[0].strip() for x in lines[sp.line - 1 : end])
    head, _, cond = body.partition(" when ")
    return " ".join(cond.split()) if cond else body


def parse_door_text(text: str, file: str = "<door>") -> tuple[Door, list[Diagnostic]]:
    """Parse a door file; blocks a door cannot hold come back as diagnostics (D001)."""
    from .parse import Build, _parse_tree, _resolve_default, _resolve_example

    tree = _parse_tree(text, file, "start")
    build = Build(file)
    items = build.transform(tree).children
    problems = list(build.problems)
    lines = text.splitlines()
    door: DoorBlock | None = None
    fields: tuple = ()
    examples: list[m.Example] = []
    for it in items:
        if isinstance(it, DoorBlock):
            if door is None:
                door = it
            else:
                problems.append(
                    Diagnostic(
                        "D001",
                        ERROR,
                        it.span,
                        f"a second `door` block (the first is on line {door.span.line})",
                        "a door file holds one door",
                    )
                )
        elif isinstance(it, m.Example):
            examples.append(_resolve_example(it))
        elif isinstance(it, tuple) and it[0] == "lead":
            if fields:
                problems.append(Diagnostic("D001", ERROR, it[2], "a second `lead` block; a door has one", "merge it into the first"))
            else:
                fields = tuple(_resolve_default(f) for f in it[1])
        else:
            span = getattr(it, "span", None) or (it[2] if isinstance(it, tuple) and len(it) > 2 else Span(file, 1, 1))
            kind = it[0] if isinstance(it, tuple) else type(it).__name__.lower().rstrip("_")
            problems.append(
                Diagnostic(
                    "D001",
                    ERROR,
                    span,
                    f"a door file holds `door`, `lead` and `example` blocks, not `{kind}`",
                    "put scores, tiers, teams and routes in the team's own policy",
                )
            )
    if door is None:
        raise PolicyError(
            [Diagnostic("D001", ERROR, Span(file, 1, 1), "a door file needs a `door NAME { send TEAM when ... }` block")], {file: text}
        )
    sends = tuple(Send(s.team, s.cond, s.span, _cond_text(s, lines)) for s in door.sends)
    d = Door(door.name, door.title, fields, sends, tuple(examples), file, door.span, ((file, text),))
    return d, problems


def load_door_file(path: str | Path) -> tuple[Door, list[Diagnostic]]:
    """Read and parse a door file; an unreadable file is a diagnostic, not a traceback."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise PolicyError([Diagnostic("P006", ERROR, Span(str(path), 0, 0), f"cannot read door file: {reason}")]) from None
    return parse_door_text(text, str(path))
