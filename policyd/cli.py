"""The `policyd` command line: thin click commands over library calls.

Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 an error (bad
policy, refused lead, failing example), 2 usage, 3 changes found (`--exit-code`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .diagnostics import PolicyError, format_all, summary
from .leads import LeadError
from .state import State, StateError


class PolicydError(click.ClickException):
    """A user-facing error: printed without a traceback, exit 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"policyd: {self.message}", err=True)


def _print_diagnostics(diags, sources) -> None:
    if diags:
        click.echo(format_all(diags, sources), err=True)


def load_policy(ref: str, *, allow_errors: bool = False):
    """Load a policy; print its diagnostics and stop when it has errors."""
    try:
        loaded = _resolve(ref)
    except PolicyError as err:
        _print_diagnostics(err.diagnostics, err.sources)
        raise PolicydError(f"{ref}: cannot be parsed") from None
    if loaded.errors and not allow_errors:
        _print_diagnostics(loaded.diagnostics, loaded.sources)
        raise PolicydError(f"{ref}: {summary(loaded.diagnostics)}; fix the errors first")
    return loaded


def _resolve(ref: str):
    """A policy by file path. (Stored versions and git revisions: see refs.py once it exists.)"""
    from .load import load_path

    return load_path(ref)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="policyd")
def main() -> None:
    """policyd: fair lead distribution, written as code.

    Write the policy in a .policy file, check it, run its examples, and ask who
    gets a lead and why:

    \b
      policyd check policies/inbound.policy
      policyd test policies/inbound.policy
      policyd assign policies/inbound.policy --lead lead.json
    """


@main.command()
@click.argument("policy")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diagnostics as gcc-style text or JSON for editors and CI.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def check(policy: str, fmt: str, strict: bool) -> None:
    """Check a policy for errors and warnings.

    Exits 1 when there are errors (or warnings with --strict), 0 otherwise.

    \b
    Example:
      policyd check policies/inbound.policy
      policyd check policies/inbound.policy --format json | jq '.[].code'
    """
    try:
        loaded = _resolve(policy)
        diags, sources = loaded.diagnostics, loaded.sources
    except PolicyError as err:
        diags, sources = err.diagnostics, err.sources
    if fmt == "json":
        from .diagnostics import sort_key

        click.echo(json.dumps([d.to_json() for d in sorted(diags, key=sort_key)], indent=2))
    else:
        _print_diagnostics(diags, sources)
        click.echo(f"{policy}: {summary(diags)}", err=True)
    failing = any(d.is_error for d in diags) or (strict and any(d.severity == "warning" for d in diags))
    sys.exit(1 if failing else 0)


def _read_json(source: str, what: str):
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise PolicydError(f"cannot read {what} {source}: {err.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PolicydError(f"{source}:{err.lineno}:{err.colno}: {what} is not valid JSON: {err.msg}") from None


@main.command()
@click.argument("policy")
@click.option("--lead", "lead_file", required=True, help="The lead as a JSON object, from a file or - for stdin.")
@click.option("--state", "state_file", help="Runtime state as JSON (open counts, away reps, cursors).")
@click.option("--seed", default="policyd", show_default=True, help="Lottery seed: the same seed gives the same draw.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]), default="text", show_default=True)
@click.option("--why-not", "why_not", metavar="REP", help="Also say why REP did not get the lead.")
@click.option("--no-lottery", is_flag=True, help="Skip lottery steps (as examples do by default).")
def assign(policy: str, lead_file: str, state_file: str | None, seed: str, fmt: str, why_not: str | None, no_lottery: bool) -> None:
    """Decide who gets one lead, and explain it line by line.

    \b
    Example:
      echo '{"id": "L-9", "company": "Acme", "employees": 1500, "budget": "stated",
             "authority": "decision_maker", "industry": "it", "segment": "enterprise",
             "country": "US"}' | policyd assign policies/inbound.policy --lead - --why-not erin
    """
    from .explain import render

    loaded = load_policy(policy)
    lead = _read_json(lead_file, "lead")
    state = State()
    if state_file:
        try:
            state = State.load(state_file)
        except StateError as err:
            raise PolicydError(str(err)) from None
    try:
        decision = loaded.compiled.decide(lead, state, seed, lottery=not no_lottery)
    except LeadError as err:
        for e in err.errors:
            click.echo(f"{lead_file}: {e.message}", err=True)
        raise PolicydError(f"the lead was refused ({len(err.errors)} problem{'s' if len(err.errors) != 1 else ''})") from None
    if why_not is not None and why_not not in loaded.compiled.rep_index:
        from .diagnostics import did_you_mean

        guess = did_you_mean(why_not, loaded.compiled.rep_names)
        raise PolicydError(f"--why-not {why_not}: no such rep" + (f"; did you mean {guess}?" if guess else ""))
    click.echo(render(loaded.compiled, decision, fmt, why_not), nl=False)


@main.command("test")
@click.argument("policy")
@click.option("-v", "--verbose", is_flag=True, help="Print the explanation of every example, not only failures.")
def test_cmd(policy: str, verbose: bool) -> None:
    """Run the policy's `example` blocks; exit 1 when one fails.

    A failing example prints what it expected and the explanation of the decision
    it got.

    \b
    Example:
      policyd test policies/inbound.policy
    """
    from .examples import run_examples

    loaded = load_policy(policy)
    results = run_examples(loaded.compiled)
    failed = 0
    for r in results:
        if r.ok:
            click.echo(f"PASS  {r.name}")
        else:
            failed += 1
            click.echo(f"FAIL  {r.name}  ({loaded.policy.file}:{r.line})")
            for problem in r.problems:
                click.echo(f"      {problem}")
        if (not r.ok or verbose) and r.explanation:
            click.echo("")
            click.echo("      " + r.explanation.rstrip("\n").replace("\n", "\n      "))
            click.echo("")
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if not results:
        click.echo(f"{policy}: no examples to run", err=True)
    sys.exit(1 if failed else 0)


# ---- daemon commands (serve, token, audit)
def _db_option(fn):
    return click.option("--db", "db", default=None, metavar="FILE", help="The SQLite file (default: $POLICYD_DB or policyd.db).")(fn)


def _db_path(db: str | None) -> str:
    from .store import default_db_path

    return db or default_db_path()


@main.command()
@_db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8377, show_default=True, type=int, help="Port; 0 picks a free one (printed on start).")
@click.option("--sla-interval", default=1.0, show_default=True, type=float, help="Seconds between SLA deadline checks.")
@click.option("--access-log", is_flag=True, help="Log method, path, status and time of every request (never tokens or queries).")
def serve(db: str | None, host: str, port: int, sla_interval: float, access_log: bool) -> None:
    """Serve the active stored version over HTTP (JSON API under /v1, pages).

    `policyd activate` in another shell takes effect for the next decision,
    without a restart. Every endpoint but /v1/health needs a token.

    \b
    Example:
      policyd publish policies/inbound.policy -m "first version"
      policyd activate @1
      policyd token create --role assign --name crm
      policyd serve --port 8377
    """
    from .serve import run

    if sla_interval <= 0:
        raise PolicydError("--sla-interval must be more than 0")
    try:
        run(_db_path(db), host, port, sla_interval, access_log)
    except OSError as err:
        raise PolicydError(f"cannot listen on {host}:{port}: {err.strerror}") from None


@main.group()
def token() -> None:
    """Bearer tokens for the daemon (roles: read < assign < admin).

    \b
    Example:
      policyd token create --role assign --name crm
      policyd token list
    """


@token.command("create")
@_db_option
@click.option(
    "--role",
    required=True,
    type=click.Choice(["read", "assign", "admin"]),
    help="read: dashboards; assign: CRM clients; admin: overrides, availability, activation.",
)
@click.option("--name", required=True, help="Who or what uses the token (shown in the audit log).")
def token_create(db: str | None, role: str, name: str) -> None:
    """Create a token and print it once (only its sha256 is stored).

    \b
    Example:
      TOKEN=$(policyd token create --role assign --name crm)
    """
    import time

    from . import audit, tokens
    from .runtime import connect

    conn = connect(_db_path(db))
    try:
        secret = tokens.create(conn, name, role)
    except tokens.TokenError as err:
        raise PolicydError(str(err)) from None
    audit.append_one(conn, time.time(), "token_create", "cli", {"name": name, "role": role})
    click.echo(secret)
    click.echo(f"token {name!r} (role {role}) created; it is shown only this once", err=True)


@token.command("list")
@_db_option
def token_list(db: str | None) -> None:
    """List tokens (names and roles; the tokens themselves are not stored).

    \b
    Example:
      policyd token list
    """
    from . import tokens
    from .runtime import connect

    for t in tokens.listing(connect(_db_path(db))):
        click.echo(f"{t['id']}\t{t['role']}\t{t['name']}")


@main.group("audit")
def audit_cmd() -> None:
    """The hash-chained audit log of the daemon.

    \b
    Example:
      policyd audit verify
      policyd audit export > audit.jsonl
    """


@audit_cmd.command("verify")
@_db_option
def audit_verify(db: str | None) -> None:
    """Check the chain; name every edited, deleted or reordered record (exit 1).

    \b
    Example:
      policyd audit verify --db policyd.db
    """
    from . import audit
    from .runtime import connect

    path = _db_path(db)
    if not Path(path).exists():
        raise PolicydError(f"no database at {path}")
    n, problems = audit.verify(connect(path))
    for p in problems:
        click.echo(f"{path}: {p.message}", err=True)
    if problems:
        raise PolicydError(f"audit log is not intact: {len(problems)} problem{'s' if len(problems) != 1 else ''} in {n} records")
    click.echo(f"{path}: {n} records, chain intact", err=True)


@audit_cmd.command("export")
@_db_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file instead of stdout.")
def audit_export(db: str | None, output: str | None) -> None:
    """Write the audit log as JSON Lines (one record a line, in order).

    \b
    Example:
      policyd audit export | jq -c 'select(.kind == "override")'
    """
    from . import audit
    from .runtime import connect

    path = _db_path(db)
    if not Path(path).exists():
        raise PolicydError(f"no database at {path}")
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        for r in audit.records(connect(path)):
            out.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    finally:
        if output:
            out.close()
