"""`policyd lsp`: the language server over stdio. The one module that imports pygls and lsprotocol.

Every request is answered from analysis.py; this module only converts to and from LSP
types. Documents are analysed on open and on every change (full text sync), and their
diagnostics published with `check`'s codes.
"""

from __future__ import annotations

from importlib.metadata import version
from urllib.parse import unquote, urlparse

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer

from ..lang.diagnostics import ERROR, NOTE, WARNING
from . import analysis

SEVERITY = {ERROR: t.DiagnosticSeverity.Error, WARNING: t.DiagnosticSeverity.Warning, NOTE: t.DiagnosticSeverity.Information}
KIND = {
    "field": t.CompletionItemKind.Field,
    "tier": t.CompletionItemKind.Enum,
    "rep": t.CompletionItemKind.Variable,
    "level": t.CompletionItemKind.EnumMember,
    "skill": t.CompletionItemKind.Property,
}


def _path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def _uri(path: str) -> str:
    from pathlib import Path

    return Path(path).resolve().as_uri()


def _range(line: int, start: int, end_line: int, end: int) -> t.Range:
    return t.Range(start=t.Position(line=line, character=start), end=t.Position(line=end_line, character=end))


def build() -> LanguageServer:
    """A server with every feature registered (built on demand: importing this module starts nothing)."""
    server = LanguageServer("policyd", version("policyd"), text_document_sync_kind=t.TextDocumentSyncKind.Full)
    cache: dict[str, analysis.Analysis] = {}
    last_good: dict[str, analysis.Analysis] = {}

    def refresh(uri: str) -> None:
        doc = server.workspace.get_text_document(uri)
        a = analysis.analyse(doc.source, _path(uri))
        cache[uri] = a
        if a.loaded is not None:
            last_good[uri] = a
        diags = []
        for d in a.diagnostics:
            line, col, end_line, end_col = analysis.to_range(d)
            if d.span.file != a.path:
                line, col, end_line, end_col = 0, 0, 0, 1  # a finding in the team file: shown at the top, naming it
            message = d.message if d.span.file == a.path else f"{d.span.file}:{d.span.line}: {d.message}"
            diags.append(
                t.Diagnostic(
                    range=_range(line, col, end_line, end_col),
                    message=message + (f"\nhint: {d.hint}" if d.hint else ""),
                    severity=SEVERITY.get(d.severity, t.DiagnosticSeverity.Information),
                    code=d.code,
                    source="policyd",
                )
            )
        server.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=doc.version))

    def known(uri: str) -> analysis.Analysis | None:
        """The current text, with the model of the last text that parsed."""
        a = cache.get(uri)
        good = last_good.get(uri)
        if a is None or good is None:
            return a
        return analysis.Analysis(a.text, a.path, a.diagnostics, good.loaded, good.sources)

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LanguageServer, params: t.DidOpenTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LanguageServer, params: t.DidChangeTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LanguageServer, params: t.DidSaveTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LanguageServer, params: t.DidCloseTextDocumentParams) -> None:
        cache.pop(params.text_document.uri, None)
        last_good.pop(params.text_document.uri, None)

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    def hover(ls: LanguageServer, params: t.HoverParams) -> t.Hover | None:
        a = known(params.text_document.uri)
        found = a and analysis.hover(a, params.position.line, params.position.character)
        if not found:
            return None
        text, (line, start, end) = found
        return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text), range=_range(line, start, line, end))

    @server.feature(t.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: LanguageServer, params: t.DefinitionParams) -> t.Location | None:
        a = known(params.text_document.uri)
        place = a and analysis.definition(a, params.position.line, params.position.character)
        if not place:
            return None
        uri = params.text_document.uri if place.file == a.path else _uri(place.file)
        return t.Location(uri=uri, range=_range(place.line, place.start, place.line, place.end))

    @server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=["(", " "]))
    def completion(ls: LanguageServer, params: t.CompletionParams) -> t.CompletionList:
        a = known(params.text_document.uri)
        items = [
            t.CompletionItem(label=label, kind=KIND[kind], detail=detail) for label, kind, detail in (analysis.completions(a) if a else [])
        ]
        return t.CompletionList(is_incomplete=False, items=items)

    @server.feature(t.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: LanguageServer, params: t.DocumentFormattingParams) -> list[t.TextEdit] | None:
        from ..lang.diagnostics import PolicyError
        from ..lang.fmt import format_text

        doc = ls.workspace.get_text_document(params.text_document.uri)
        try:
            out = format_text(doc.source, _path(doc.uri))
        except PolicyError:
            return None  # a text that does not parse is left alone; its diagnostics say why
        if out == doc.source:
            return []
        lines = doc.source.splitlines()
        return [t.TextEdit(range=_range(0, 0, len(lines) + 1, 0), new_text=out)]

    @server.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix]))
    def code_action(ls: LanguageServer, params: t.CodeActionParams) -> list[t.CodeAction]:
        a = cache.get(params.text_document.uri)
        if a is None:
            return []
        wanted = {(d.code, d.range.start.line) for d in params.context.diagnostics} if params.context.diagnostics else None
        out = []
        for d in a.diagnostics:
            line = analysis.to_range(d)[0]
            if wanted is not None and (d.code, line) not in wanted:
                continue
            if not (params.range.start.line <= line <= params.range.end.line) and wanted is None:
                continue
            fix = analysis.quick_fix(a, d)
            if fix is None:
                continue
            new, (ln, start, end) = fix
            edit = t.TextEdit(range=_range(ln, start, ln, end), new_text=new)
            out.append(
                t.CodeAction(
                    title=f"Change to `{new}` ({d.code})",
                    kind=t.CodeActionKind.QuickFix,
                    edit=t.WorkspaceEdit(changes={params.text_document.uri: [edit]}),
                    is_preferred=True,
                )
            )
        return out

    return server


def serve() -> None:
    """Answer an editor over stdin and stdout until it shuts the server down."""
    build().start_io()
