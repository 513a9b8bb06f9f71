"""The input options of a replay mapping, each on a small file written here: delimiter
(and sniffing), encoding (per row, at the true byte offset), thousands and decimal
marks, several date formats, unknown words, date-like numbers, format vs suffix."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyd.checks.load import load_path
from policyd.replay.history import History
from policyd.replay.mapping import load_mapping
from policyd.replay.records import HistoryError, HistoryRow, MappingError, Reject
from policyd.replay.values import parse_time

DATA = Path(__file__).parent / "data" / "replay"
BASE = '[history]\nid = "id"\narrival = "at"\n[fields]\nid = "id"\nsize = "size"\nkind = "kind"\n'


@pytest.fixture(scope="module")
def schema():
    return load_path(DATA / "tiny.policy").compiled.schema


def history(tmp_path: Path, schema, data: bytes | str, mapping: str = BASE, name: str = "h.csv") -> History:
    src = tmp_path / name
    src.write_bytes(data.encode() if isinstance(data, str) else data)
    m = tmp_path / "m.toml"
    m.write_text(mapping)
    return History(src, load_mapping(m), schema)


def split(h: History) -> tuple[list[HistoryRow], list[str]]:
    rows, rejects = [], []
    for r in h:
        (rejects if isinstance(r, Reject) else rows).append(r if isinstance(r, HistoryRow) else r.message("h.csv"))
    return rows, rejects


def mapping_error(tmp_path: Path, text: str) -> str:
    m = tmp_path / "bad.toml"
    m.write_text(text)
    with pytest.raises(MappingError) as err:
        load_mapping(m)
    return str(err.value).replace(str(m), "bad.toml")


# ---------------------------------------------------------------- delimiter


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_the_delimiter_is_sniffed_from_the_header(tmp_path, schema, sep):
    text = sep.join(["id", "at", "size", "kind"]) + "\n" + sep.join(["L1", "2024-01-01", "5", "a"]) + "\n"
    rows, rejects = split(history(tmp_path, schema, text))
    assert rejects == [] and rows[0].lead == {"id": "L1", "size": 5, "kind": "a"}


def test_a_named_delimiter_wins_over_sniffing_and_a_wrong_one_is_refused(tmp_path, schema):
    # the header holds commas inside a quoted column name, but the file is ;-separated
    text = 'id;at;size;kind;"a, b, c"\nL1;2024-01-01;5;a;x\n'
    rows, _ = split(history(tmp_path, schema, text, '[source]\ndelimiter = ";"\n' + BASE))
    assert rows[0].lead["size"] == 5
    with pytest.raises(MappingError) as err:  # a comma file read with tabs: one column, named in the error
        history(tmp_path, schema, "id,at,size,kind\nL1,2024-01-01,5,a\n", '[source]\ndelimiter = "tab"\n' + BASE)
    assert str(err.value).endswith("history.arrival: 'at' is not a column of h.csv; expected one of id,at,size,kind")
    assert mapping_error(tmp_path, '[source]\ndelimiter = ":"\n' + BASE) == (
        'bad.toml: source.delimiter: expected one of "," ";" "\\t" (or "tab") "|", or "auto" to sniff it, got ":"'
    )


def test_a_mapped_column_missing_because_of_the_delimiter_says_which_delimiter(tmp_path, schema):
    h = history(tmp_path, schema, "id;at;size;kind\nL1;2024-01-01;5\n")
    _, rejects = split(h)
    assert rejects == ["h.csv:2: has 3 values; the header has 4 columns (delimiter ';')"]


# ---------------------------------------------------------------- encoding


def test_one_bad_byte_rejects_its_row_at_its_offset_in_the_file(tmp_path, schema):
    head = b"id,at,size,kind\n"
    good = b"".join(b"L%d,2024-01-01,5,a\n" % i for i in range(600))  # past 8 KiB: the offset is the file's
    bad = b"L\xe9,2024-01-02,5,a\n"
    data = head + good + bad + b"L700,2024-01-03,5,a\n"
    rows, rejects = split(history(tmp_path, schema, data))
    assert len(rows) == 601  # the rows after the bad one are still read
    offset = len(head) + len(good) + 1
    assert offset > 8192
    assert rejects == [
        f'h.csv:602: not utf-8 text (invalid continuation byte at byte {offset} of the file); set [source] encoding = "latin-1" (or "cp1252") in the mapping'
    ]


def test_the_encoding_option_reads_latin_1(tmp_path, schema):
    data = "id,at,size,kind\nRen\xe9,2024-01-01,5,a\n".encode("latin-1")
    rows, rejects = split(history(tmp_path, schema, data, '[source]\nencoding = "latin-1"\n' + BASE))
    assert rejects == [] and rows[0].lead_id == "René"
    assert mapping_error(tmp_path, '[source]\nencoding = "klingon"\n' + BASE) == (
        'bad.toml: source.encoding: expected an encoding Python knows (e.g. "utf-8", "latin-1", "cp1252"), got "klingon"'
    )


def test_a_bad_byte_in_the_header_stops_the_file_naming_it(tmp_path, schema):
    with pytest.raises(HistoryError) as err:
        history(tmp_path, schema, b"id,\xffat,size,kind\n")
    assert str(err.value).endswith(
        "h.csv: the header line is not utf-8 text (invalid start byte at byte 3 of the file); "
        'set [source] encoding = "latin-1" (or "cp1252") in the mapping'
    )


# ---------------------------------------------------------------- numbers


def test_thousands_and_decimal_marks(tmp_path, schema):
    text = 'id,at,size,kind\nL1,2024-01-01,"1,234",a\nL2,2024-01-01,"12,34",a\nL3,2024-01-01,"1,234.0",a\n'
    rows, rejects = split(history(tmp_path, schema, text, '[source]\nthousands = ","\n' + BASE))
    assert [r.lead["size"] for r in rows] == [1234, 1234]
    assert rejects == ["h.csv:3: size: \"12,34\" from size is not a whole number; expected groups of three digits between ','"]
    euro = "id,at,size,kind\nL1,2024-01-01,1.234,a\nL2,2024-01-01,7,a\n"
    rows, _ = split(history(tmp_path, schema, euro, '[source]\nthousands = "."\ndecimal = ","\n' + BASE))
    assert [r.lead["size"] for r in rows] == [1234, 7]
    assert mapping_error(tmp_path, '[source]\nthousands = ","\ndecimal = ","\n' + BASE) == (
        "bad.toml: source.thousands: ',' is also the decimal mark; expected two different marks"
    )


# ---------------------------------------------------------------- times


def test_several_date_formats_are_tried_in_order(tmp_path, schema):
    m = BASE.replace('arrival = "at"', 'arrival = "at"\narrival_format = ["%Y-%m-%d", "%d/%m/%Y"]')
    text = "id,at,size,kind\nL1,2024-01-02,5,a\nL2,03/01/2024,5,a\nL3,Jan 4,5,a\n"
    rows, rejects = split(history(tmp_path, schema, text, m))
    assert [r.arrival for r in rows] == [parse_time("2024-01-02"), parse_time("2024-01-03")]
    assert rejects == ['h.csv:4: at: "Jan 4" is not a time; expected %Y-%m-%d or %d/%m/%Y']
    assert mapping_error(tmp_path, BASE.replace('arrival = "at"', 'arrival = "at"\narrival_format = [3]')).startswith(
        'bad.toml: history.arrival_format: expected a strptime format or a list of them (e.g. ["%Y-%m-%d", "%d/%m/%Y"])'
    )
    assert mapping_error(tmp_path, BASE.replace('arrival = "at"', 'arrival = "at"\narrival_format = "dd/mm/yyyy"')) == (
        'bad.toml: history.arrival_format: expected a strptime format with % codes (e.g. "%d/%m/%Y"), or "epoch" / "epoch_ms", got "dd/mm/yyyy"'
    )


def test_a_date_like_number_is_not_read_as_seconds_since_1970(tmp_path, schema):
    text = "id,at,size,kind\nL1,20170605,5,a\nL2,1496620800,5,a\n"
    rows, rejects = split(history(tmp_path, schema, text))
    assert rejects == [
        'h.csv:2: at: "20170605" looks like a date (YYYYMMDD), not seconds since 1970; set arrival_format = "%Y%m%d" (or "epoch" if it really is seconds)'
    ]
    assert rows[0].arrival == parse_time("2017-06-05")  # ten digits: seconds, as before
    m = BASE.replace('arrival = "at"', 'arrival = "at"\narrival_format = "%Y%m%d"')
    rows, rejects = split(history(tmp_path, schema, "id,at,size,kind\nL1,20170605,5,a\n", m))
    assert rejects == [] and rows[0].arrival == parse_time("2017-06-05")
    m = BASE.replace('arrival = "at"', 'arrival = "at"\narrival_format = "epoch"')
    rows, _ = split(history(tmp_path, schema, "id,at,size,kind\nL1,20170605,5,a\n", m))
    assert rows[0].arrival == 20170605.0


# ---------------------------------------------------------------- unknown words


def test_unknown_words_read_as_empty_in_every_column(tmp_path, schema):
    m = '[source]\nunknown = ["Select", "N/A"]\n' + BASE.replace('kind = "kind"', 'kind = { column = "kind", default = "b" }')
    text = "id,at,size,kind\nL1,2024-01-01,5,Select\nL2,2024-01-01,n/a,a\n"
    rows, rejects = split(history(tmp_path, schema, text, m))
    assert rows[0].lead["kind"] == "b"
    # size is required by the policy: N/A leaves it empty, so the schema refuses the lead later (not the mapping)
    assert "size" not in rows[1].lead and rejects == []
    h = history(tmp_path, schema, text, m)
    split(h)
    assert h.notes["unknown word 'Select' read as empty"] == 1
    assert h.notes["unknown word 'n/a' read as empty"] == 1


# ---------------------------------------------------------------- format and suffix


def test_a_format_contradicting_the_file_suffix_is_refused(tmp_path, schema):
    with pytest.raises(HistoryError) as err:
        history(tmp_path, schema, '{"id": "L1"}\n', '[source]\nformat = "csv"\n' + BASE, name="h.jsonl")
    assert str(err.value).endswith(
        "h.jsonl: the mapping says format = 'csv', but the file name ends in .jsonl (jsonl); expected the two to agree: rename the file or change [source] format"
    )


# ---------------------------------------------------------------- every bad field of a row


def test_a_rejected_row_lists_every_bad_field(tmp_path, schema):
    text = "id,at,size,kind\nL1,,abc,a\n"
    h = history(tmp_path, schema, text)
    (r,) = list(h)
    assert r.fields == ("at", "size")
    assert r.message("h.csv") == (
        'h.csv:2: at: no arrival time (empty), so the lead cannot be placed in time; size: "abc" from size is not a whole number'
    )
