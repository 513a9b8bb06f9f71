"""Commands on the policy store: publish, versions, show, activate, rollback."""

from __future__ import annotations

import click

from ..lang.diagnostics import summary
from .common import (
    PolicydError,
    command_store,
    current_db,
    db_option,
    echo_json,
    iso,
    json_format,
    load_policy,
    print_diagnostics,
    when,
    who,
)


def version_json(v, active: int | None) -> dict:
    """A version as `versions` and `show` print it in JSON (docs/schemas/versions.schema.json)."""
    return {
        "number": v.number,
        "ref": f"@{v.number}",
        "hash": v.hash,
        "parent": v.parent,
        "author": v.author,
        "message": v.message,
        "created_at": iso(v.created_at),
        "main_file": v.main_file,
        "active": v.number == active,
    }


def _activation_json(a) -> dict:
    return {"number": a.number, "action": a.action, "by": a.by, "at": iso(a.at), "previous": a.previous}


def _version_line(v, active: int | None) -> str:
    mark = "  (active)" if v.number == active else ""
    return f"@{v.number}  {when(v.created_at)}  {v.short_hash}  {v.author}: {v.message}{mark}"


@click.command()
@click.argument("policy")
@click.option("-m", "--message", required=True, help="Why this version: shown in `policyd versions`.")
@click.option("--author", help="Who publishes it [default: your login name].")
@db_option
def publish(policy: str, message: str, author: str | None) -> None:
    """Store a policy (with its `team from` files) as the next version.

    A policy with check errors is refused (the errors are printed). Content
    identical to the latest version stores nothing. Publishing does not make the
    version active: run `policyd activate @N`.

    \b
    Example:
      policyd publish policies/inbound.policy -m "lottery 30% -> 25%" --author dana
      policyd publish main:policies/inbound.policy -m "as merged"
    """
    from ..storage.refs import RefError, read_bundle
    from ..storage.store import StoreError

    loaded = load_policy(policy)
    print_diagnostics(loaded.warnings, loaded.sources)  # published anyway, but seen
    try:
        bundle = read_bundle(policy, current_db())
    except RefError as err:
        raise PolicydError(str(err)) from None
    store = command_store(create=True)
    try:
        v, created = store.publish(bundle.main_file, bundle.files, message, who(author))
    except StoreError as err:
        raise PolicydError(str(err)) from None
    if not created:
        click.echo(f"{policy}: identical to the latest version @{v.number}; nothing stored", err=True)
    else:
        same = store.find_hash(v.hash)
        again = f" (same content as @{same.number})" if same is not None and same.number != v.number else ""
        click.echo(f"{policy}: published as @{v.number}{again}; {summary(loaded.diagnostics)}", err=True)
    click.echo(f"@{v.number}")


@click.command()
@click.option("--activations", is_flag=True, help="Show the activation log (who made which version active, when) instead.")
@json_format()
@db_option
def versions(activations: bool, fmt: str) -> None:
    """List stored versions, newest first (the active one is marked).

    \b
    Example:
      policyd versions
      policyd versions --activations
      policyd versions --format json | jq '.[0].ref'
    """
    store = command_store()
    active = store.active()
    if fmt == "json":
        if activations:
            echo_json([_activation_json(a) for a in store.activation_log()])
        else:
            echo_json([version_json(v, active.number if active else None) for v in store.versions()])
        return
    if activations:
        for a in store.activation_log():
            what = "rolled back to" if a.action == "rollback" else "activated"
            before = f" (was @{a.previous})" if a.previous is not None else ""
            click.echo(f"{when(a.at)}  {a.by} {what} @{a.number}{before}")
        return
    for v in store.versions():
        click.echo(_version_line(v, active.number if active else None))


@click.command()
@click.argument("ref")
@click.option("--raw", is_flag=True, help="Print only the policy file's text (for piping).")
@json_format()
@db_option
def show(ref: str, raw: bool, fmt: str) -> None:
    """Show a policy by ref: a stored version's details and files.

    Works for any ref: @N, @active, @previous, a git revision or a file.

    \b
    Example:
      policyd show @active
      policyd show @3 --raw > inbound.policy
      policyd show @active --format json | jq -r '.files[.main_file]'
    """
    from ..storage.refs import RefError, kind_of, read_bundle

    try:
        bundle = read_bundle(ref, current_db())
    except RefError as err:
        raise PolicydError(str(err)) from None
    if raw:
        click.echo(bundle.files[bundle.main_file], nl=False)
        return
    if fmt == "json":
        out = {"ref": bundle.label, "kind": bundle.kind, "version": None, "activations": [], "main_file": bundle.main_file}
        if kind_of(ref) == "version":
            store = command_store()
            v = store.get(bundle.label)
            active = store.active()
            out["version"] = version_json(v, active.number if active else None)
            out["activations"] = [_activation_json(a) for a in store.activation_log() if a.number == v.number]
        echo_json({**out, "files": bundle.files})
        return
    if kind_of(ref) == "version":
        store = command_store()
        v = store.get(bundle.label)
        active = store.active()
        acts = [a for a in store.activation_log() if a.number == v.number]
        click.echo(f"version  @{v.number}" + ("  (active)" if active and active.number == v.number else ""))
        click.echo(f"hash     {v.hash}")
        click.echo(f"parent   {'@' + str(v.parent) if v.parent else 'none'}")
        click.echo(f"author   {v.author}")
        click.echo(f"date     {when(v.created_at)}")
        click.echo(f"message  {v.message}")
        for a in reversed(acts):
            click.echo(f"{'activated' if a.action == 'activate' else 'restored':10}{when(a.at)} by {a.by}")
    else:
        click.echo(f"ref      {bundle.label} ({bundle.kind})")
    for name in [bundle.main_file] + sorted(n for n in bundle.files if n != bundle.main_file):
        click.echo(f"\n==> {name} <==")
        click.echo(bundle.files[name], nl=False)


@click.command()
@click.argument("ref")
@click.option("--by", help="Who activates it [default: your login name].")
@db_option
def activate(ref: str, by: str | None) -> None:
    """Make a stored version the active one (recorded with who and when).

    \b
    Example:
      policyd activate @3 --by dana
    """
    from ..storage.store import StoreError

    store = command_store()
    try:
        before = store.active()
        v = store.activate(ref, who(by))
    except StoreError as err:
        raise PolicydError(str(err)) from None
    if before is not None and before.number == v.number:
        click.echo(f"@{v.number} is already active; nothing recorded", err=True)
    else:
        was = f" (was @{before.number})" if before else ""
        click.echo(f"@{v.number} is now active{was}", err=True)
    click.echo(f"@{v.number}")


@click.command()
@click.option("--by", help="Who rolls back [default: your login name].")
@db_option
def rollback(by: str | None) -> None:
    """Go back to the previously active version (recorded like an activation).

    Rolling back twice goes back two activations, not forth again.

    \b
    Example:
      policyd rollback --by dana
    """
    from ..storage.store import StoreError

    store = command_store()
    try:
        before, v = store.rollback(who(by))
    except StoreError as err:
        raise PolicydError(str(err)) from None
    click.echo(f"rolled back from @{before.number} to @{v.number}", err=True)
    click.echo(f"@{v.number}")
