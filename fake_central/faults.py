"""Armed faults: which requests they match, when they fire, what they do.

A ``FaultSpec`` has three parts (all optional except the action):

* ``match``: cluster, client id, method and path (exact, or a prefix when the
  pattern ends with ``*``). Missing fields match anything.
* ``when``: ``{"next": N}`` (the next N matching requests), ``{"after": N,
  "count": M}`` (let N pass, then fire on M, or forever without ``count``) or
  ``{"window": {"start": ISO, "end": ISO}}`` (fake-clock time in [start, end)).
  Without ``when`` the fault fires on every matching request until cleared.
* ``action``: ``status`` (status, JSON or text body, headers), ``delay`` (then
  answer normally), ``drop`` (close the connection without an answer),
  ``plain_text`` (a text/plain 5xx like an upstream proxy error) or
  ``lose_token_response`` (``/oauth2/token`` only: the refresh is committed, the
  rotation happens, and then the answer is lost; a refused refresh passes
  through untouched and does not use the fault up).

Faults are checked in arming order; every matching fault counts the request, and
the first one whose schedule says "fire" fires.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ArmedFault",
    "DelayAction",
    "DropAction",
    "FaultBook",
    "FaultMatch",
    "FaultSpec",
    "FaultWhen",
    "LoseTokenResponseAction",
    "PlainTextAction",
    "StatusAction",
    "TimeWindow",
]

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultMatch(_Strict):
    """Which requests a fault applies to; every field is optional."""

    cluster: str | None = None
    client_id: str | None = None
    method: str | None = None
    path: str | None = Field(None, description="Exact path, or a prefix ending in '*'.")

    def matches(
        self, cluster: str, client_id: str | None, method: str, path: str
    ) -> bool:
        if self.cluster is not None and self.cluster.casefold() != cluster.casefold():
            return False
        if self.client_id is not None and self.client_id != client_id:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is None:
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


class TimeWindow(_Strict):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("window.end must be later than window.start")
        return self


class FaultWhen(_Strict):
    """The schedule: exactly one of ``next``, ``after`` or ``window``."""

    next: int | None = Field(None, ge=1)
    after: int | None = Field(None, ge=0)
    count: int | None = Field(None, ge=1)
    window: TimeWindow | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> FaultWhen:
        chosen = [
            n for n in ("next", "after", "window") if getattr(self, n) is not None
        ]
        if len(chosen) != 1:
            raise ValueError("give exactly one of 'next', 'after' or 'window'")
        if self.count is not None and self.after is None:
            raise ValueError("'count' goes with 'after' only")
        return self


class StatusAction(_Strict):
    kind: Literal["status"]
    status: int = Field(ge=100, le=599)
    body: dict[str, Any] | list[Any] | str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class DelayAction(_Strict):
    kind: Literal["delay"]
    seconds: float = Field(gt=0, le=600)


class DropAction(_Strict):
    kind: Literal["drop"]


class PlainTextAction(_Strict):
    kind: Literal["plain_text"]
    status: int = Field(503, ge=400, le=599)
    text: str = "upstream connect error or disconnect/reset before headers"


class LoseTokenResponseAction(_Strict):
    kind: Literal["lose_token_response"]
    status: int | None = Field(
        None, ge=500, le=599, description="Answer this 5xx instead of dropping."
    )


FaultAction = Annotated[
    StatusAction | DelayAction | DropAction | PlainTextAction | LoseTokenResponseAction,
    Field(discriminator="kind"),
]


class FaultSpec(_Strict):
    """A fault to arm: ``match`` + ``when`` + ``action`` (see the module doc)."""

    match: FaultMatch = Field(default_factory=FaultMatch)
    when: FaultWhen | None = None
    action: FaultAction

    @model_validator(mode="after")
    def _token_faults_target_the_token_path(self) -> FaultSpec:
        if isinstance(self.action, LoseTokenResponseAction):
            path = self.match.path
            if path is not None and path != TOKEN_PATH:
                raise ValueError(
                    f"lose_token_response applies to {TOKEN_PATH} only, not {path!r}"
                )
        return self


@dataclass(slots=True)
class ArmedFault:
    """A fault with its id and counters."""

    id: str
    spec: FaultSpec
    seen: int = 0
    fired: int = 0
    retired: bool = field(default=False)

    @property
    def label(self) -> str:
        return f"{self.id}:{self.spec.action.kind}"

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "spec": self.spec.model_dump(mode="json", exclude_none=True),
            "seen": self.seen,
            "fired": self.fired,
            "active": not self.retired,
        }

    def decide(self, now: float) -> bool:
        """Count one matching request; True when the fault fires on it."""
        self.seen += 1
        when = self.spec.when
        if when is None:
            return True
        if when.next is not None:
            return self.fired < when.next
        if when.after is not None:
            over = self.seen > when.after
            return over and (when.count is None or self.fired < when.count)
        window = when.window
        assert window is not None
        return window.start.timestamp() <= now < window.end.timestamp()

    def exhausted(self) -> bool:
        when = self.spec.when
        if when is None:
            return False
        if when.next is not None:
            return self.fired >= when.next
        return when.count is not None and self.fired >= when.count


class FaultBook:
    """The armed faults of one fake, in arming order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: list[ArmedFault] = []

    def __bool__(self) -> bool:
        return bool(self._faults)

    def arm(self, spec: FaultSpec) -> str:
        with self._lock:
            fault = ArmedFault(id=f"f{next(self._ids)}", spec=spec)
            self._faults.append(fault)
        return fault.id

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._faults)
            self._faults = []
        return cleared

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            kept = [fault for fault in self._faults if fault.id != fault_id]
            removed = len(kept) != len(self._faults)
            self._faults = kept
        return removed

    def refund(self, fault: ArmedFault) -> None:
        """Undo one firing (a lost-response fault that found nothing to lose)."""
        with self._lock:
            fault.fired -= 1
            fault.retired = fault.exhausted()

    def listing(self) -> list[dict[str, Any]]:
        return [fault.summary() for fault in self._faults]

    def pick(
        self,
        now: float,
        cluster: str,
        client_id: str | None,
        method: str,
        path: str,
    ) -> ArmedFault | None:
        """The fault that fires on this request, if any (and count it)."""
        chosen: ArmedFault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.retired or not _applies(
                    fault, cluster, client_id, method, path
                ):
                    continue
                if fault.decide(now) and chosen is None:
                    chosen = fault
                    fault.fired += 1
                    fault.retired = fault.exhausted()
        return chosen


def _applies(
    fault: ArmedFault, cluster: str, client_id: str | None, method: str, path: str
) -> bool:
    if isinstance(fault.spec.action, LoseTokenResponseAction) and path != TOKEN_PATH:
        return False
    return fault.spec.match.matches(cluster, client_id, method, path)
