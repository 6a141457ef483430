"""Fixtures shared by every test folder.

Each folder keeps its own ``conftest.py`` for what only it needs; this file holds
what several folders rely on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root directory."""
    return REPO_ROOT
