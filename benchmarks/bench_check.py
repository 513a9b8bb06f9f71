"""Check time against policy size: `policyd check` stays linear in the file.

A policy grows by exceptions over the same fields (the shape that made checking grow
with the square of the file before: every exception re-enumerated the same leads and
re-compiled the conditions above it). For each size the benchmark times the whole
check (parse, names and types, the exact analysis, compiling) and, as the floor in the
same run, the parse alone by the grammar (lark): no check can do less than read the
file. Linear means the ratio check / parse stays flat as the file grows.

    python benchmarks/bench_check.py [--sizes 500,1000,2000,4000] [--rounds 3]

Reports medians, seconds per MB and the ratio to the parse.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policyd.checks.load import load_path  # noqa: E402
from policyd.lang.grammar import parser  # noqa: E402


def make_policy(n: int) -> str:
    """The reference policy with `n` exceptions before its routes."""
    base = (ROOT / "policies" / "inbound.policy").read_text(encoding="utf-8")
    head, rest = base.split("route high", 1)
    excs = [
        f'exception e{i} "Exception number {i} for one particular kind of lead" {{\n'
        f"  when employees >= {1000 + i} and segment is enterprise and industry is finance and budget is stated\n"
        "  require skill(enterprise) >= 2\n"
        "  pick least loaded\n"
        "}\n"
        for i in range(n)
    ]
    return head + "\n".join(excs) + "\nroute high" + rest


def _median(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,1000,2000,4000", help="numbers of exceptions, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"{'exceptions':>10} {'MB':>6} {'check s':>8} {'parse s':>8} {'check s/MB':>10} {'check/parse':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            text = make_policy(n)
            path = Path(tmp) / f"p{n}.policy"
            path.write_text(text, encoding="utf-8")
            loaded = load_path(str(path))
            assert not [d for d in loaded.diagnostics if d.severity == "error"], "the generated policy must check clean"
            check_s = _median(lambda path=path: load_path(str(path)), args.rounds)
            parse_s = _median(lambda text=text: parser().parse(text, start="start"), args.rounds)
            mb = len(text.encode("utf-8")) / 1e6
            print(f"{n:>10} {mb:>6.2f} {check_s:>8.2f} {parse_s:>8.2f} {check_s / mb:>10.2f} {check_s / parse_s:>10.2f}x")


if __name__ == "__main__":
    main()
