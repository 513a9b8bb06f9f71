"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Tests use `open_page` to load a file or URL, collect console errors and take a
screenshot. Chromium must be installed (`.ci/run` installs it); a missing browser
fails the test rather than skipping it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("POLICYD_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class PageVisit:
    page: object
    errors: list[str] = field(default_factory=list)


@contextmanager
def open_page(
    target: str | Path,
    screenshot: str | Path | None = None,
    width: int = 1280,
    height: int = 900,
    *,
    bypass_csp: bool = False,
    color_scheme: str = "light",
    timezone_id: str | None = None,
):
    """Yield a PageVisit for a local file path or an http(s) URL; errors lists console errors and page errors.

    `bypass_csp` lets a test inject axe-core into a page whose CSP forbids scripts;
    `color_scheme` is what `prefers-color-scheme` answers; `timezone_id` the viewer's zone.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium (see .ci/run)")
    url = str(target)
    if not url.startswith(("http://", "https://", "file://")):
        url = Path(target).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, bypass_csp=bypass_csp, color_scheme=color_scheme, timezone_id=timezone_id
            )
            page = context.new_page()
            visit = PageVisit(page)
            page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: visit.errors.append(str(e)))
            page.goto(url, wait_until="load")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
            yield visit
        finally:
            browser.close()


AXE_DIR = Path(__file__).parent / ".axe"  # gitignored; filled from the npm registry on first use
AXE_VERSION = "4.11.1"


def axe_script() -> Path:
    """axe-core's script, installed with npm into tests/.axe (not in the repository) when missing."""
    import subprocess

    js = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not js.exists():
        AXE_DIR.mkdir(exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(AXE_DIR), f"axe-core@{AXE_VERSION}"],
            check=True,
            timeout=300,
        )
    return js


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the open page (it must allow the script: open it with bypass_csp=True); the violations of `impacts`."""
    page.add_script_tag(path=str(axe_script()))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary)}))"""
    )
    return [v for v in found if v["impact"] in impacts]
