"""Parse policy text into the model: the entry points (`parse_text`, `load_file`).

The work is split by job: `grammar` builds the lark parser, `syntax_errors` words a
syntax error, `tree_blocks`/`tree_examples` turn the tree into model objects (with the
number rule of `numbers`), `layout` gives the formatter every token and comment.
"""

from __future__ import annotations

from pathlib import Path

from lark import Tree
from lark.exceptions import UnexpectedInput, VisitError

from . import model as m
from .diagnostics import ERROR, Diagnostic, PolicyError
from .grammar import parser
from .syntax_errors import syntax_diagnostic
from .tree_base import Lit
from .tree_blocks import BlockRules
from .tree_door import DoorBlock, DoorRules
from .tree_examples import ExampleRules


class Build(BlockRules, ExampleRules, DoorRules):
    """Turns lark's tree into model objects; `problems` holds what was wrong on the way."""


MAX_TREE_DEPTH = 80  # about 35 levels of parentheses, or 70 `not`s; real policies stay under 15


def _parse_tree(text: str, file: str, start: str) -> Tree:
    try:
        tree = parser().parse(text, start=start)
    except UnexpectedInput as err:
        raise PolicyError([syntax_diagnostic(err, text, file)], {file: text}) from None
    too_deep = _too_deep(tree)
    if too_deep is not None:
        span = m.Span(file, getattr(too_deep.meta, "line", 0), getattr(too_deep.meta, "column", 0))
        diag = Diagnostic(
            "P013",
            ERROR,
            span,
            f"a condition is nested too deeply (more than {MAX_TREE_DEPTH} levels of the policy's structure)",
            "split it into named score lines or exceptions, or drop redundant parentheses and `not`s",
        )
        raise PolicyError([diag], {file: text})
    return tree


def _too_deep(tree: Tree) -> Tree | None:
    """The first node past the depth limit, found without recursion (so no depth can crash it)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            return node
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return None


def parse_text(
    text: str, file: str = "<policy>", base_dir: Path | None = None, root: Path | None = None
) -> tuple[m.Policy, list[Diagnostic]]:
    """Parse one policy (and its `team from` file); structural problems come back as diagnostics.

    `root` bounds what `team from` may read (default: the repository holding `base_dir`).
    """
    tree = _parse_tree(text, file, "start")
    build = Build(file)
    try:
        items = build.transform(tree).children
    except VisitError as err:  # a bug in the builder, not the user's fault; keep it visible
        raise err.orig_exc from None
    problems = build.problems
    sources = [(file, text)]

    info = None
    fields: tuple = ()
    tiers: tuple = ()
    team = None
    sla: tuple = ()
    scores, exceptions, routes, examples = [], [], [], []
    seen: dict[str, m.Span] = {}

    def once(kind: str, span: m.Span) -> bool:
        if kind in seen:
            problems.append(
                Diagnostic(
                    "P008",
                    ERROR,
                    span,
                    f"a second `{kind}` block; a policy has one (the first is on line {seen[kind].line})",
                    f"merge it into the first `{kind}` block",
                )
            )
            return False
        seen[kind] = span
        return True

    for it in items:
        if isinstance(it, m.PolicyInfo):
            if once("policy", it.span):
                info = it
        elif isinstance(it, m.Score):
            scores.append(it)
        elif isinstance(it, m.Exception_):
            exceptions.append(it)
        elif isinstance(it, m.Route):
            routes.append(it)
        elif isinstance(it, m.Example):
            examples.append(it)
        elif isinstance(it, DoorBlock):
            problems.append(door_in_policy(it.span))
        elif it[0] == "lead":
            if once("lead", it[2]):
                fields = tuple(_resolve_default(f) for f in it[1])
        elif it[0] == "tiers":
            if once("tiers", it[2]):
                tiers = it[1]
        elif it[0] == "sla":
            if once("sla", it[2]):
                sla = it[1]
        elif it[0] == "team":
            if once("team", it[2]):
                team = it[1]
        elif it[0] == "team_from":
            if once("team", it[2]):
                try:
                    team, team_sources, team_problems = _load_team(it[1], it[2], base_dir, root)
                except PolicyError as err:
                    err.sources.setdefault(file, text)
                    raise
                sources.extend(team_sources)
                problems.extend(team_problems)

    examples = [_resolve_example(e) for e in examples]
    for e in examples:
        problems += [
            Diagnostic("D001", ERROR, x.span, "`expect team` belongs in a door's examples", "expect a tier, rep, level, queue or route")
            for x in e.expects
            if x.kind == "team"
        ]
    policy = m.Policy(
        info, fields, tuple(scores), tiers, team, tuple(exceptions), tuple(routes), sla, tuple(examples), file, tuple(sources)
    )
    return policy, problems


def door_in_policy(span: m.Span) -> Diagnostic:
    """A `door` block among a policy's blocks: the door is a file of its own."""
    return Diagnostic(
        "D001",
        ERROR,
        span,
        "a `door` block belongs in a door file of its own",
        "start a new file with `door NAME { ... }` and its `lead` block",
    )


def _plain(lit) -> object:
    """A literal as a plain value: words as str, `true`/`false` as bool."""
    if isinstance(lit, Lit):
        if lit.kind == "word" and lit.value in ("true", "false"):
            return lit.value == "true"
        return lit.value
    return lit


def _resolve_default(f: m.LeadField) -> m.LeadField:
    if not f.has_default:
        return f
    return m.LeadField(f.name, f.type, f.optional, _plain(f.default), True, f.span)


def _resolve_example(e: m.Example) -> m.Example:
    lead = tuple((k, _plain(v), span) for k, v, span in e.lead)
    return m.Example(e.name, lead, e.open, e.away, e.quota, e.lottery, e.seed, e.expects, e.span, e.at, e.assigned)


def _load_team(rel: str, span: m.Span, base_dir: Path | None, root: Path | None):
    path = team_path(rel, span, base_dir, root)
    try:
        data = path.read_bytes()
    except OSError as err:
        diag = Diagnostic(
            "P006", ERROR, span, f"cannot read the team file `{rel}` ({err.strerror or err})", f"looked for {_display_path(path)}"
        )
        raise PolicyError([diag]) from None
    text = _team_text(data, rel, span)
    file = _display_path(path)
    tree = _parse_tree(text, file, "team_file")
    build = Build(file)
    team_item = build.transform(tree)
    team = team_item[1]
    team = m.Team(team.skill_low, team.skill_high, team.skill_default, team.capacity_default, team.reps, team.span, rel)
    return team, [(file, text)], build.problems


MAX_TEAM_FILE_BYTES = 1_000_000


def repository_root(start: Path) -> Path:
    """The git work tree holding `start`, else `start` itself: the most `team from` may reach."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def team_path(rel: str, span: m.Span, base_dir: Path | None, root: Path | None = None) -> Path:
    """Where `team from REL` points, refused unless it is a `.policy` file inside the repository.

    A policy under review may be untrusted (a pull request): reading any other file would
    let it show the reviewer's machine, so the refusal never reads or quotes the file.
    """
    where = base_dir if base_dir is not None else Path(".")
    bound = (root if root is not None else repository_root(where)).resolve()
    name = rel.encode("unicode_escape").decode("ascii")

    def refuse(message: str, hint: str) -> PolicyError:
        return PolicyError([Diagnostic("P012", ERROR, span, message, hint)])

    if "\x00" in rel or any(ord(ch) < 32 for ch in rel):
        raise refuse(f"the team file name `{name}` holds a control character", "name a file such as `team.policy`")
    if Path(rel).is_absolute():
        raise refuse(
            f"`team from` takes a path relative to the policy file, not `{name}`", "name a file such as `team.policy` beside the policy"
        )
    if Path(rel).suffix != ".policy":
        raise refuse(f"the team file `{name}` is not a `.policy` file", "a team file is a policy file holding one `team { ... }` block")
    path = (where / rel).resolve()
    if not path.is_relative_to(bound):
        raise refuse(f"the team file `{name}` lies outside the policy's repository", f"keep team files inside {bound}")
    if path.exists() and not path.is_file():
        raise refuse(f"the team file `{name}` is not a regular file", "name a policy file")
    if path.is_file() and path.stat().st_size > MAX_TEAM_FILE_BYTES:
        raise refuse(f"the team file `{name}` is larger than {MAX_TEAM_FILE_BYTES:,} bytes", "a team file holds one `team { ... }` block")
    return path


def _team_text(data: bytes, rel: str, span: m.Span) -> str:
    """The team file as text; binary or non-UTF-8 content is refused without being shown."""
    if b"\x00" in data:
        raise PolicyError([Diagnostic("P006", ERROR, span, f"the team file `{rel}` is binary, not policy text", "save it as UTF-8 text")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise PolicyError(
            [
                Diagnostic(
                    "P006", ERROR, span, f"the team file `{rel}` is not UTF-8 text (line {line}, byte {err.start})", "save it as UTF-8"
                )
            ]
        ) from None


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_file(path: str | Path) -> tuple[m.Policy, list[Diagnostic]]:
    """Read and parse a policy file; a missing file is a diagnostic, not a traceback."""
    p = Path(path)
    file = _display_path(p) if p.is_absolute() else str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise PolicyError([Diagnostic("P006", ERROR, m.Span(file, 0, 0), f"cannot read policy file: {reason}")]) from None
    return parse_text(text, file, p.parent)
