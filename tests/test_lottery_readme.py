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
    return [b for b in re.findall(r"```sh\n(.*?)```", _section(), re.S) if "policyd distribute" in b]


# The README's first step runs in the week before the meeting; here it is run with the
# clock of that week (the library's `now`), and every other command exactly as written.
_COMMIT_BEFORE = (
    'python -c "from policyd.lottery import seeds;'
    " print(seeds.commit('inbound-meeting.db', '2026-W48', now=seeds.period_start('2026-W48') - 3600).commitment)\""
)


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


def _check(lines: list[str], commitment: str | None = None) -> str:
    """stdout: the assignments, `record <id>`, then (revealed seed) and verify's lines. Returns the id."""
    at = next(i for i, x in enumerate(lines) if x.startswith("record "))
    if commitment is not None:
        seed = lines[at + 1]
        assert hashlib.sha256(seed.encode()).hexdigest() == commitment
    assert lines[-1].startswith("match: ") and "with the seed from the page" in lines[-1]
    assert not any(x.startswith("MISMATCH") for x in lines)
    return lines[at].removeprefix("record ")


def test_there_are_a_meeting_and_a_rehearsal():
    meeting, practice = _meetings()
    assert meeting.count("policyd ") == 4 and "policyd seed commit --period 2026-W48\n" in meeting
    assert practice.count("policyd ") == 2 and "--practice" in practice
    assert "--map policies/maven-crm.map.toml" in practice and "--since 2017-06-05 --until 2017-06-12" in practice


def test_the_readme_rehearsal_on_the_maven_demo_data_runs_end_to_end(tmp_path):
    assert (DATA / "sales_pipeline.csv").exists(), f"the demo data is missing: {DATA}"
    lines, err = _run(_meetings()[1], tmp_path)
    rid = _check(lines)
    assert "170 rows in the window, 8130 outside it, 500 without an arrival time" in err
    assert lines[-2] == "match     record  replay: the policy places all 170 leads the same way, with the same pools"
    assert any(x.startswith("match     record  practice: a rehearsal") for x in lines)
    record = json.loads((tmp_path / "repo/out/lottery" / f"{rid}.json").read_text())
    assert record["practice"] is True and record["period"] == "practice"
    assert record["leads_file"]["name"] == "sales_pipeline.csv"
    assert record["leads_file"]["window"] == {"since": "2017-06-05T00:00:00Z", "until": "2017-06-12T00:00:00Z"}
    assert record["totals"]["leads"] == 170 and record["totals"]["by_lottery"] > 0
    assert record["policy"]["file"] == "maven-crm.policy"
    assert all(x["line"] > 1 and x["lead"]["id"] == x["lead_id"] for x in record["leads"])


def test_the_readme_meeting_on_the_bundled_week_runs_end_to_end(tmp_path):
    script = _meetings()[0].replace("policyd seed commit --period 2026-W48", _COMMIT_BEFORE)
    lines, _ = _run(script, tmp_path)
    _check(lines[1:], commitment=lines[0])
    assert (tmp_path / "repo/inbound-meeting.db").exists() and (tmp_path / "repo/inbound-meeting.db.seed-key").exists()
    assert len(list((tmp_path / "repo/out/inbound").glob("*.html"))) == 1
