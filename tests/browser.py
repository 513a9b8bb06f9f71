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
def open_page(target: str | Path, screenshot: str | Path | None = None, width: int = 1280, height: int = 900):
    """Yield a PageVisit for a local file path or an http(s) URL; errors lists console errors and page errors."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium (see .ci/run)")
    url = str(target)
    if not url.startswith(("http://", "https://", "file://")):
        url = Path(target).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            visit = PageVisit(page)
            page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: visit.errors.append(str(e)))
            page.goto(url, wait_until="load")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
            yield visit
        finally:
            browser.close()
