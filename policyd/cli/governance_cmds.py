"""Governance commands: approve a version, list what waits for approval, scheduled activations (docs/governance.md)."""

from __future__ import annotations

import click

from .clock import NO_ZONE, NOT_A_TIME, instant, now
from .common import PolicydError, command_store, db_option, echo_json, iso, json_format, when, who


def parse_when(text: str, what: str = "--at") -> float:
    """An ISO 8601 time (`2026-12-07T09:00:00Z`, `2026-12-07T10:00+01:00`) or a date (`2026-12-07`, midnight UTC)."""
    t = instant(text)
    if t == NOT_A_TIME:
        raise click.BadParameter(
            f"{text!r} is not a time: expected ISO 8601 such as 2026-12-07T09:00:00Z or a date 2026-12-07", param_hint=what
        )
    if t == NO_ZONE:
        raise click.BadParameter(f"{text!r} has no zone: add Z or an offset such as +01:00", param_hint=what)
    return t


def now_or(as_of: str | None) -> float:
    """The time a command acts at: --as-of when given (what-ifs), else the CLI's clock (clock.now)."""
    return parse_when(as_of, "--as-of") if as_of else now()


def _domain(fn):
    """Run `fn`, turning a domain refusal into exit 2 with its words (a store failure into exit 1)."""
    from ..storage.errors import DomainError, StoreError

    try:
        return fn()
    except StoreError as err:
        raise PolicydError(err.message) from None
    except DomainError as err:
        click.echo(f"policyd: {err.message}", err=True)
        raise SystemExit(2) from None


@click.command()
@click.argument("ref", metavar="REF")
@click.option("--by", help="Who approves [default: your login name]; never the version's publisher.")
@click.option("--note", default="", help="Why it is approved (kept with the approval and in the audit log).")
@db_option
def approve(ref: str, by: str | None, note: str) -> None:
    """Approve a stored version, so it can be activated (when its policy says `approve versions by another`).

    The approver must not be the version's publisher (exit 2). The approval is
    recorded with who and when, and as an audit record. Overrides that wait for a
    second person are approved through the daemon: `POST /v1/approvals/ID/approve`.

    \b
    Example:
      policyd approve inbound@4 --by lee --note "reviewed in PR 112"
      policyd activate inbound@4 --by dana
    """
    from ..storage.approvals import approve_version

    store = command_store()
    v, a, new = _domain(lambda: approve_version(store, ref, who(by), now=now(), note=note))
    ref_text = store.ref_of(v)
    if new:
        click.echo(f"{ref_text} approved by {a['by']} (published by {v.author}); it can now be activated", err=True)
    else:
        click.echo(f"{ref_text} was approved already, by {a['by']} at {when(a['at'])}; nothing recorded", err=True)
    click.echo(ref_text)


def pending(store) -> list[dict]:
    """Everything waiting for a second person: versions, then overrides."""
    from ..storage.approvals import pending_overrides, pending_versions

    return pending_versions(store) + pending_overrides(store.db.conn)


@click.command()
@json_format()
@db_option
def approvals(fmt: str) -> None:
    """List what waits for approval: versions that cannot be activated yet, overrides held for a second person.

    \b
    Example:
      policyd approvals
      policyd approvals --format json | jq '.[] | select(.kind == "override")'
    """
    store = command_store()
    items = pending(store)
    if fmt == "json":
        echo_json([{**x, "at": iso(x["at"])} for x in items])
        return
    if not items:
        click.echo("nothing waits for approval")
        return
    for x in items:
        if x["kind"] == "version":
            click.echo(f"version   {x['ref']:<14} published by {x['publisher']} {when(x['at'])}: {x['message']}  [{x['rule']}]")
        else:
            click.echo(
                f"override  #{x['id']:<13} lead {x['lead_id']} -> {x['rep']}, asked by {x['by']} {when(x['at'])}: {x['reason']}  [{x['rule']}]"
            )


@click.group(invoke_without_command=True)
@click.option("--all", "every", is_flag=True, help="Also the schedules that ran, failed or were cancelled.")
@json_format()
@db_option
@click.pass_context
def schedule(ctx: click.Context, every: bool, fmt: str) -> None:
    """List scheduled activations, soonest first (make one with `policyd activate REF... --at TIME`).

    The daemon makes a schedule active exactly at its time: a decision made at or
    after it uses the new versions, one made before it the old. A schedule that
    falls due while no daemon runs is made active when the daemon starts.

    \b
    Example:
      policyd activate inbound@4 emea@2 --at 2026-12-07T09:00:00Z --by dana
      policyd schedule
      policyd schedule cancel 3 --by dana
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..storage import schedule as sched

    rows = sched.listing(command_store(), every)
    if fmt == "json":
        echo_json([{**r, "at": iso(r["at"]), "due": iso(r["due"]), "decided_at": iso(r["decided_at"])} for r in rows])
        return
    if not rows:
        click.echo("no activation is scheduled")
        return
    for r in rows:
        refs = " ".join(x["ref"] for x in r["versions"])
        click.echo(f"#{r['id']}  {when(r['due'])}  {refs}  by {r['by']}  {r['status']}")


@schedule.command("cancel")
@click.argument("schedule_id", type=int, metavar="ID")
@click.option("--by", help="Who cancels it [default: your login name].")
@db_option
def cancel(schedule_id: int, by: str | None) -> None:
    """Cancel a scheduled activation that has not run yet (recorded in the audit log).

    \b
    Example:
      policyd schedule cancel 3 --by dana
    """
    from ..storage import schedule as sched

    store = command_store()
    s = _domain(lambda: sched.cancel(store, schedule_id, who(by), now=now()))
    click.echo(f"scheduled activation #{s['id']} cancelled", err=True)


def schedule_activation(refs: tuple[str, ...], at: str, by: str | None) -> None:
    """`policyd activate REF... --at TIME`: checked now, made active by the daemon at TIME."""
    from ..storage import schedule as sched

    due = parse_when(at)
    store = command_store()
    s = _domain(lambda: sched.schedule(store, list(refs), due, who(by), now=now()))
    named = " ".join(x["ref"] for x in s["versions"])
    click.echo(f"{named} will become active at {when(due)} (schedule #{s['id']}; `policyd schedule cancel {s['id']}` to cancel)", err=True)
    click.echo(f"#{s['id']}")


def review_warning(ref: str, at: float) -> list:
    """A G001 warning when `ref` names a stored version whose review is due at `at` (nothing for files and git refs)."""
    from ..lang.diagnostics import WARNING, Diagnostic
    from ..storage.refs import kind_of
    from ..storage.reviews import due_message, review_due

    if kind_of(ref) != "version":
        return []
    store = command_store()
    v = store.get(ref)
    due = review_due(store, v, at)
    if due is None:
        return []
    loaded = v.load()
    span = loaded.policy.info.span if loaded.policy.info is not None else None
    return [
        Diagnostic(
            "G001",
            WARNING,
            span,
            due_message(due),
            f"review it and record the review: `policyd review {due['ref']} NEW --leads FILE --record --by NAME`",
        )
    ]


def as_of_refs(refs: list[str], as_of: str) -> list[str]:
    """`@active` and `NAME@active` read as the version active (or scheduled) at `as_of`; other refs as they are."""
    from ..storage.schedule import version_as_of

    when_t = parse_when(as_of, "--as-of")
    out = []
    for ref in refs:
        name, at, word = ref.rpartition("@")
        if at and word == "active" and ":" not in ref and "/" not in ref:
            store = command_store()
            policy = name or (store.policies()[0] if len(store.policies()) == 1 else "")
            if not policy:
                raise PolicydError(f"the store holds policies {', '.join(store.policies())}: name one, e.g. {store.policies()[-1]}@active")
            v = _domain(lambda p=policy, s=store: version_as_of(s, p, when_t))
            out.append(store.ref_of(v))
            click.echo(f"{ref} as of {when(when_t)}: {store.ref_of(v)}", err=True)
        else:
            out.append(ref)
    return out


def check_recordable(ref: str) -> None:
    """`review --record` records the review of a stored version: refuse anything else before replaying."""
    from ..storage.refs import kind_of

    if kind_of(ref) != "version":
        raise click.UsageError(f"--record records the review of a stored version; OLD is {ref!r} (use @active, inbound@3, ...)")


def record_review(ref: str, by: str | None, report: dict, as_of: str | None = None) -> None:
    """Record the review of a stored version, dated --as-of when given, else now."""
    from ..storage.reviews import record_review as record

    store = command_store()
    v = store.get(ref)
    i = report["input"]
    summary = {"replayed": i["replayed"], "rejected": i["rejected"]}
    r = _domain(lambda: record(store, v, who(by), now_or(as_of), summary=summary))
    click.echo(f"recorded as the review of {store.ref_of(v)} by {r['by']} ({when(r['at'])}); its review period starts again", err=True)
