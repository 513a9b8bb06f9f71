"""`policyd map init` drafts a mapping from an export; `policyd map check` shows what it does."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import PolicydError, db_option, load_policy


@click.group("map")
def map_group() -> None:
    """Draft and check the mapping of a CRM export (what `replay --map` reads).

    \b
    Example:
      policyd map init export.csv --policy policies/maven-crm.policy --out export.map.toml
      policyd map check policies/maven-crm.policy --leads export.csv --map export.map.toml
    """


@map_group.command("init")
@click.argument("file")
@click.option("--policy", help="Policy whose lead schema the draft maps (without it: the profile only).")
@click.option("--out", "out_file", help="Write the draft mapping here (default: print it).")
@click.option("--encoding", default="utf-8", show_default=True, help="The export's text encoding.")
@click.option("--delimiter", help="CSV delimiter (default: sniffed from the header).")
@click.option("--table", help="SQLite table to profile.")
@click.option("--rows", "limit", type=click.IntRange(min=1), help="Profile only the first ROWS rows.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
def init(file: str, policy: str | None, out_file: str | None, encoding: str, delimiter: str | None, table, limit, fmt) -> None:
    """Profile FILE (columns, types, empty share, distinct values) and draft a mapping for --policy.

    \b
    Example:
      policyd map init ../shared/data/maven-crm/sales_pipeline.csv --policy policies/maven-crm.policy
    """
    import codecs

    from ..replay.draft import draft_mapping
    from ..replay.profile import profile
    from ..replay.records import HistoryError, MappingError

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise PolicydError(f"--encoding: {encoding!r} is not an encoding Python knows (e.g. utf-8, latin-1, cp1252)") from None
    try:
        p = profile(file, encoding=encoding, delimiter=delimiter, table=table, limit=limit)
    except (HistoryError, MappingError) as err:
        raise PolicydError(str(err)) from None
    if fmt == "json":
        click.echo(json.dumps(p.to_data(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_profile(p), err=policy is not None and out_file is None)
    if policy is None:
        return
    text = draft_mapping(p, load_policy(policy).compiled.schema, file_name=Path(file).name)
    if out_file:
        try:
            Path(out_file).write_text(text, encoding="utf-8")
        except OSError as err:
            raise PolicydError(f"cannot write {out_file}: {err.strerror}") from None
        click.echo(f"wrote {out_file}; next: policyd map check {policy} --leads {file} --map {out_file}", err=True)
    else:
        click.echo(text, nl=False)


def render_profile(p) -> str:
    lines = [f"{Path(p.file).name}: {p.rows:,} rows, {len(p.columns)} columns ({p.format}, delimiter {p.delimiter!r})"]
    if p.bad_rows:
        lines.append(f"  {p.bad_rows:,} rows could not be read (run `map check` for the reasons)")
    width = max((len(c.name) for c in p.columns), default=6)
    lines.append(f"  {'column':<{width}}  {'type':<6}  {'empty':>6}  {'distinct':>8}  most common")
    for c in p.columns:
        distinct = f"{c.distinct:,}" if c.distinct is not None else "many"
        top = ", ".join(f"{v!r} {n:,}" for v, n in c.values.most_common(3))
        lines.append(f"  {c.name:<{width}}  {c.kind:<6}  {100 * c.empty_share:>5.0f}%  {distinct:>8}  {top}")
    ph = p.placeholders()
    if ph:
        lines.append(f"  placeholder words (read as empty with [source] unknown): {', '.join(repr(w) for w in ph)}")
    return "\n".join(lines)


@map_group.command("check")
@click.argument("policy")
@click.option("--leads", "leads_file", required=True, help="The export (CSV, JSON Lines or SQLite).")
@click.option("--map", "map_file", help="The mapping file (TOML).")
@click.option("--table", help="SQLite table holding the history.")
@click.option("--rows", "limit", type=click.IntRange(min=1), help="Check only the first ROWS rows.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
def check(policy: str, leads_file: str, map_file: str | None, table, limit, fmt) -> None:
    """Map every row as `replay` would, without deciding: what each column becomes, what would be rejected.

    \b
    Example:
      policyd map check policies/maven-crm.policy --leads ../shared/data/maven-crm/sales_pipeline.csv \\
          --map policies/maven-crm.map.toml
    """
    from ..replay.history import History
    from ..replay.mapcheck import check_mapping, render_check
    from ..replay.mapping import default_mapping, load_mapping
    from ..replay.records import HistoryError, MappingError

    schema = load_policy(policy).compiled.schema
    try:
        mapping = load_mapping(map_file) if map_file else default_mapping()
        result = check_mapping(History(leads_file, mapping, schema, table=table), limit=limit)
    except (HistoryError, MappingError) as err:
        raise PolicydError(str(err)) from None
    click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str) if fmt == "json" else render_check(result), nl=False)
