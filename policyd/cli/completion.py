"""Shell completion of policy refs: `.policy` files, folders to descend into, and @refs from the store.

click completes through `_POLICYD_COMPLETE` (see the README, "Policy repositories").
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem

SYMBOLIC = ("@active", "@latest", "@previous")


def policy_refs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Policy files and folders matching what was typed; after `@`, the store's refs and version numbers."""
    if incomplete.startswith("@"):
        return [CompletionItem(r) for r in (*SYMBOLIC, *_versions(ctx)) if r.startswith(incomplete)]
    folder, _, stem = incomplete.rpartition("/")
    where = folder or "."
    try:
        names = sorted(os.listdir(where if folder or not incomplete.startswith("/") else "/"))
    except OSError:
        return []
    out = []
    for name in names:
        if not name.startswith(stem) or (name.startswith(".") and not stem.startswith(".")):
            continue
        path = f"{folder}/{name}" if folder else name
        if os.path.isdir(path):
            out.append(CompletionItem(path + "/", type="dir"))
        elif name.endswith(".policy"):
            out.append(CompletionItem(path, type="file"))
    return out


def _versions(ctx: click.Context) -> list[str]:
    from ..storage.store import default_db_path

    path = (ctx.meta.get("policyd.db") if ctx is not None else None) or default_db_path()
    if not os.path.exists(path):
        return []
    try:
        from ..storage.store import Store

        store = Store(path)
        return [store.ref_of(v) for v in store.versions()]  # `inbound@3` once the store holds several policies
    except Exception:  # completion must never print a traceback into the shell
        return []
