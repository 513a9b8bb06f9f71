"""The README's CRM path runs as written (on free ports, in a scratch directory): mapped, signed, refused and kept, resubmitted."""

from __future__ import annotations

import json

from .serve_support import free_port, readme_block, run_readme_script


def test_readme_crm_path_runs(tmp_path):
    block = readme_block("### The CRM path, end to end")
    assert "--map hubspot=policies/intake/hubspot.map.toml" in block and "X-HubSpot-Signature-v3" in block
    out, _ = run_readme_script(block.replace("8377", str(free_port())).replace("9000", str(free_port())), tmp_path)
    lines = [x for x in out.splitlines() if x.startswith("{")]  # publish and activate print @1 first
    decided, refused, listed, resubmitted = (json.loads(x) for x in lines[:4])
    assert (decided["lead_id"], decided["tier"], decided["source"]) == ("512", "high", "hubspot")
    assert decided["owner_ids"] == {"hubspot_owner_id": "75298514"} and decided["rep"] == "alice"
    assert (refused["error"], refused["refused_id"], refused["fields"][0]["field"]) == ("unmapped", 1, "employees")
    assert [x["id"] for x in listed["refused"]] == [1] and listed["waiting"] == {"mapping": 1}
    assert resubmitted["error"] == "unmapped"  # the mapping was not fixed in this script: it stays refused
    assert 'policyd_outbox_events{state="pending"} 1' in out or 'policyd_outbox_events{state="failing"} 1' in out
