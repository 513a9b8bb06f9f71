"""The Amida ladder (ghost leg): a picture of one winner draw that can be checked.

Its own module because the ladder is pure arithmetic on the seed, shared by the
record's draws, their verification and the page that draws it (docs/lottery.md).
"""

from __future__ import annotations

import html as _html

from ..engine.draw import draw, draw_index


def rung_count(n: int) -> int:
    """Rungs in a ladder of n legs: none for one leg, else 2n (at least 4)."""
    return 0 if n < 2 else max(4, 2 * n)


def ladder_rungs(seed: str, lead_id: str, n: int) -> list[int]:
    """Rung k joins legs g and g+1, g = draw_index(draw(seed, lead_id, "rung:k"), None, n-1)."""
    return [draw_index(draw(seed, lead_id, f"rung:{k}"), None, n - 1) for k in range(rung_count(n))]


def trace(rungs: list[int], start: int) -> int:
    """Follow a leg down the ladder: every rung that touches it moves it across."""
    pos = start
    for g in rungs:
        if g == pos:
            pos += 1
        elif g == pos - 1:
            pos -= 1
    return pos


def ladder(seed: str, lead_id: str, n: int, winner: int) -> dict:
    """The ladder of one lottery draw: rungs, the winner's leg and where it ends."""
    rungs = ladder_rungs(seed, lead_id, n)
    return {"rungs": rungs, "start": winner, "end": trace(rungs, winner)}


def ladder_svg(names: list[str], lad: dict, label: str) -> str:
    """The ladder as inline SVG; the winner's path is highlighted down to the lead's marker.

    Rungs that share no leg commute, so they are packed into rows to keep the
    picture short; the order of rungs on each leg (what tracing reads) is kept.
    """
    n = len(names)
    rungs = lad["rungs"]
    dx, dy, top, left = 64, 16, 34, 40
    row_of_leg = [0] * max(n, 1)
    rows = []
    for g in rungs:
        r = max(row_of_leg[g], row_of_leg[g + 1]) + 1
        row_of_leg[g] = row_of_leg[g + 1] = r
        rows.append(r)
    depth = (max(rows) if rows else 0) + 1
    bottom = top + depth * dy
    width = left * 2 + (n - 1) * dx
    height = bottom + 40

    def x(i: int) -> int:
        return left + i * dx

    def y(r: int) -> int:
        return top + r * dy

    esc = _html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Amida ladder for {esc(label)}">'
    ]
    for i, name in enumerate(names):
        parts.append(f'<text x="{x(i)}" y="{top - 12}" class="name{" win" if i == lad["start"] else ""}">{esc(name)}</text>')
        parts.append(f'<line x1="{x(i)}" y1="{top}" x2="{x(i)}" y2="{bottom}" class="leg"/>')
    for g, r in zip(rungs, rows):
        parts.append(f'<line x1="{x(g)}" y1="{y(r)}" x2="{x(g + 1)}" y2="{y(r)}" class="rung"/>')
    # the winner's path, in rung order
    pos = lad["start"]
    pts = [(x(pos), top)]
    for g, r in zip(rungs, rows):
        if g in (pos, pos - 1):
            pts.append((x(pos), y(r)))
            pos = pos + 1 if g == pos else pos - 1
            pts.append((x(pos), y(r)))
    pts.append((x(pos), bottom))
    parts.append('<polyline class="path" points="' + " ".join(f"{a},{b}" for a, b in pts) + '"/>')
    parts.append(f'<circle cx="{x(lad["end"])}" cy="{bottom + 10}" r="6" class="marker"/>')
    parts.append(f'<text x="{x(lad["end"])}" y="{bottom + 32}" class="lead">{esc(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
