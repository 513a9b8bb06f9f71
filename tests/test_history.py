"""Lead history input: the mapping file, joins, value maps, thresholds, the three formats, rejects."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from policyd.checks.load import load_path
from policyd.replay.history import History
from policyd.replay.mapping import default_mapping, load_mapping
from policyd.replay.records import HistoryError, HistoryRow, MappingError, Reject
from policyd.replay.rejects import RejectWriter
from policyd.replay.values import parse_time

DATA = Path(__file__).parent / "data" / "replay"


@pytest.fixture(scope="module")
def tiny_schema():
    return load_path(DATA / "tiny.policy").compiled.schema


@pytest.fixture(scope="module")
def joined_schema():
    return load_path(DATA / "joined.policy").compiled.schema


def rows_of(history) -> list:
    return list(history)


# ---------------------------------------------------------------- joins, value maps, thresholds, defaults


def test_lookup_join_value_maps_and_thresholds(joined_schema):
    h = History(DATA / "joined.csv", load_mapping(DATA / "joined.map.toml"), joined_schema)
    rows = rows_of(h)
    assert all(isinstance(r, HistoryRow) for r in rows)
    assert [r.lead for r in rows] == [
        # Acme: sector technolgy -> it, 2822 employees -> enterprise
        {"industry": "it", "employees": 2822, "segment": "enterprise", "country": "United States", "id": "J1"},
        # Tiny Co: 40 employees -> smb (the 0 threshold), Philipines -> Philippines
        {"industry": "retail", "employees": 40, "segment": "smb", "country": "Philippines", "id": "J2"},
        # no account: the defaults; employees and country left out (the schema decides)
        {"industry": "unknown", "segment": "unknown", "id": "J3"},
        # an account not in accounts.csv: the same
        {"industry": "unknown", "segment": "unknown", "id": "J4"},
        # Mid Inc: 500 -> mid_market; its country is empty
        {"industry": "finance", "employees": 500, "segment": "mid_market", "id": "J5"},
    ]
    assert [r.assignee for r in rows] == ["ann", "bob", "cy", "ann", "ann"]
    assert [r.lead_id for r in rows] == ["J1", "J2", "J3", "J4", "J5"]
    assert rows[1].arrival - rows[0].arrival == 3600.0
    assert h.notes == {
        "industry: 'technolgy' read as 'it'": 1,
        "country: 'Philipines' read as 'Philippines'": 1,
        "lookup accounts: account is empty, so no accounts fields (defaults used)": 1,
        "lookup accounts: account 'Nowhere Ltd' not found (defaults used)": 1,
        "industry: empty, default 'unknown' used": 2,
        "segment: empty, default 'unknown' used": 2,
    }
    assert (h.read, h.rejected) == (5, 0)


def test_the_schema_completes_what_the_mapping_left_out(joined_schema):
    (_, _, j3, _, _) = rows_of(History(DATA / "joined.csv", load_mapping(DATA / "joined.map.toml"), joined_schema))
    # id filled from the id column; country takes the policy's default; employees is missing
    assert joined_schema.validate(j3.lead) == {
        "id": "J3",
        "industry": "unknown",
        "employees": None,
        "segment": "unknown",
        "country": "unknown",
    }


def test_id_column_fills_the_lead_id_field_when_not_mapped(tiny_schema, tmp_path):
    m = tmp_path / "m.toml"
    m.write_text('[history]\narrival = "arrived"\nid = "id"\n[fields]\nsize = "size"\nkind = "kind"\n')
    first = next(iter(History(DATA / "tiny.csv", load_mapping(m), tiny_schema)))
    assert first.lead == {"size": 150, "kind": "a", "id": "L1"}


# ---------------------------------------------------------------- rejected rows: row, field, reason


def test_rejected_rows_name_line_field_and_reason(tiny_schema):
    h = History(DATA / "tiny.csv", load_mapping(DATA / "tiny.map.toml"), tiny_schema)
    rejects = [r for r in h if isinstance(r, Reject)]
    assert [r.message("tiny.csv") for r in rejects] == [
        'tiny.csv:5: size: "abc" from size is not a whole number',
        "tiny.csv:6: arrived: no arrival time (empty), so the lead cannot be placed in time",
    ]
    assert [(r.row, r.where, r.field) for r in rejects] == [(4, "line 5", "size"), (5, "line 6", "arrived")]
    assert (h.read, h.rejected) == (7, 2)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def reject_messages(path: Path, mapping: Path, schema) -> list[str]:
    h = History(path, load_mapping(mapping), schema)
    return [r.message(path.name) for r in h if isinstance(r, Reject)]


def test_csv_row_with_the_wrong_number_of_values(tmp_path, tiny_schema):
    src = write(tmp_path, "h.csv", "id,arrived,size,kind\nA,2024-01-01,5,a\nB,2024-01-02,5\n\nC,2024-01-03,5,a,extra\n")
    m = write(tmp_path, "m.toml", '[history]\nid = "id"\narrival = "arrived"\n[fields]\nid = "id"\nsize = "size"\nkind = "kind"\n')
    assert reject_messages(src, m, tiny_schema) == [
        "h.csv:3: has 3 values; the header has 4 columns",
        "h.csv:5: has 5 values; the header has 4 columns",
    ]


def test_bad_times_values_and_thresholds(tmp_path, joined_schema):
    src = write(
        tmp_path,
        "h.csv",
        "id,arrived,closed,emp,amount\n"
        "A,yesterday,,5,1\n"
        "B,2024-01-05,2024-01-01,5,1\n"
        "C,2024-01-05,,lots,1\n"
        "D,2024-01-05,,5,a lot\n"
        "E,2024-01-05,,-3,1\n"
        "F,1704067200,,5,1\n",
    )
    m = write(
        tmp_path,
        "m.toml",
        '[history]\nid = "id"\narrival = "arrived"\nclosed_at = "closed"\nvalue = "amount"\n'
        '[fields.industry]\ndefault = "it"\n'
        '[fields.segment]\ncolumn = "emp"\nthresholds = [[1000, "enterprise"], [0, "smb"]]\n',
    )
    assert reject_messages(src, m, joined_schema) == [
        'h.csv:2: arrived: "yesterday" is not a time; expected an ISO 8601 date or time, or seconds since 1970',
        "h.csv:3: closed: closed at 2024-01-01, before it arrived (2024-01-05)",
        'h.csv:4: segment: "lots" from emp is not a number, so no threshold applies',
        'h.csv:5: amount: "a lot" is not a number',
        "h.csv:6: segment: -3 from emp is below every threshold (lowest 0)",
    ]


def test_jsonl_bad_lines(tmp_path, tiny_schema):
    src = write(
        tmp_path,
        "h.jsonl",
        '{"id": "A", "arrived": "2024-01-01", "size": 5, "kind": "a"}\n{"id": "B", "arrived": \n\n[1, 2]\n{"id": "C", "arrived": "2024-01-02", "size": "5", "kind": "a"}\n',
    )
    m = write(tmp_path, "m.toml", '[history]\nid = "id"\narrival = "arrived"\n[fields]\nid = "id"\nsize = "size"\nkind = "kind"\n')
    h = History(src, load_mapping(m), tiny_schema)
    out = list(h)
    assert [r.message("h.jsonl") for r in out if isinstance(r, Reject)] == [
        "h.jsonl:2: not valid JSON: Expecting value (column 24)",
        "h.jsonl:4: expected a JSON object per line",
    ]
    # text "5" from JSON is converted to the schema's int, like CSV text
    assert [r.lead for r in out if isinstance(r, HistoryRow)] == [
        {"id": "A", "size": 5, "kind": "a"},
        {"id": "C", "size": 5, "kind": "a"},
    ]
    assert (h.read, h.rejected) == (4, 2)


# ---------------------------------------------------------------- the three formats agree


def tiny_as_jsonl(tmp_path: Path) -> Path:
    out = tmp_path / "tiny.jsonl"
    with open(DATA / "tiny.csv", newline="") as fh, open(out, "w") as w:
        for row in csv.DictReader(fh):
            w.write(json.dumps(row) + "\n")
    return out


def tiny_as_sqlite(tmp_path: Path, shuffle: bool = False) -> Path:
    out = tmp_path / "tiny.db"
    with open(DATA / "tiny.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if shuffle:
        rows = rows[::-1]
    con = sqlite3.connect(out)
    con.execute("create table leads (id text, arrived text, size text, kind text, agent text, stage text, value text, closed text)")
    con.executemany("insert into leads values (?, ?, ?, ?, ?, ?, ?, ?)", [tuple(r.values()) for r in rows])
    con.commit()
    con.close()
    return out


def summary(history) -> list:
    return [(r.lead_id, r.lead, r.arrival, r.assignee, r.outcome, r.value, r.closed_at) for r in history if isinstance(r, HistoryRow)]


def test_csv_jsonl_and_sqlite_give_the_same_leads(tmp_path, tiny_schema):
    mapping = load_mapping(DATA / "tiny.map.toml")
    from_csv = summary(History(DATA / "tiny.csv", mapping, tiny_schema))
    assert len(from_csv) == 5
    assert summary(History(tiny_as_jsonl(tmp_path), mapping, tiny_schema)) == from_csv
    # a SQLite table is read ORDER BY the arrival column, so row order in the table does not matter
    db = tiny_as_sqlite(tmp_path, shuffle=True)
    assert sorted(summary(History(db, mapping, tiny_schema, table="leads"))) == sorted(from_csv)
    assert [r[2] for r in summary(History(db, mapping, tiny_schema, table="leads"))] == sorted(r[2] for r in from_csv)


def test_sqlite_rejects_name_the_rowid(tmp_path, tiny_schema):
    db = tiny_as_sqlite(tmp_path)
    h = History(db, load_mapping(DATA / "tiny.map.toml"), tiny_schema, table="leads")
    assert [r.message("tiny.db") for r in h if isinstance(r, Reject)] == [
        "tiny.db: rowid 5: arrived: no arrival time (empty), so the lead cannot be placed in time",
        'tiny.db: rowid 4: size: "abc" from size is not a whole number',
    ]


def test_sqlite_errors(tmp_path, tiny_schema):
    db = tiny_as_sqlite(tmp_path)
    mapping = load_mapping(DATA / "tiny.map.toml")
    with pytest.raises(HistoryError) as err:
        History(db, mapping, tiny_schema, table="deals")
    assert str(err.value) == f"{db}: no table 'deals'; the tables are: leads"
    with pytest.raises(HistoryError) as err:
        History(db, mapping, tiny_schema)
    assert str(err.value) == f"{db}: a SQLite history needs a table: set [source] table in the mapping or pass --table"


def test_missing_history_file(tiny_schema):
    with pytest.raises(HistoryError) as err:
        History("nowhere.csv", load_mapping(DATA / "tiny.map.toml"), tiny_schema)
    assert str(err.value) == "cannot read lead history nowhere.csv: No such file or directory"


def test_rejects_file_keeps_the_source_columns(tmp_path, tiny_schema):
    h = History(DATA / "tiny.csv", load_mapping(DATA / "tiny.map.toml"), tiny_schema)
    w = RejectWriter(tmp_path / "rejects.csv", h.columns)
    for r in h:
        if isinstance(r, Reject):
            w.write(r)
    w.close()
    assert (tmp_path / "rejects.csv").read_text().splitlines() == [
        "row,where,field,reason,id,arrived,size,kind,agent,stage,value,closed",
        'row 4,line 5,size,"""abc"" from size is not a whole number",L4,2024-01-02,abc,a,Ann,Won,10,2024-01-04'.replace("row 4", "4"),
        '5,line 6,arrived,"no arrival time (empty), so the lead cannot be placed in time",L5,,120,a,Bob,Won,10,2024-01-04',
    ]


def test_parse_time():
    assert parse_time("1970-01-02") == 86400.0
    assert parse_time("1970-01-01T01:00:00+01:00") == 0.0
    assert parse_time(90) == 90.0
    assert parse_time("02/01/1970", "%d/%m/%Y") == 86400.0
    with pytest.raises(ValueError):
        parse_time("soon")


# ---------------------------------------------------------------- mapping-file errors, pinned


def mapping_error(tmp_path: Path, text: str) -> str:
    p = write(tmp_path, "bad.map.toml", text)
    with pytest.raises(MappingError) as err:
        load_mapping(p)
    return str(err.value).replace(str(p), "bad.map.toml")


def test_mapping_not_toml(tmp_path):
    assert (
        mapping_error(tmp_path, '[history]\narrival = "a"\nid = \n') == "bad.map.toml: not valid TOML: Invalid value (at line 3, column 6)"
    )


def test_mapping_unreadable():
    with pytest.raises(MappingError) as err:
        load_mapping("no/such.map.toml")
    assert str(err.value) == "no/such.map.toml: cannot read the mapping file: No such file or directory"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[histry]\narrival = "a"\n',
            "bad.map.toml: histry: unknown key; did you mean 'history'? expected one of fields, history, lookups, source",
        ),
        (
            "[history]\nid = 'id'\n",
            "bad.map.toml: history.arrival: missing; expected the name of the column with each lead's arrival time, "
            'or order = "row" (the rows are in arrival order), order = "reversed" (newest first) or sequence = COLUMN',
        ),
        ("[history]\narrival = 3\n", "bad.map.toml: history.arrival: expected a text (a column name), got 3"),
        ("[history]\narrival = 'a'\nwon = [1]\n", "bad.map.toml: history.won: expected a list of texts, got [1]"),
        (
            "[source]\nformat = 'xlsx'\n[history]\narrival = 'a'\n",
            'bad.map.toml: source.format: expected one of csv, jsonl, sqlite, got "xlsx"',
        ),
        (
            "[history]\narrival = 'a'\n[fields.kind]\ncolumn = 'k'\nvaluse = { A = 'a' }\n",
            "bad.map.toml: fields.kind.valuse: unknown key; did you mean 'values'? expected one of column, default, path, thresholds, transform, values",
        ),
        (
            "[history]\narrival = 'a'\n[fields.kind]\ncolumn = 'k'\nvalues = ['a']\n",
            'bad.map.toml: fields.kind.values: expected a table of source value = lead value (e.g. { technolgy = "it" }), got ["a"]',
        ),
        (
            "[history]\narrival = 'a'\n[fields.segment]\ncolumn = 'e'\nthresholds = [1000, 'big']\n",
            'bad.map.toml: fields.segment.thresholds: expected a list of [number, value] pairs, highest first (e.g. [[1000, "enterprise"], [0, "smb"]]), got [1000, "big"]',
        ),
        (
            "[history]\narrival = 'a'\n[fields.segment]\ncolumn = 'e'\nthresholds = [[0, 'smb'], [1000, 'big']]\n",
            'bad.map.toml: fields.segment.thresholds: expected numbers from highest to lowest, got [[0, "smb"], [1000, "big"]]',
        ),
        (
            "[history]\narrival = 'a'\n[fields.kind]\ncolumn = 'k'\ntransform = 'snake'\n",
            'bad.map.toml: fields.kind.transform: expected one of identifier, lower, upper, got "snake"',
        ),
        (
            "[history]\narrival = 'a'\n[fields.sector]\ncolumn = 'acounts.sector'\n",
            "bad.map.toml: fields.sector.column: 'acounts.sector' names lookup 'acounts'; expected one of the [lookups] (none are defined)",
        ),
        ("[history]\narrival = 'a'\n[fields.kind]\nvalues = { A = 'a' }\n", "bad.map.toml: fields.kind: expected a column or a default"),
        (
            "[history]\narrival = 'a'\n[lookups.accounts]\nfile = 'a.csv'\nkey = 'account'\n",
            "bad.map.toml: lookups.accounts.on: missing; a lookup needs file, key and on",
        ),
        (
            "[history]\narrival = 'a'\nfields = 3\n",
            "bad.map.toml: history.fields: unknown key; expected one of arrival, arrival_format, assignee, assignee_transform, assignee_values, closed_at, closed_at_format, id, lost, open, order, outcome, sequence, spacing, start, value, won",
        ),
    ],
)
def test_mapping_errors_name_file_key_and_expectation(tmp_path, text, message):
    assert mapping_error(tmp_path, text) == message


def history_error(tmp_path: Path, schema, text: str, source: Path = DATA / "tiny.csv") -> str:
    p = write(tmp_path, "bad.map.toml", text)
    with pytest.raises(MappingError) as err:
        History(source, load_mapping(p), schema)
    return str(err.value).replace(str(p), "bad.map.toml").replace(str(tmp_path), "TMP")


def test_mapping_checked_against_the_policy_and_the_source(tmp_path, tiny_schema, joined_schema):
    base = "[history]\narrival = 'arrived'\n[fields]\nid = 'id'\nsize = 'size'\n"
    assert history_error(tmp_path, tiny_schema, base + "kind = 'kind'\ncolour = 'kind'\n") == (
        "bad.map.toml: fields.colour: not a field of the policy's lead schema; expected one of id, size, kind"
    )
    assert history_error(tmp_path, tiny_schema, base) == (
        "bad.map.toml: fields.kind: missing; the policy requires field kind (one of a, b): map a column or give a default"
    )
    assert history_error(tmp_path, tiny_schema, base + "kind = 'knd'\n") == (
        "bad.map.toml: fields.kind.column: 'knd' is not a column of tiny.csv; did you mean 'kind'? expected one of id, arrived, size, kind, agent, stage, value, closed"
    )
    assert history_error(tmp_path, tiny_schema, base.replace("'arrived'", "'arrival'") + "kind = 'kind'\n") == (
        "bad.map.toml: history.arrival: 'arrival' is not a column of tiny.csv; did you mean 'arrived'? expected one of id, arrived, size, kind, agent, stage, value, closed"
    )
    lookup = "[history]\narrival = 'arrived'\nid = 'id'\n[lookups.accounts]\nfile = '{file}'\nkey = '{key}'\non = 'account'\n[fields.industry]\ndefault = 'it'\n[fields.segment]\ndefault = 'smb'\n"
    assert history_error(tmp_path, joined_schema, lookup.format(file="acc.csv", key="account"), DATA / "joined.csv") == (
        f"bad.map.toml: lookups.accounts.file: cannot read {DATA / 'acc.csv'}: No such file or directory"
    )
    assert history_error(tmp_path, joined_schema, lookup.format(file="accounts.csv", key="name"), DATA / "joined.csv") == (
        "bad.map.toml: lookups.accounts.key: 'name' is not a column of accounts.csv; expected one of account, sector, employees, country"
    )


def test_without_a_mapping_columns_are_the_lead_fields(tmp_path, tiny_schema):
    src = write(
        tmp_path,
        "h.jsonl",
        '{"id": "A", "arrival": "2024-01-01", "size": 150, "kind": "a", "note": "ignored"}\n{"id": "B", "arrival": 5}\n',
    )
    h = History(src, default_mapping(), tiny_schema)
    a, b = list(h)
    assert (a.lead, a.arrival) == ({"id": "A", "size": 150, "kind": "a"}, 1704067200.0)
    # B lacks size and kind: mapped as far as it goes, the schema refuses it in the replay
    assert (b.lead, b.arrival) == ({"id": "B"}, 5.0)
