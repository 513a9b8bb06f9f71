"""Sets of lead kinds in words: kinds merged into cubes, each said as short field ranges.

Its own module because every impact figure that names leads ("industry finance,
employees >= 5000") words them here alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .kinds import OTHER, Dim


def _kinds_text(kinds: Sequence[str]) -> str:
    if len(kinds) <= 6:
        return "; ".join(kinds)
    return "; ".join(kinds[:6]) + f"; and {len(kinds) - 6} more kinds of lead"


def _label(d: Dim, idx: frozenset[int]) -> str:
    if d.bounds:
        parts = []
        numeric = sorted(i for i in idx if d.values[i] is not None)
        runs: list[list[int]] = []
        for i in numeric:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            lo, lo_incl = d.bounds[run[0]][0], d.bounds[run[0]][1]
            hi, hi_incl = d.bounds[run[-1]][2], d.bounds[run[-1]][3]
            parts.append(_range_text(d, lo, lo_incl, hi, hi_incl))
        if any(d.values[i] is None for i in idx):
            parts.append(f"{d.name} missing")
        return " or ".join(parts)
    vals = [d.values[i] for i in sorted(idx)]
    left_out = [d.values[i] for i in range(len(d.values)) if i not in idx]
    if d.kind == "enum" and len(left_out) <= 2 and len(vals) > 2 * len(left_out) and None not in left_out:
        return f"{d.name} other than " + " or ".join(str(v) for v in left_out)
    if d.kind == "bool":
        return " or ".join(f"{d.name} missing" if v is None else (d.name if v else f"not {d.name}") for v in vals)
    words = []
    for v in vals:
        if v is None:
            words.append("missing")
        elif v == OTHER:
            named = any(x not in (None, OTHER) for x in d.values)
            words.append(("another rep" if named else "set") if d.kind == "rep" else "any other value")
        else:
            words.append(str(v))
    return f"{d.name} " + " or ".join(words)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _range_text(d: Dim, lo, lo_incl, hi, hi_incl) -> str:
    n = d.name
    if d.kind == "int":
        if lo is None and hi is None:
            return f"any {n}"
        if lo is None:
            return f"{n} < {_fmt(hi + 1)}"
        if hi is None:
            return f"{n} >= {_fmt(lo)}"
        if lo == hi:
            return f"{n} = {_fmt(lo)}"
        return f"{n} {_fmt(lo)}..{_fmt(hi)}"
    if lo is None and hi is None:
        return f"any {n}"
    if lo is None:
        return f"{n} {'<=' if hi_incl else '<'} {_fmt(hi)}"
    if hi is None:
        return f"{n} {'>=' if lo_incl else '>'} {_fmt(lo)}"
    if lo == hi:
        return f"{n} = {_fmt(lo)}"
    return f"{_fmt(lo)} {'<=' if lo_incl else '<'} {n} {'<=' if hi_incl else '<'} {_fmt(hi)}"


def describe(dims: Sequence[Dim], kinds: Iterable[tuple[int, ...]]) -> tuple[str, ...]:
    """Merge kinds into cubes (sets per field) and say each in words; sorted, stable."""
    cubes = {tuple(frozenset([i]) for i in k) for k in kinds}
    changed = True
    while changed:
        changed = False
        for d in range(len(dims)):
            groups: dict[tuple, set[int]] = {}
            for c in cubes:
                key = c[:d] + c[d + 1 :]
                groups.setdefault(key, set()).update(c[d])
            if len(groups) < len(cubes):
                cubes = {key[:d] + (frozenset(vals),) + key[d:] for key, vals in groups.items()}
                changed = True
    out = []
    for c in sorted(cubes, key=lambda c: [sorted(s) for s in c]):
        parts = [_label(d, s) for d, s in zip(dims, c) if len(s) < len(d.values)]
        out.append(", ".join(parts) if parts else "every lead")
    return tuple(out)
