"""The one list of sensitive names, and the helpers that mask them.

Every place that could show a header, a query string, a form field or a URL to a
human (log lines, exception texts, ``repr``) goes through these helpers, so that
adding a name here masks it everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from yarl import URL

__all__ = [
    "MASK",
    "SENSITIVE_NAMES",
    "is_sensitive",
    "mask_mapping",
    "redact_url",
    "scrub",
]

MASK = "***"

SENSITIVE_NAMES: frozenset[str] = frozenset(
    {
        "access_token",
        "authorization",
        "client_secret",
        "code",
        "cookie",
        "csrftoken",
        "password",
        "proxy-authorization",
        "refresh_token",
        "session",
        "set-cookie",
        "token",
        "x-csrf-token",
    }
)

_MIN_SECRET_LENGTH = 4


def is_sensitive(name: str) -> bool:
    """Whether a header, query parameter or field called ``name`` holds a secret."""
    return name.strip().lower() in SENSITIVE_NAMES


def mask_mapping(values: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``values`` with every sensitive entry replaced by ``***``."""
    return {key: MASK if is_sensitive(key) else value for key, value in values.items()}


def redact_url(url: URL | str) -> str:
    """``url`` as text without user info or fragment, sensitive query values masked."""
    url = URL(url) if isinstance(url, str) else url
    if url.query:
        masked = [(k, MASK if is_sensitive(k) else v) for k, v in url.query.items()]
        url = url.with_query(masked)
    return str(url.with_user(None).with_fragment(None))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each known secret value replaced by ``***``.

    Used on text that comes from outside (a server's error body) before it is put
    into a message, in case the server echoes a value back.
    """
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
    return text
