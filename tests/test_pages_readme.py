"""The README's Pages section names every page the daemon serves, and the page tests open each of them."""

from __future__ import annotations

import re
from pathlib import Path

from policyd.web.routes import ENDPOINTS

from . import test_pages_a11y

ROOT = Path(__file__).parent.parent


def test_every_page_is_in_the_readme_and_in_the_browser_test():
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Pages\n", 1)[1].split("\n## ", 1)[0]
    listed = {re.sub(r"\{[^}]+\}", "{}", m.split("?")[0]) for m in re.findall(r"^\| `(/[^`]*)`", section, re.M)}
    served = {re.sub(r"\{[^}]+\}", "{}", ep.path) for ep in ENDPOINTS if ep.page and ep.documented}
    assert served == listed
    assert len(test_pages_a11y.PAGES) >= len(served) + 1  # every page, a rep's why-not view, and the review report
