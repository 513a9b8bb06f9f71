from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


@pytest.fixture(scope="session")
def inbound_text() -> str:
    return (POLICIES / "inbound.policy").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def inbound():
    from policyd.checks.load import load_path

    return load_path(POLICIES / "inbound.policy")


@pytest.fixture(scope="session")
def emea():
    from policyd.checks.load import load_path

    return load_path(POLICIES / "emea.policy")
