"""Commands on the policy store: publish, versions, show, activate, rollback."""

from __future__ import annotations

import click

from ..lang.diagnostics import summary
from .clock import now
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


def version_json(v, active: int | None, ref: str | None = None) -> dict:
    """A version as `versions` and `show` print it in JSON (docs/schemas/versions.schema.json)."""
    return {
        "number": v.number,
        "ref": ref or f"@{v.number}",
        "policy": v.policy,
        "hash": v.hash,
        "parent": v.parent,
        "author": v.author,
        "message": v.message,
        "created_at": iso(v.created_at),
        "main_file": v.main_file,
        "active": v.number == active,
    }


def _activation_json(a) -> dict:
    return {"number": a.number, "policy": a.policy, "action": a.action, "by": a.by, "at": iso(a.at), "previous": a.previous}


def _version_line(v, active: set[int], at: str) -> str:
    mark = "  (active)" if v.number in active else ""
    return f"{at}{v.number}  {when(v.created_at)}  {v.short_hash}  {v.author}: {v.message}{mark}"


def _prefix(store, policy: str) -> str:
    """`@` in a store of one policy, `NAME@` in a store of several (how its refs read)."""
    return f"{policy}@" if len(store.policies()) > 1 else "@"


def _is_active(store, v) -> int | None:
    active = store.active(v.policy)
    return active.number if active else None


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
    from ..storage.store import StoreError, make_bundle
    from .door_cmds import is_door, load_door_cli

    if is_door(policy):  # a front door: checked alone here, and with the active teams when activated
        loaded, _ = load_door_cli(policy, ())
        print_diagnostics([d for d in loaded.diagnostics if not d.is_error], loaded.sources)
        main_file, files = make_bundle(policy, loaded.sources[loaded.door.file])
    else:
        loaded = load_policy(policy)
        print_diagnostics(loaded.warnings, loaded.sources)  # published anyway, but seen
        try:
            bundle = read_bundle(policy, current_db())
        except RefError as err:
            raise PolicydError(str(err)) from None
        main_file, files = bundle.main_file, bundle.files
    store = command_store(create=True)
    try:
        v, created = store.publish(main_file, files, message, who(author), now=now())
    except StoreError as err:
        raise PolicydError(str(err)) from None
    ref = store.ref_of(v)
    if not created:
        click.echo(f"{policy}: identical to the latest version {ref}; nothing stored", err=True)
    else:
        same = store.find_hash(v.hash)
        again = f" (same content as {store.ref_of(same)})" if same is not None and same.number != v.number else ""
        click.echo(f"{policy}: published as {ref}{again}; {summary(loaded.diagnostics)}", err=True)
    click.echo(ref)


@click.command()
@click.argument("policy", required=False)
@click.option("--activations", is_flag=True, help="Show the activation log (who made which version active, when) instead.")
@json_format()
@db_option
def versions(policy: str | None, activations: bool, fmt: str) -> None:
    """List stored versions, newest first (the active ones are marked).

    With POLICY, only that policy's versions (or activations); a store holding
    several policies lists them all, each ref naming its policy.

    \b
    Example:
      policyd versions
      policyd versions inbound --activations
      policyd versions --format json | jq '.[0].ref'
    """
    from ..storage.store import StoreError

    store = command_store()
    try:
        listed = store.versions(policy)  # an unknown POLICY is refused, naming those there are
        if activations:
            listed = store.activation_log(policy)
    except StoreError as err:
        raise PolicydError(str(err)) from None
    active = {v.number for v in store.active_versions().values()}
    several = len(store.policies()) > 1
    if fmt == "json":
        if activations:
            echo_json([_activation_json(a) for a in listed])
        else:
            echo_json([version_json(v, v.number if v.number in active else None, store.ref_of(v)) for v in listed])
        return
    if activations:
        for a in listed:
            at = f"{a.policy}@" if several else "@"
            what = "rolled back to" if a.action == "rollback" else "activated"
            before = f" (was {at}{a.previous})" if a.previous is not None else ""
            click.echo(f"{when(a.at)}  {a.by} {what} {at}{a.number}{before}")
        return
    for v in listed:
        click.echo(_version_line(v, active, f"{v.policy}@" if several else "@"))


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
            out["version"] = version_json(v, _is_active(store, v), bundle.label)
            out["activations"] = [_activation_json(a) for a in store.activation_log(v.policy) if a.number == v.number]
        echo_json({**out, "files": bundle.files})
        return
    if kind_of(ref) == "version":
        store = command_store()
        v = store.get(bundle.label)
        acts = [a for a in store.activation_log(v.policy) if a.number == v.number]
        at = _prefix(store, v.policy)
        click.echo(f"version  {bundle.label}" + ("  (active)" if _is_active(store, v) == v.number else ""))
        if at != "@":
            click.echo(f"policy   {v.policy}")
        click.echo(f"hash     {v.hash}")
        click.echo(f"parent   {at + str(v.parent) if v.parent else 'none'}")
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
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option("--by", help="Who activates it [default: your login name].")
@click.option(
    "--at", "at", metavar="TIME", help="Activate at this time instead (ISO 8601, 2026-12-07T09:00:00Z): the daemon switches then."
)
@db_option
def activate(refs: tuple[str, ...], by: str | None, at: str | None) -> None:
    """Make stored versions the active ones of their policies, all in one transaction (recorded with who and when).

    A running daemon switches every team named between the same two decisions.
    A version whose reps are reps of another active policy is refused (exit 2):
    a rep belongs to one team. A door (`policyd activate maven@4`) becomes the
    front door of `POST /v1/assign`; one whose checks with the active teams find
    an error is refused (exit 2) with the finding's words.

    \b
    Example:
      policyd activate @3 --by dana
      policyd activate emea@5
      policyd activate inbound@3 emea@2
      policyd activate inbound@4 emea@3 --at 2026-12-07T09:00:00Z

    A version whose policy says `approve versions by another` is refused (exit 2)
    until someone other than its publisher runs `policyd approve` on it.
    """
    from ..storage.approvals import NeedsApproval
    from ..storage.doors import DoorRefused
    from ..storage.store import StoreError
    from ..storage.teams import RepInTwoTeams, activate_set

    if at is not None:
        from .governance_cmds import schedule_activation

        schedule_activation(refs, at, by)
        return
    store = command_store()
    try:
        before = {v.policy: store.active(v.policy) for v in (store.get(r) for r in refs)}
        chosen = activate_set(store, list(refs), who(by), now=now())
    except (RepInTwoTeams, DoorRefused, NeedsApproval) as err:
        click.echo(f"policyd: {err}", err=True)
        raise SystemExit(2) from None
    except StoreError as err:
        raise PolicydError(str(err)) from None
    for v in chosen:
        at = _prefix(store, v.policy)
        was = before.get(v.policy)
        if was is not None and was.number == v.number:
            click.echo(f"{at}{v.number} is already active; nothing recorded", err=True)
        else:
            click.echo(f"{at}{v.number} is now active" + (f" (was {at}{was.number})" if was else ""), err=True)
    for v in chosen:
        click.echo(f"{_prefix(store, v.policy)}{v.number}")


@click.command()
@click.argument("policy", required=False)
@click.option("--by", help="Who rolls back [default: your login name].")
@db_option
def rollback(policy: str | None, by: str | None) -> None:
    """Go back to the previously active version (recorded like an activation).

    Rolling back twice goes back two activations, not forth again. A store
    holding several policies needs POLICY: each has its own history.

    \b
    Example:
      policyd rollback --by dana
      policyd rollback emea
    """
    from ..storage.doors import DoorRefused
    from ..storage.store import StoreError
    from ..storage.teams import RepInTwoTeams
    from ..storage.teams import rollback as rollback_checked

    store = command_store()
    try:
        before, v = rollback_checked(store, who(by), now=now(), policy=policy)
    except (RepInTwoTeams, DoorRefused) as err:
        click.echo(f"policyd: {err}", err=True)
        raise SystemExit(2) from None
    except StoreError as err:
        raise PolicydError(str(err)) from None
    at = _prefix(store, v.policy)
    click.echo(f"rolled back from {at}{before.number} to {at}{v.number}", err=True)
    click.echo(f"{at}{v.number}")
