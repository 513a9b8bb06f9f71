"""`policyd lsp`: the language server, for editors (editors/vscode wires it up)."""

from __future__ import annotations

import click


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin and stdout (the default; editors often pass it).")
def lsp(stdio: bool) -> None:
    """Run the policy language server over stdio: diagnostics as you type, hover, go to definition,
    completion, formatting and quick fixes.

    \b
    Example (an editor starts it; by hand it waits for LSP messages):
      policyd lsp
    """
    from ..lsp.server import serve

    serve()
