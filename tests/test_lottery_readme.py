"""The README's lottery meetings run as written, in a fresh directory: on the Maven CRM demo data, and on the bundled week."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
DATA = ROOT.parent / "shared" / "data" / "maven-crm"  # the Makefile's DATA ?= ../shared/data/maven-crm


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## The lottery meeting")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _meetings() -> list[str]:
    """The section's shell blocks that hold a meeting (the benchmark's block is not run here)."""
    return [b for b in re.findall(r"```sh\n(.*?)```", _section(), re.S) if "policyd seed commit" in b]


def _run(script: str, tmp_path: Path) -> tuple[list[str], str]:
    """Run a block in tmp_path/repo, with policies/ and ../shared beside it as in a checkout."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "policies").symlink_to(ROOT / "policies")
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("POLICYD_DB", None)
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines(), r.stderr


def _check(lines: list[str]) -> str:
    """stdout: the commitment, the assignments, `record <id>`, the revealed seed, then verify's lines. Returns the id."""
    at = next(i for i, x in enumerate(lines) if x.startswith("record "))
    commitment, seed = lines[0], lines[at + 1]
    assert hashlib.sha256(seed.encode()).hexdigest() == commitment
    assert lines[-1].startswith("match: ") and "with the seed from the page" in lines[-1]
    assert not any(x.startswith("MISMATCH") for x in lines)
    return lines[at].removeprefix("record ")


def test_there_are_two_meetings_of_four_commands():
    blocks = _meetings()
    assert len(blocks) == 2
    assert [b.count("policyd ") for b in blocks] == [4, 4]
    assert "--map policies/maven-crm.map.toml" in blocks[0] and "--since 2017-06-05 --until 2017-06-12" in blocks[0]


def test_the_readme_meeting_on_the_maven_demo_data_runs_end_to_end(tmp_path):
    assert (DATA / "sales_pipeline.csv").exists(), f"the demo data is missing: {DATA}"
    lines, err = _run(_meetings()[0], tmp_path)
    rid = _check(lines)
    assert "170 rows in the window, 8130 outside it, 500 without an arrival time" in err
    assert lines[-2] == "match     record  replay: the policy places all 170 leads the same way, with the same pools"
    record = json.loads((tmp_path / "repo/out/lottery" / f"{rid}.json").read_text())
    assert record["leads_file"]["name"] == "sales_pipeline.csv"
    assert record["leads_file"]["window"] == {"since": "2017-06-05T00:00:00Z", "until": "2017-06-12T00:00:00Z"}
    assert record["totals"]["leads"] == 170 and record["totals"]["by_lottery"] > 0
    assert record["policy"]["file"] == "maven-crm.policy"
    assert all(x["line"] > 1 and x["lead"]["id"] == x["lead_id"] for x in record["leads"])
    assert (tmp_path / "repo/meeting.db").exists()


def test_the_readme_meeting_on_the_bundled_week_runs_end_to_end(tmp_path):
    lines, _ = _run(_meetings()[1], tmp_path)
    _check(lines)
    assert (tmp_path / "repo/inbound-meeting.db").exists()
    assert len(list((tmp_path / "repo/out/inbound").glob("*.html"))) == 1
