"""`policyd assign --lead FILE` reads the file as the daemon reads a request: a clear error, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import POLICIES, ROOT
from .serve_support import lead

INBOUND = str(POLICIES / "inbound.policy")
BASE = json.dumps(lead("C-0"))[:-1]

CASES = [
    (
        "long-int",
        (BASE + ', "employees": ' + "9" * 5000 + "}").encode(),
        "employees: a whole number of 5000 digits; expected at most 64 digits",
    ),
    ("infinity", (BASE + ', "revenue": Infinity}').encode(), "revenue: Infinity is not a JSON number; expected a finite number"),
    ("deep", (BASE + ', "x": ' + "[" * 40 + "]" * 40 + "}").encode(), "nested deeper than 32 levels of objects and lists"),
    ("very-deep", b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply (the limit is 32 levels)"),
    ("not-utf8", b'{"id": "caf\xe9"}', "lead is not UTF-8 text (byte 11)"),
    (
        "surrogate-id",
        BASE.replace('"L-C-0"', r'"L-\ud800"').encode() + b"}",
        "id: text with a lone UTF-16 surrogate; expected Unicode text",
    ),
    ("malformed", b'{"id": ', "1:8: lead is not valid JSON: Expecting value"),
]


@pytest.mark.parametrize("name,data,message", CASES, ids=[c[0] for c in CASES])
def test_a_bad_lead_file_is_a_clear_error(tmp_path, name, data, message):
    path = tmp_path / f"{name}.json"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-m", "policyd", "assign", INBOUND, "--lead", str(path)], capture_output=True, cwd=ROOT)
    err = out.stderr.decode("utf-8")
    assert out.returncode == 1, err
    assert "Traceback" not in err
    assert err.startswith(f"policyd: {path}") and message in err, err
    assert out.stdout == b""


def test_the_same_lead_from_stdin(tmp_path):
    data = (BASE + ', "employees": NaN}').encode()
    out = subprocess.run([sys.executable, "-m", "policyd", "assign", INBOUND, "--lead", "-"], input=data, capture_output=True, cwd=ROOT)
    assert out.returncode == 1
    assert out.stderr.decode() == "policyd: -: lead refused: employees: NaN is not a JSON number; expected a finite number\n"


def test_a_good_lead_file_still_decides(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(lead("C-1")), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "policyd", "assign", INBOUND, "--lead", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout
