"""The README's CRM path runs as written (on free ports, in a scratch directory): mapped, signed, refused and kept, resubmitted."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _crm_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### The CRM path, end to end\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_crm_path_runs(tmp_path):
    block = _crm_block()
    assert "--map hubspot=policies/intake/hubspot.map.toml" in block and "X-HubSpot-Signature-v3" in block
    script = "set -e\n" + block.replace("8377", str(_free_port())).replace("9000", str(_free_port()))
    script += '\nkill "$(jobs -p)"\nwait || true\n'
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("POLICYD_DB", None)
    proc = subprocess.Popen(
        ["bash", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    lines = [x for x in out.splitlines() if x.startswith("{")]  # publish and activate print @1 first
    decided, refused, listed, resubmitted = (json.loads(x) for x in lines[:4])
    assert (decided["lead_id"], decided["tier"], decided["source"]) == ("512", "high", "hubspot")
    assert decided["owner_ids"] == {"hubspot_owner_id": "75298514"} and decided["rep"] == "alice"
    assert (refused["error"], refused["refused_id"], refused["fields"][0]["field"]) == ("unmapped", 1, "employees")
    assert [x["id"] for x in listed["refused"]] == [1] and listed["waiting"] == {"mapping": 1}
    assert resubmitted["error"] == "unmapped"  # the mapping was not fixed in this script: it stays refused
    assert 'policyd_outbox_events{state="pending"} 1' in out or 'policyd_outbox_events{state="failing"} 1' in out
