"""The README's daemon walk-through runs as written (on a free port, in a scratch directory)."""

from __future__ import annotations

import time

from .serve_support import free_port, readme_block, run_readme_script


def test_readme_daemon_commands_run(tmp_path):
    block = readme_block("## The daemon")
    assert "policyd publish policies/inbound.policy" in block and "curl -s -X POST" in block
    port = free_port()
    script = block.replace("8377", str(port))
    out, err = run_readme_script(script, tmp_path)
    assert '"lead_id":"L-2"' in out and '"status":"assigned"' in out and '"replayed":false' in out
    from policyd.lottery.seeds import period_of

    this_week = period_of(time.time())  # its seed could not be committed once the week had begun: the rules place the lead
    assert '"seed_id":null' in out and f'"lottery_note":"no committed seed for {this_week}: lottery steps are skipped' in out
    assert f"committed {period_of(time.time() + 7 * 86400)}; publish this commitment now" in err  # next week's seed
    assert "Lead L-2 (Globex) -> " in out  # the text explanation
    assert "Why not quinn?" in out
    assert '"status":"accepted"' in out and '"status":"won"' in out
    assert '"rep":"erin","away":true' in out
    assert "published as @1" in err and "it is shown only this once" in err
