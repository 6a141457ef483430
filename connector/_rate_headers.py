"""What Central's answers say of its limits: X-RateLimit-*, Retry-After, Date.

Pure functions over one answer's headers, used by :mod:`connector.pacing`. Header
names match in any case; a junk value reads as absent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = [
    "RateHeaders",
    "header",
    "next_utc_midnight",
    "parse_rate_headers",
    "parse_retry_after",
    "server_date",
]


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """The ``X-RateLimit-*`` values of one response; ``None`` when absent or junk."""

    limit_second: int | None = None
    remaining_second: int | None = None
    limit_day: int | None = None
    remaining_day: int | None = None


def parse_rate_headers(headers: Mapping[str, str]) -> RateHeaders:
    """Read the four ``X-RateLimit-*`` headers (any case), ignoring junk values."""
    lowered = {name.lower(): value for name, value in headers.items()}

    def number(name: str) -> int | None:
        raw = lowered.get(name, "").strip()
        return int(raw) if raw.isdigit() and raw.isascii() else None

    return RateHeaders(
        limit_second=number("x-ratelimit-limit-second"),
        remaining_second=number("x-ratelimit-remaining-second"),
        limit_day=number("x-ratelimit-limit-day"),
        remaining_day=number("x-ratelimit-remaining-day"),
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or HTTP-date).

    Anything unparsable gives ``None``; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until_http_date(text: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_utc_midnight(now: datetime) -> datetime:
    """The next 00:00 UTC after ``now``, when Central's daily budget resets."""
    today = now.astimezone(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)


def server_date(headers: Mapping[str, str]) -> datetime | None:
    """The answer's ``Date`` header as an aware datetime; ``None`` if absent or junk."""
    text = header(headers, "date")
    if text is None:
        return None
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
