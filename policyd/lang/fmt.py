"""The canonical layout of a policy file: `policyd fmt`.

Why: so that a git diff of a policy shows a change of meaning, never of spacing.
The formatter works on the tokens as written (parse.layout), not on the model, so
it cannot drop what the model does not keep: comments, `is not set` vs `is
missing`, a number written `1.50`. It only changes white space:

- one statement per line, two spaces of indent per block, `}` on its own line;
- exactly one blank line between top-level blocks; inside a block and between
  comments, blank lines are kept but collapsed to one;
- aligned columns: the names of `lead` fields, `tiers` and `sla` rules, the keys
  of the `policy` block, and the rep name and level of `rep` lines (a rep's
  `capacity`, `weight` and `speaks` join its line; `skills` lines go under it);
- a line break written inside a statement is kept (the continuation is aligned
  after an open `{`/`(`, else indented four more);
- a full-line comment stays before the token it preceded; a trailing comment stays
  at the end of its line, at its column when the code still fits before it.

Statement order is never changed. `fmt(fmt(p)) == fmt(p)` and `parse(fmt(p))` has
the same model as `parse(p)`; both are property-tested.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .layout import LayoutNode, LayoutTok, layout

INDENT = "  "
_TIGHT_BRACES = ("type_enum", "in_", "not_in_")
_NO_SPACE_BEFORE = {",", ")", "%", "?"}
_ALIGN_PAD = {"tiers_block": 2, "sla_block": 2, "lead_block": 2, "policy_block": 1}
_REP_OPTS = ("rep_capacity", "rep_weight", "rep_speaks", "rep_cap", "rep_hours", "rep_quota")


@dataclass
class _Stmt:
    tokens: list[LayoutTok]
    depth: int
    gaps: dict[int, str] = field(default_factory=dict)  # index -> forced gap before that token (no break)
    joined: bool = False  # rep option joined to its rep line


def _gap(prev: LayoutTok, cur: LayoutTok) -> str:
    if cur.value in _NO_SPACE_BEFORE or cur.value == ".." or prev.value in ("..", "("):
        return ""
    if cur.value == "(" and prev.value == "skill":
        return ""
    if prev.value == "{" and prev.rule in _TIGHT_BRACES:
        return ""
    if cur.value == "}" and cur.rule in _TIGHT_BRACES:
        return ""
    return " "


class _Printer:
    def __init__(self, comments: list[LayoutTok], token_lines: dict[int, list[LayoutTok]]):
        self.out: list[str] = []
        self.last_line = 0  # last source line consumed
        self.trailing: dict[tuple[int, int], LayoutTok] = {}
        self.full: list[LayoutTok] = []
        for c in comments:
            before = [t for t in token_lines.get(c.line, []) if t.col < c.col]
            if before:
                last = max(before, key=lambda t: t.col)
                self.trailing[(last.line, last.col)] = c
            else:
                self.full.append(c)
        self.full.sort(key=lambda c: c.line)
        self.next_full = 0
        self.block_start = False  # no blank line right after `{`

    # ------------------------------------------------------------ helpers
    def blank(self) -> None:
        if self.out and self.out[-1] != "":
            self.out.append("")

    def _maybe_blank(self, line: int) -> None:
        if self.last_line and line - self.last_line > 1 and self.out and not self.block_start:
            self.blank()

    def comments_before(self, line: int, indent: str) -> None:
        """Full-line comments standing before source line `line`."""
        while self.next_full < len(self.full) and self.full[self.next_full].line < line:
            c = self.full[self.next_full]
            self._maybe_blank(c.line)
            self.out.append(indent + c.value)
            self.last_line = c.line
            self.next_full += 1
            self.block_start = False

    @staticmethod
    def _with_comment(code: str, c: LayoutTok) -> str:
        want = c.col - 1
        if len(code) + 2 <= want:
            return code.ljust(want) + c.value
        return code + "  " + c.value

    # ------------------------------------------------------------ statements
    def statement(self, st: _Stmt, blank_ok: bool = True) -> None:
        indent = INDENT * st.depth
        toks = st.tokens
        first = toks[0]
        self.comments_before(first.line, indent)
        if blank_ok:
            self._maybe_blank(first.line)
        self.block_start = False
        line = indent + first.value
        stack: list[int] = []
        self._open(first, line, stack)
        for i in range(1, len(toks)):
            prev, cur = toks[i - 1], toks[i]
            forced = False
            c = self.trailing.get((prev.line, prev.col))
            if c is not None:
                line = self._with_comment(line, c)
                forced = True
            cont = " " * stack[-1] if stack else indent + "    "
            if self.next_full < len(self.full) and self.full[self.next_full].line < cur.line:
                self.out.append(line.rstrip())
                while self.next_full < len(self.full) and self.full[self.next_full].line < cur.line:
                    self.out.append(cont + self.full[self.next_full].value)  # no blank lines inside a statement
                    self.next_full += 1
                line = cont + cur.value
            elif forced or (i not in st.gaps and cur.line > prev.end_line):
                self.out.append(line.rstrip())
                line = cont + cur.value
            else:
                line += st.gaps.get(i, _gap(prev, cur)) + cur.value
            self._close(cur, stack)
            self._open(cur, line, stack)
        last = toks[-1]
        c = self.trailing.get((last.line, last.col))
        if c is not None:
            line = self._with_comment(line, c)
        self.out.append(line.rstrip())
        self.last_line = max(last.end_line, c.line if c is not None else 0)

    @staticmethod
    def _open(tok: LayoutTok, line: str, stack: list[int]) -> None:
        if tok.value == "(" or (tok.value == "{" and tok.rule in _TIGHT_BRACES):
            stack.append(len(line))
        elif tok.value == "{":
            stack.append(len(line) + 1)

    @staticmethod
    def _close(tok: LayoutTok, stack: list[int]) -> None:
        if tok.value in (")", "}") and stack:
            stack.pop()


def _flat(children: list) -> list[LayoutTok]:
    out: list[LayoutTok] = []
    for c in children:
        out.extend(c.tokens() if isinstance(c, LayoutNode) else [c])
    return out


def _body_statements(block: LayoutNode) -> tuple[list[LayoutTok], list[_Stmt], LayoutTok | None]:
    """A top-level block as its header (through `{`), its statements and its `}`."""
    kids = block.children
    open_i = next((i for i, c in enumerate(kids) if isinstance(c, LayoutTok) and c.value == "{"), None)
    if open_i is None:  # `team from "..."`
        return _flat(kids), [], None
    header = _flat(kids[: open_i + 1])
    close = kids[-1]
    stmts: list[_Stmt] = []
    pending: list[LayoutTok] = []
    rules: list[str] = []
    for c in kids[open_i + 1 : -1]:
        if isinstance(c, LayoutTok):
            pending.append(c)
            continue
        stmts.append(_Stmt(pending + c.tokens(), 1))
        rules.append(c.rule)
        pending = []
    if pending:
        stmts.append(_Stmt(pending, 1))
        rules.append("")
    _align(block.rule, stmts)
    if block.rule == "team_block":
        stmts = _team_lines(stmts, rules)
    return header, stmts, close


def _align(block_rule: str, stmts: list[_Stmt]) -> None:
    """Pad the first word of each statement to one column (lead fields, tiers, sla, policy keys)."""
    pad = _ALIGN_PAD.get(block_rule)
    if pad is None:
        return
    aligned = [s for s in stmts if len(s.tokens) > 1]
    if not aligned:
        return
    width = max(len(s.tokens[0].value) for s in aligned) + pad
    for s in aligned:
        s.gaps[1] = " " * (width - len(s.tokens[0].value))


def _team_lines(stmts: list[_Stmt], rules: list[str]) -> list[_Stmt]:
    """Rep lines with aligned name and level; their capacity/weight/speaks joined, skills under them."""
    reps = [s for s, r in zip(stmts, rules) if r == "rep_decl" and len(s.tokens) == 3]
    w_name = max((len(s.tokens[1].value) for s in reps), default=0) + 2
    w_level = max((len(s.tokens[2].value) for s in reps), default=0) + 2
    out: list[_Stmt] = []
    joinable = False
    for s, r in zip(stmts, rules):
        if r == "rep_decl" and len(s.tokens) == 3:
            s.gaps[1] = " "
            s.gaps[2] = " " * (w_name - len(s.tokens[1].value))
            out.append(s)
            joinable = True
        elif r in _REP_OPTS and joinable:
            rep = out[-1]
            sep = "  " if len(rep.tokens) > 3 else " " * (w_level - len(rep.tokens[2].value))
            rep.gaps[len(rep.tokens)] = sep
            rep.tokens = rep.tokens + s.tokens
        elif r in _REP_OPTS or r == "rep_skills":
            s.depth = 2
            out.append(s)
            joinable = False
        else:
            out.append(s)
            joinable = False
    return out


def format_text(text: str, file: str = "<policy>") -> str:
    """The canonical layout of `text`. Raises PolicyError when it does not parse."""
    tree, comments = layout(text, file)
    token_lines: dict[int, list[LayoutTok]] = {}
    for t in tree.tokens():
        token_lines.setdefault(t.line, []).append(t)
    p = _Printer(comments, token_lines)
    for item in tree.children:
        if not isinstance(item, LayoutNode):
            continue
        header, stmts, close = _body_statements(item)
        first = header[0]
        if p.out:
            p.blank()
            p.last_line = 0  # the blank above is the one allowed before the block's comments
            while p.next_full < len(p.full) and p.full[p.next_full].line < first.line:
                c = p.full[p.next_full]
                if p.last_line and c.line - p.last_line > 1:
                    p.blank()
                p.out.append(c.value)
                p.last_line = c.line
                p.next_full += 1
        head = _Stmt(header, 0)
        p.statement(head)
        if close is None:
            continue
        p.block_start = True
        for st in stmts:
            p.statement(st)
        p.comments_before(close.line, INDENT)
        p.statement(_Stmt([close], 0), blank_ok=False)
    # comments after the last block
    rest = p.full[p.next_full :]
    if rest:
        p.blank()
        p.last_line = 0
        for c in rest:
            if p.last_line and c.line - p.last_line > 1:
                p.blank()
            p.out.append(c.value)
            p.last_line = c.line
    while p.out and p.out[-1] == "":
        p.out.pop()
    return "\n".join(p.out) + "\n" if p.out else ""


def unified_diff(before: str, after: str, name: str) -> str:
    """A unified diff from the file as written to its canonical layout."""
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{name}", f"b/{name}"))


__all__ = ["format_text", "unified_diff"]
