"""Peak memory of `--sort` on a reversed history: the spill file keeps it flat.

    .venv/bin/python benchmarks/bench_sort.py                      # 100,000 and 1,000,000 rows
    .venv/bin/python benchmarks/bench_sort.py --sizes 100000

A CSV of N leads for tests/data/replay/tiny.policy is written newest first (each row
arrives a minute before the one above it), then read through the replay's own
reader and sorted as `policyd replay --sort` does (`History`, then
`replay.ordered(sort=True)`, rows spilled to a temporary SQLite file), every row
consumed and checked to be in order. The baseline is the previous approach in the
same run: the mapped rows held in a list and sorted in memory. Each case runs in its
own process, so its peak RSS (resource.getrusage) is its own: flat memory shows as
the same peak at 100,000 and 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "replay"
MAP = '[history]\nid = "id"\narrival = "at"\n[fields]\nid = "id"\nsize = "size"\nkind = "kind"\n'
T0 = 1_700_000_000


def write_history(path: Path, n: int) -> None:
    """N rows, newest first: row i arrives (n - i) minutes after T0."""
    with open(path, "w") as fh:
        fh.write("id,at,size,kind,note\n")
        for i in range(n):
            fh.write(f"L{i},{T0 + 60 * (n - i)},{(i * 37) % 300},{'ab'[i % 2]},a note of about forty characters {i}\n")


def case(kind: str, csv: str, mapping: str) -> dict:
    from policyd.checks.load import load_path
    from policyd.replay.history import History
    from policyd.replay.mapping import load_mapping
    from policyd.replay.records import HistoryRow
    from policyd.replay.replay import ordered

    schema = load_path(DATA / "tiny.policy").compiled.schema
    h = History(csv, load_mapping(mapping), schema)
    t = time.perf_counter()
    n, last = 0, float("-inf")
    if kind == "spill":
        rows = ordered(h, sort=True)
    else:
        kept = [r for r in h if isinstance(r, HistoryRow)]
        kept.sort(key=lambda r: r.arrival)
        rows = iter(kept)
    for r in rows:
        assert r.arrival >= last
        last = r.arrival
        n += 1
    secs = time.perf_counter() - t
    return {"rows": n, "seconds": secs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--baseline-max", type=int, default=100000, help="largest size for the in-memory baseline")
    ap.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case(*a.case)))
        return
    print(f"{'rows':>9}  {'sort':<9}  {'rows/s':>9}  {'peak RSS':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        mapping = Path(tmp) / "m.toml"
        mapping.write_text(MAP)
        for n in [int(s) for s in a.sizes.split(",")]:
            csv = Path(tmp) / f"h{n}.csv"
            write_history(csv, n)
            for kind in ("spill", "memory"):
                if kind == "memory" and n > a.baseline_max:
                    continue
                out = subprocess.run(
                    [sys.executable, __file__, "--case", kind, str(csv), str(mapping)], check=True, capture_output=True, text=True
                )
                r = json.loads(out.stdout)
                assert r["rows"] == n
                label = "spill" if kind == "spill" else "in memory"
                print(f"{n:>9,}  {label:<9}  {n / r['seconds']:>9,.0f}  {r['peak_rss_mb']:>6.0f} MB", flush=True)


if __name__ == "__main__":
    main()
