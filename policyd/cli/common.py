"""What every command shares: the error type, diagnostics output, policy refs, --db, input files."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..engine.state import State, StateError
from ..lang.diagnostics import PolicyError, format_all, summary

if TYPE_CHECKING:
    from ..checks.load import Loaded
    from ..storage.store import Store


class PolicydError(click.ClickException):
    """A user-facing error: printed without a traceback, exit 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"policyd: {self.message}", err=True)


def print_diagnostics(diags, sources) -> None:
    """Diagnostics go to stderr (data, such as `--format json`, goes to stdout)."""
    if diags:
        click.echo(format_all(diags, sources), err=True)


def load_policy(ref: str, *, allow_errors: bool = False) -> Loaded:
    """Load a policy; print its diagnostics and stop when it has errors."""
    return loaded_or_stop(lambda: resolve(ref), ref, allow_errors=allow_errors)


def loaded_or_stop(load: Callable[[], Any], label: str, *, allow_errors: bool = False) -> Any:
    """What `load` returns (a policy or a door, checked); on a parse error or errors, their
    diagnostics on stderr and a stop naming `label`, the same words for every command."""
    try:
        loaded = load()
    except PolicyError as err:
        print_diagnostics(err.diagnostics, err.sources)
        raise PolicydError(f"{label}: cannot be parsed") from None
    if loaded.errors and not allow_errors:
        print_diagnostics(loaded.diagnostics, loaded.sources)
        raise PolicydError(f"{label}: {summary(loaded.diagnostics)}; fix the errors first")
    return loaded


def resolve(ref: str) -> Loaded:
    """A policy by ref: a file path, a stored version (@3, @active) or a git revision (REV:PATH); see refs.py."""
    from ..storage.refs import RefError, load_ref

    try:
        return load_ref(ref, current_db())
    except RefError as err:
        raise PolicydError(str(err)) from None


def current_db() -> str:
    """The store named by --db on this command line, else POLICYD_DB, else ./policyd.db."""
    from ..storage.store import default_db_path

    ctx = click.get_current_context(silent=True)
    return (ctx.meta.get("policyd.db") if ctx is not None else None) or default_db_path()


def _remember_db(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        ctx.meta["policyd.db"] = value
    return value


def db_option(f):
    """`--db FILE` (or POLICYD_DB): the policy store, for @N refs and the store commands."""
    return click.option(
        "--db",
        metavar="FILE",
        envvar="POLICYD_DB",
        expose_value=False,
        is_eager=True,
        callback=_remember_db,
        help="The policy store [default: ./policyd.db, or $POLICYD_DB].",
    )(f)


def read_json(source: str, what: str) -> Any:
    """JSON from a file or `-` (stdin), read as the daemon reads a request (web/safejson.py): bad JSON names
    its line and column; NaN, 1e400, over-long integers, lone surrogates and deep nesting name their path."""
    from ..web.safejson import JsonRefused, loads

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as err:
        raise PolicydError(f"cannot read {what} {source}: {err.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PolicydError(f"{source}: {what} is not UTF-8 text (byte {err.start})") from None
    try:
        return loads(text)
    except JsonRefused as err:
        if err.at:
            line, col, reason = err.at
            raise PolicydError(f"{source}:{line}:{col}: {what} is not valid JSON: {reason}") from None
        raise PolicydError(f"{source}: {what} refused: {err.message}") from None


def load_state(path: str) -> State:
    """A runtime state file, read by the engine's own reader (State.load)."""
    try:
        return State.load(path)
    except StateError as err:
        raise PolicydError(str(err)) from None


def command_store(create: bool = False) -> Store:
    """The store for this command; only `publish` may create the file."""
    from ..storage.refs import RefError, open_store
    from ..storage.store import Store, StoreError

    path = current_db()
    try:
        return Store(path) if create else open_store(path)
    except (RefError, StoreError) as err:
        raise PolicydError(str(err)) from None


def who(name: str | None) -> str:
    """Who did it: the name given, else the login name (recorded with versions and activations)."""
    if name:
        return name
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def when(ts: float) -> str:
    """A stored time as the CLI shows it, in UTC."""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def color_option(f):
    """`--color auto|always|never`: colour on a terminal; NO_COLOR (any value) turns `auto` off."""
    return click.option(
        "--color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        help="Colour the output: on a terminal unless NO_COLOR is set (auto), always, or never.",
    )(f)


def json_format(*others: str, default: str = "text"):
    """`--format text|json` (and other choices) for a command that prints data."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", *others, "json"]),
        default=default,
        show_default=True,
        help="Text for people, or JSON for scripts (docs/schemas).",
    )


def echo_json(data: Any) -> None:
    """One JSON document on stdout, as every `--format json` prints it."""
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def iso(ts: float | None) -> str | None:
    """A stored time as ISO-8601 UTC, as the API writes it."""
    import datetime as dt

    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def write_report(path: str, text: str) -> None:
    """Write a report file (making its folder) and say so on stderr; a write that fails is an error in words."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        raise PolicydError(f"cannot write {path}: {err.strerror}") from None
    click.echo(f"wrote {path}", err=True)
