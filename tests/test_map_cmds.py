"""`policyd map init` (profile an export, draft a mapping) and `policyd map check` on a small export written here."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from click.testing import CliRunner

from policyd.cli.main import main
from policyd.replay.mapping import load_mapping

DATA = Path(__file__).parent / "data" / "replay"
TINY = str(DATA / "tiny.policy")
EXPORT = """Lead Number;Created On;Lead Owner;Lead Stage;Size;Kind;Notes
101;05/06/2017;Ann Lee;Won;"1,234";A;x
102;06/06/2017;Bob Roy;Lost;12;B;Select
103;07/06/2017;Ann Lee;Open;7;Select;
104;;Bob Roy;Open;abc;A;
"""


def run(*args):
    return CliRunner().invoke(main, list(args))


def export(tmp_path: Path) -> Path:
    p = tmp_path / "export.csv"
    p.write_text(EXPORT)
    return p


def test_map_init_profiles_the_export(tmp_path):
    res = run("map", "init", str(export(tmp_path)), "--format", "json")
    assert res.exit_code == 0, res.output
    prof = json.loads(res.stdout)
    assert (prof["rows"], prof["delimiter"]) == (4, ";")
    cols = {c["column"]: c for c in prof["columns"]}
    assert cols["Created On"]["type"] == "date" and cols["Created On"]["date_formats"] == ["%d/%m/%Y"]
    assert cols["Created On"]["empty_share"] == 0.25
    assert cols["Kind"]["placeholders"] == {"Select": 1} and cols["Kind"]["distinct"] == 2
    assert cols["Lead Stage"]["top"][0] == {"value": "Open", "count": 2}
    text = run("map", "init", str(export(tmp_path))).stdout
    assert "placeholder words (read as empty with [source] unknown): 'Select'" in text


def test_map_init_drafts_a_mapping_that_loads(tmp_path):
    out = tmp_path / "draft.toml"
    res = run("map", "init", str(export(tmp_path)), "--policy", TINY, "--out", str(out))
    assert res.exit_code == 0, res.output
    draft = tomllib.loads(out.read_text())
    assert draft["source"] == {"delimiter": ";", "thousands": ",", "unknown": ["Select"]}
    h = draft["history"]
    assert (h["id"], h["arrival"], h["arrival_format"], h["assignee"], h["outcome"]) == (
        "Lead Number",
        "Created On",
        "%d/%m/%Y",
        "Lead Owner",
        "Lead Stage",
    )
    assert (h["won"], h["lost"], h["open"]) == (["Won"], ["Lost"], ["Open"])
    assert draft["fields"]["size"]["column"] == "Size"
    assert draft["fields"]["kind"] == {"column": "Kind", "values": {"A": "a", "B": "b"}}
    load_mapping(out)  # a valid mapping as written


def test_map_check_shows_what_each_column_becomes_and_the_rejects(tmp_path):
    out = tmp_path / "draft.toml"
    src = export(tmp_path)
    run("map", "init", str(src), "--policy", TINY, "--out", str(out))
    res = run("map", "check", TINY, "--leads", str(src), "--map", str(out), "--format", "json")
    assert res.exit_code == 0, res.output
    c = json.loads(res.stdout)
    # row 4 has no date and "abc" for size (both named); row 3's Kind "Select" is empty, and kind is required
    assert (c["rows"], c["ok"], c["rejected"]) == (4, 2, 2)
    assert c["rejected_by_field"] == {"Created On": 1, "kind": 1, "size": 1}
    size = next(f for f in c["fields"] if f["field"] == "size")
    assert {(p["source"], p["lead"]) for p in size["pairs"]} == {("1,234", 1234), ("12", 12)}
    kind = next(f for f in c["fields"] if f["field"] == "kind")
    assert {(p["source"], p["lead"]) for p in kind["pairs"]} == {("A", "a"), ("B", "b")}
    text = run("map", "check", TINY, "--leads", str(src), "--map", str(out)).stdout
    assert text.startswith("export.csv mapped by draft.toml: 4 rows, 2 would replay, 2 would be rejected\n")
    assert "      1  '1,234' -> 1234" in text


def test_map_errors_are_clean(tmp_path):
    res = run("map", "init", str(tmp_path / "nope.csv"))
    assert res.exit_code == 1 and res.stderr.startswith("policyd: cannot read lead history")
    res = run("map", "init", str(export(tmp_path)), "--encoding", "klingon")
    assert res.exit_code == 1 and "'klingon' is not an encoding" in res.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[history]\narival = "x"\n')
    res = run("map", "check", TINY, "--leads", str(export(tmp_path)), "--map", str(bad))
    assert res.exit_code == 1 and "history.arival: unknown key; did you mean 'arrival'?" in res.stderr
