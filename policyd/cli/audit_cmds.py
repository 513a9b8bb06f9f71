"""The audit commands: verify the log (and a checkpoint), sign a checkpoint, export."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..storage.engines import redact
from .common import PolicydError, current_db, db_option, echo_json, iso, json_format, when
from .db_errors import storage_errors

KEY_ENV = "POLICYD_AUDIT_KEY"


def _existing_db() -> str:
    """The db the audit commands read; reading never creates one."""
    from ..storage.db import exists

    path = current_db()
    if not exists(path):
        raise PolicydError(f"no database at {redact(path)}")
    return path


def _key(path: str | None, create: bool = False) -> bytes:
    from ..storage import checkpoint

    if not path:
        raise PolicydError(f"a checkpoint needs its key file: --key FILE (or ${KEY_ENV}), kept outside the database")
    try:
        if create and not os.path.exists(path):
            checkpoint.new_key(path)
            click.echo(
                f"created a new checkpoint key in {path}: keep it where the daemon's user cannot read it "
                "(whoever has it can sign checkpoints); verifying needs the same file",
                err=True,
            )
        return checkpoint.load_key(path)
    except checkpoint.CheckpointError as err:
        raise PolicydError(str(err)) from None


key_option = click.option(
    "--key",
    "key_file",
    metavar="FILE",
    envvar=KEY_ENV,
    help=f"The checkpoint key file (HMAC-SHA256), kept outside the database [or ${KEY_ENV}].",
)


@click.group("audit")
def audit_cmd() -> None:
    """The hash-chained audit log of the daemon.

    \b
    Example:
      policyd audit verify
      policyd audit checkpoint --key /etc/policyd/audit.key -o /backup/audit-checkpoint.json
      policyd audit verify --checkpoint /backup/audit-checkpoint.json --key /etc/policyd/audit.key
      policyd audit export > audit.jsonl
    """


@audit_cmd.command("verify")
@db_option
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    metavar="FILE",
    help="Also prove the log still extends this checkpoint (`policyd audit checkpoint`); may be repeated.",
)
@key_option
@json_format()
@storage_errors
def audit_verify(checkpoints: tuple[str, ...], key_file: str | None, fmt: str) -> None:
    """Check the chain and the tables against it; name every problem (exit 1).

    Names every edited, deleted or reordered record; a log that is empty or gone
    while decisions exist; every decision whose row (who holds it, its status)
    is not what its records say, or that has no assign record. With
    --checkpoint, also a cut tail, a re-chained log or a back-dated append.

    \b
    Example:
      policyd audit verify --db policyd.db
      policyd audit verify --checkpoint audit-checkpoint.json --key /etc/policyd/audit.key
    """
    from ..storage import audit, checkpoint
    from ..storage.db import connect

    path = _existing_db()
    key = _key(key_file) if checkpoints else b""
    anchors = []
    for f in checkpoints:
        try:
            anchors.append((f, checkpoint.read(f)))
        except checkpoint.CheckpointError as err:
            raise PolicydError(str(err)) from None
    conn = connect(path)
    try:
        n, problems = audit.verify(conn)
        for f, cp in anchors:
            problems += checkpoint.verify(conn, cp, key, name=f"checkpoint {f}")
        decisions = conn.execute("select count(*) from rt_decisions").fetchone()[0] if "rt_decisions" in audit.tables(conn) else 0
    finally:
        conn.close()
    if fmt == "json":
        echo_json(
            {
                "db": path,
                "ok": not problems,
                "records": n,
                "decisions": decisions,
                "problems": [{"seq": p.seq, "message": p.message} for p in problems],
                "checkpoints": [{"file": f, "seq": cp["seq"], "made_at": iso(cp["made_at"])} for f, cp in anchors],
            }
        )
    for p in problems:
        click.echo(f"{redact(path)}: {p.message}", err=True)
    if problems:
        raise PolicydError(f"audit log is not intact: {len(problems)} problem{'s' if len(problems) != 1 else ''} in {n} records")
    said = f"{redact(path)}: {n} records, chain intact"
    if decisions:
        said += f"; the {decisions} decision{'s' if decisions != 1 else ''} agree with it"
    for f, cp in anchors:
        said += f"; it extends checkpoint {f} (record {cp['seq']}, made {when(cp['made_at'])})"
    click.echo(said, err=True)


@audit_cmd.command("checkpoint")
@db_option
@key_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file instead of stdout.")
@storage_errors
def audit_checkpoint(key_file: str | None, output: str | None) -> None:
    """Sign the log's head with a key kept outside the database (a new key file is made if missing).

    Keep checkpoints, and the key, where the daemon's user cannot write (another
    disk, another account); `audit verify --checkpoint` then catches a cut tail,
    a re-chained log and a back-dated append made behind them. Refused when the
    log does not verify: a checkpoint of a broken log would anchor the breakage.

    \b
    Example:
      policyd audit checkpoint --key /etc/policyd/audit.key -o /backup/audit-$(date +%s).json
    """
    from ..storage import audit, checkpoint
    from ..storage.db import connect

    path = _existing_db()
    if not key_file:
        _key(key_file)  # says what is missing
    conn = connect(path)
    try:
        n, problems = audit.verify(conn)
        if problems:
            for p in problems:
                click.echo(f"{redact(path)}: {p.message}", err=True)
            raise PolicydError(f"no checkpoint made: the audit log is not intact ({len(problems)} problems in {n} records)")
        key = _key(key_file, create=True)
        if os.path.dirname(os.path.abspath(key_file)) == os.path.dirname(os.path.abspath(path)):
            click.echo(
                f"note: the key is in the database's directory; whoever may rewrite {redact(path)} there may read the key too", err=True
            )
        cp = checkpoint.make(conn, key, path)
    finally:
        conn.close()
    text = json.dumps(cp, indent=2, sort_keys=True) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    click.echo(f"checkpoint of record {cp['seq']} ({cp['hash'][:16]}...) signed" + (f", written to {output}" if output else ""), err=True)


@audit_cmd.command("export")
@db_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file instead of stdout.")
@storage_errors
def audit_export(output: str | None) -> None:
    """Write the audit log as JSON Lines (one record a line, in order).

    \b
    Example:
      policyd audit export | jq -c 'select(.kind == "override")'
    """
    from ..storage import audit
    from ..storage.db import connect

    path = _existing_db()
    conn = connect(path)
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        for r in audit.records(conn):
            out.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    finally:
        conn.close()
        if output:
            out.close()
