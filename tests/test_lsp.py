"""`policyd lsp` answers a real LSP client over stdio (pytest-lsp starts it as a child process)."""

from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

from .conftest import POLICIES, ROOT

EMEA = POLICIES / "emea.policy"
TEXT = EMEA.read_text(encoding="utf-8")
LINES = TEXT.splitlines()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "policyd", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(t.InitializeParams(capabilities=t.ClientCapabilities(), root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


def at(needle: str, nth: int = 0, offset: int = 0) -> t.Position:
    """The position of the nth occurrence of `needle` in the EMEA policy."""
    seen = 0
    for n, line in enumerate(LINES):
        col = line.find(needle)
        while col >= 0:
            if seen == nth:
                return t.Position(line=n, character=col + offset)
            seen += 1
            col = line.find(needle, col + 1)
    raise AssertionError(needle)


async def open_doc(client: LanguageClient, text: str, name: str = "emea.policy", version: int = 1) -> str:
    uri = (POLICIES / name).as_uri()
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="policyd", version=version, text=text))
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def doc(uri: str) -> t.TextDocumentIdentifier:
    return t.TextDocumentIdentifier(uri=uri)


@pytest.mark.asyncio
async def test_diagnostics_as_you_type_with_checks_codes(client: LanguageClient):
    uri = await open_doc(client, TEXT)
    assert list(client.diagnostics[uri]) == []
    typo = TEXT.replace("then veteran", "then veteren")
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=typo)],
        )
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (d,) = client.diagnostics[uri]
    assert (d.code, d.severity, d.source) == ("N003", t.DiagnosticSeverity.Warning, "policyd")
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (65, 31, 38)  # check's 66:32
    assert d.message.startswith("no rep has level `veteren`")
    broken = TEXT.replace("tiers {", "tiers {{", 1)
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=broken)],
        )
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [x.code for x in client.diagnostics[uri]] and all(x.code.startswith("P") for x in client.diagnostics[uri])
    # hover still works from the last text that parsed
    hover = await client.text_document_hover_async(t.HoverParams(doc(uri), at("rep anna", offset=4)))
    assert hover is not None and "rep anna" in hover.contents.value


@pytest.mark.asyncio
async def test_hover_on_a_rep_a_field_and_a_tier(client: LanguageClient):
    uri = await open_doc(client, TEXT)
    rep = await client.text_document_hover_async(t.HoverParams(doc(uri), at("rep anna", offset=5)))
    assert rep.contents.value == (
        "**rep anna**: level `veteran`, capacity 10 (team default), weight 3\n\n"
        "skills: enterprise 3, partner 2 (default 1, scale 1..3)\n\nspeaks: en, de"
    )
    tier = await client.text_document_hover_async(t.HoverParams(doc(uri), at("route hot", offset=7)))
    assert tier.contents.value.startswith("**tier hot**: total score `5..6`; route at line 63")
    line = next(n for n, text in enumerate(LINES) if text.lstrip().startswith("segment"))
    field = await client.text_document_hover_async(
        t.HoverParams(doc(uri), t.Position(line=line, character=LINES[line].index("segment") + 1))
    )
    assert field.contents.value.startswith("**lead field segment**: `one of ")
    assert await client.text_document_hover_async(t.HoverParams(doc(uri), t.Position(line=0, character=0))) is None  # a comment


@pytest.mark.asyncio
async def test_go_to_definition_of_reps_tiers_routes_and_fields(client: LanguageClient):
    uri = await open_doc(client, TEXT)
    otherwise = at("otherwise route", offset=len("otherwise route "))
    route = await client.text_document_definition_async(t.DefinitionParams(doc(uri), otherwise))
    target = LINES[route.range.start.line]
    assert route.uri == uri and target.startswith(f"route {target.split()[1]}")
    tier_name = target.split()[1]
    tier = await client.text_document_definition_async(t.DefinitionParams(doc(uri), at(f'route {tier_name} "', offset=7)))
    assert LINES[tier.range.start.line].strip().startswith(tier_name) and 38 <= tier.range.start.line <= 44  # in the tiers block
    field_line = next(n for n, text in enumerate(LINES) if "is partner" in text or "segment" in text and "when" in text)
    col = LINES[field_line].index("segment") if "segment" in LINES[field_line] else LINES[field_line].index("partner")
    field = await client.text_document_definition_async(t.DefinitionParams(doc(uri), t.Position(line=field_line, character=col + 1)))
    assert field is not None and field.range.start.line < 38  # the lead block comes first
    # a rep lives in the team file that `team from` loads
    mention = next(n for n, text in enumerate(LINES) if "bruno" in text)
    rep = await client.text_document_definition_async(
        t.DefinitionParams(doc(uri), t.Position(line=mention, character=LINES[mention].index("bruno") + 1))
    )
    assert rep.uri == (POLICIES / "emea-team.policy").resolve().as_uri()
    team_lines = (POLICIES / "emea-team.policy").read_text(encoding="utf-8").splitlines()
    assert team_lines[rep.range.start.line][rep.range.start.character : rep.range.end.character] == "bruno"


@pytest.mark.asyncio
async def test_completion_of_fields_reps_levels_skills_and_tiers(client: LanguageClient):
    uri = await open_doc(client, TEXT)
    got = await client.text_document_completion_async(t.CompletionParams(doc(uri), t.Position(line=65, character=2)))
    kinds = {item.label: item.kind for item in got.items}
    assert kinds["segment"] == t.CompletionItemKind.Field
    assert kinds["anna"] == t.CompletionItemKind.Variable
    assert kinds["veteran"] == t.CompletionItemKind.EnumMember
    assert kinds["enterprise"] == t.CompletionItemKind.Property
    assert kinds["hot"] == t.CompletionItemKind.Enum


@pytest.mark.asyncio
async def test_formatting_goes_through_fmt(client: LanguageClient):
    messy = TEXT.replace("\n  ", "\n      ")
    uri = await open_doc(client, messy)
    edits = await client.text_document_formatting_async(
        t.DocumentFormattingParams(doc(uri), t.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    (edit,) = edits
    assert edit.new_text == TEXT and edit.range.start == t.Position(line=0, character=0)
    clean = await open_doc(client, TEXT, "emea-copy.policy")
    assert await client.text_document_formatting_async(t.DocumentFormattingParams(doc(clean), t.FormattingOptions(2, True))) in (
        [],
        (),
    )  # already canonical: no edit


@pytest.mark.asyncio
async def test_a_quick_fix_for_a_did_you_mean_diagnostic(client: LanguageClient):
    uri = await open_doc(client, TEXT.replace("then veteran", "then veteren"))
    (d,) = client.diagnostics[uri]
    actions = await client.text_document_code_action_async(t.CodeActionParams(doc(uri), d.range, t.CodeActionContext(diagnostics=[d])))
    (fix,) = actions
    assert fix.kind == t.CodeActionKind.QuickFix and fix.title == "Change to `veteran` (N003)"
    (edit,) = fix.edit.changes[uri]
    assert edit.new_text == "veteran" and (edit.range.start.line, edit.range.start.character, edit.range.end.character) == (65, 31, 38)
