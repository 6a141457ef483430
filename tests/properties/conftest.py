"""Hypothesis profiles and helpers for the property tests.

``fast`` (the default) keeps every run of ``tests/properties`` under a minute;
``nightly`` explores far more. Choose with ``HYPOTHESIS_PROFILE=nightly``. Tests
that only make sense with the long profile carry ``@pytest.mark.slow``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from machine_support import watch_requests

settings.register_profile(
    "fast",
    max_examples=60,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly",
    max_examples=1500,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture
def watched_sends(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let the state machine see every request the connector puts on the wire."""
    yield from watch_requests(monkeypatch)
