"""The one list of sensitive names, and the masking built on it.

Every place that records or logs request data (the journal, log lines, the
control API's listings) masks through this module, so a secret that reaches the
fake never leaves it except in the response that issues it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["MASK", "SENSITIVE_NAMES", "is_sensitive", "mask_pairs", "mask_secret"]

MASK = "***"

SENSITIVE_NAMES = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "code",
        "auth_code",
        "password",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-csrf-token",
        "token",
        "secret",
    }
)
"""Query, form, JSON and header names whose values are never recorded."""


def is_sensitive(name: str) -> bool:
    """True when a parameter or header called ``name`` carries a secret."""
    return name.lower() in SENSITIVE_NAMES


def mask_pairs(pairs: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """A plain dict of the pairs with every sensitive value replaced by ``MASK``.

    With repeated names the last value wins, as in most web frameworks.
    """
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return {name: (MASK if is_sensitive(name) else value) for name, value in items}


def mask_secret(value: str | None) -> str:
    """A fixed mask for a secret value; never reveals its length or prefix."""
    return MASK if value else ""
