"""The README's lottery meeting runs as written, in a fresh directory."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## The lottery meeting")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_the_readme_meeting_runs_end_to_end(tmp_path):
    script = re.search(r"```sh\n(.*?)```", _section(), re.S).group(1)
    assert script.count("policyd ") == 4
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("POLICYD_DB", None)
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # stdout: the commitment, the assignments, `record <id>`, the revealed seed, then verify's lines
    at = next(i for i, x in enumerate(lines) if x.startswith("record "))
    commitment, seed = lines[0], lines[at + 1]
    assert hashlib.sha256(seed.encode()).hexdigest() == commitment
    assert lines[-1].startswith("match: ") and "with the seed from the page" in lines[-1]
    assert (tmp_path / "meeting.db").exists()
    assert len(list((tmp_path / "out/lottery").glob("*.html"))) == 1
