"""The vocabulary of a scenario's timeline and expectations (see ``scenario``).

Each timeline step is a mapping with exactly one *kind* key (``run``, ``advance``,
``fault``, ...). The kind picks the pydantic model, so an error in a step is
reported at the step's own fields, e.g. ``timeline[3].fault.action.status``.
This module also turns pydantic's error locations into those field paths.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeInt,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from fake_central.config import FakeConfig
from fake_central.faults import (
    DelayAction,
    DropAction,
    FaultSpec,
    LoseTokenResponseAction,
    PlainTextAction,
    StatusAction,
)

__all__ = [
    "COMMANDS",
    "CREDENTIAL_KEYS",
    "STEP_KINDS",
    "Action",
    "AdvanceStep",
    "ClearFaultsStep",
    "ConfigStep",
    "CredentialsStep",
    "FaultStep",
    "FinalExpect",
    "InventoryChange",
    "InventoryStep",
    "MintSpec",
    "MintStep",
    "Outcome",
    "RefreshElsewhereStep",
    "RunStep",
    "SetClockStep",
    "Step",
    "StepBase",
    "check_config",
    "field_path",
    "parse_duration",
    "problem_text",
]

COMMANDS = ("test", "sync", "sites", "map", "unmap", "customer")
"""The connector commands a ``run`` step may name."""

CREDENTIAL_KEYS = (
    "gateway_url",
    "client_id",
    "client_secret",
    "access_token",
    "refresh_token",
)
"""The five values a user pastes, as the connector's credentials file has them."""

STEP_KINDS = (
    "run",
    "advance",
    "set_clock",
    "fault",
    "clear_faults",
    "refresh_elsewhere",
    "mint",
    "inventory",
    "config",
    "credentials",
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_FAULT_ACTION_KINDS = frozenset(
    get_args(action.model_fields["kind"].annotation)[0]
    for action in (
        StatusAction,
        DelayAction,
        DropAction,
        PlainTextAction,
        LoseTokenResponseAction,
    )
)
# Errors whose message already names the value (our own validators) or has none.
_SELF_EXPLAINING = frozenset({"extra_forbidden", "missing", "value_error", "step_kind"})


def parse_duration(value: float | str) -> float:
    """Seconds from ``7300``, ``"7300"``, ``"2h"``, ``"1h30m"`` or ``"15d"``."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not text or _DURATION.sub("", text):
        raise ValueError(
            f"duration {value!r} must be seconds or pieces like '2h', '31m', '15d'"
        )
    return sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))


def field_path(loc: tuple[int | str, ...]) -> str:
    """``('timeline', 2, 'run', 'expect', 'exit')`` -> ``timeline[2].expect.exit``.

    Pydantic puts a tagged union's tag into the location: the step kind after a
    step's index, the action kind after a fault's ``action``. Both are dropped,
    because in the file they are not a level of nesting.
    """
    text = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _is_union_tag(previous, part):
            text += f".{part}" if text else str(part)
        previous = part
    return text


def _is_union_tag(previous: int | str | None, part: str) -> bool:
    if isinstance(previous, int):
        return part in STEP_KINDS
    return previous == "action" and part in _FAULT_ACTION_KINDS


def problem_text(item: Any) -> str:
    """One pydantic error as a sentence, with the offending value when useful."""
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] in _SELF_EXPLAINING:
        return message
    return f"{message} (got {item['input']!r})"[:300]


def check_config(update: dict[str, Any]) -> dict[str, Any]:
    """Refuse a FakeConfig update the fake would refuse, naming the setting."""
    try:
        FakeConfig().merged(update)
    except ValidationError as exc:
        problems = "; ".join(
            f"{field_path(item['loc'])}: {problem_text(item)}"
            for item in exc.errors(include_url=False)
        )
        raise ValueError(problems) from None
    return update


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- expectations -------------------------------------------------------------


class Outcome(_Model):
    """What one connector command must end with; unset fields are not checked."""

    exit: int | None = None
    error: str | list[str] | None = None
    """The error's type in the ``--json`` output; a list accepts any of them."""
    message: str | None = None
    """A piece of text the error message must contain (case-insensitive)."""
    output: dict[str, Any] = {}
    """Dotted paths into the ``--json`` output and the values found there; a path
    ending in ``#`` compares the length of a list."""
    ground_truth: bool = False
    """The sync's counts equal the fake's tenant at the end of the command."""

    def describe(self) -> str:
        parts = [f"exit {self.exit}"] if self.exit is not None else []
        if self.error is not None:
            names = self.error if isinstance(self.error, list) else [self.error]
            parts.append(" | ".join(names))
        parts += [f"{path}={value}" for path, value in self.output.items()]
        if self.ground_truth:
            parts.append("= ground truth")
        return ", ".join(parts) or "anything"


class FinalExpect(Outcome):
    """The last command's outcome, plus checks over the fake's journal."""

    refreshes: NonNegativeInt | None = None
    """Rotations the fake accepted for the connector's client id, the other
    integration's included."""
    max_stale_token_requests: NonNegativeInt | None = None
    """At most this many connector requests may carry a rotated-away token;
    default 0 unless another integration rotates the pair (then unchecked)."""
    paced: bool = True
    """No request of the connector was refused by the fake's per-second limit."""


# --- steps --------------------------------------------------------------------


class StepBase(_Model):
    """What every step may carry: when to fire it inside a ``run``'s ``during``."""

    after_requests: NonNegativeInt | None = None
    """Only inside ``during``: fire once the command has made this many requests."""
    on_path: str | None = None
    """Only inside ``during``: count only the requests to this path."""


class AdvanceStep(StepBase):
    advance: Annotated[float, Field(ge=0)]

    @field_validator("advance", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


class SetClockStep(StepBase):
    set_clock: datetime

    @field_validator("set_clock")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the time needs a time zone, e.g. 2026-01-06T00:00:00Z")
        return value


class FaultStep(StepBase):
    fault: FaultSpec


class ClearFaultsStep(StepBase):
    clear_faults: Literal[True]


class RefreshElsewhereStep(StepBase):
    refresh_elsewhere: str
    """The app whose pair another integration, holding a copy, refreshes."""


class MintSpec(_Model):
    app: str | None = None
    expect: Literal["ok", "refused"] = "ok"
    paste: bool = True
    """Give the new pair to the connector (rewrite its credentials file)."""


class MintStep(StepBase):
    mint: MintSpec

    @field_validator("mint", mode="before")
    @classmethod
    def _app_name(cls, value: Any) -> Any:
        return {"app": value} if isinstance(value, str) else value


class InventoryChange(_Model):
    """Replace a tenant (``sites`` and ``devices``) or change it in place."""

    app: str | None = None
    sites: NonNegativeInt | None = None
    devices: NonNegativeInt | None = None
    seed: int = 0
    unmonitored_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
    add_sites: NonNegativeInt = 0
    remove_sites: NonNegativeInt = 0
    add_devices: NonNegativeInt = 0
    remove_devices: NonNegativeInt = 0

    @model_validator(mode="after")
    def _replace_or_change(self) -> InventoryChange:
        replace = self.sites is not None or self.devices is not None
        change = self.add_sites or self.remove_sites or self.add_devices
        if replace and (self.sites is None or self.devices is None):
            raise ValueError("a new inventory needs both 'sites' and 'devices'")
        if replace and (change or self.remove_devices):
            raise ValueError("either replace the inventory or change it, not both")
        return self

    @property
    def replaces(self) -> bool:
        return self.sites is not None


class InventoryStep(StepBase):
    inventory: InventoryChange


class ConfigStep(StepBase):
    config: dict[str, Any]

    @field_validator("config")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_config(value)


class CredentialsStep(StepBase):
    credentials: dict[str, str]

    @field_validator("credentials")
    @classmethod
    def _known_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CREDENTIAL_KEYS))
        if unknown:
            known = ", ".join(CREDENTIAL_KEYS)
            raise ValueError(f"unknown credential {unknown}; known: {known}")
        return value


def _kind_of(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return next(kind for kind in STEP_KINDS if kind in type(value).model_fields)
    if not isinstance(value, dict):
        return None
    present = [kind for kind in STEP_KINDS if kind in value]
    return present[0] if len(present) == 1 else None


_BY_KIND = Discriminator(
    _kind_of,
    custom_error_type="step_kind",
    custom_error_message=f"a step needs exactly one of: {', '.join(STEP_KINDS)}",
)

Action = Annotated[
    Annotated[AdvanceStep, Tag("advance")]
    | Annotated[SetClockStep, Tag("set_clock")]
    | Annotated[FaultStep, Tag("fault")]
    | Annotated[ClearFaultsStep, Tag("clear_faults")]
    | Annotated[RefreshElsewhereStep, Tag("refresh_elsewhere")]
    | Annotated[MintStep, Tag("mint")]
    | Annotated[InventoryStep, Tag("inventory")]
    | Annotated[ConfigStep, Tag("config")]
    | Annotated[CredentialsStep, Tag("credentials")],
    _BY_KIND,
]
"""Any step but ``run``: what may happen while a command runs."""


class RunStep(StepBase):
    run: list[str]
    expect: Outcome | None = None
    during: list[Action] = []

    @field_validator("run", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value

    @field_validator("run")
    @classmethod
    def _known_command(cls, value: list[str]) -> list[str]:
        if not value or value[0] not in COMMANDS:
            given, known = " ".join(value), ", ".join(COMMANDS)
            raise ValueError(f"command {given!r} must start with one of: {known}")
        return value

    @field_validator("during")
    @classmethod
    def _triggered(cls, value: list[StepBase]) -> list[StepBase]:
        if any(step.after_requests is None for step in value):
            raise ValueError("every step under 'during' needs after_requests")
        return value


Step = Annotated[
    Annotated[RunStep, Tag("run")]
    | Annotated[AdvanceStep, Tag("advance")]
    | Annotated[SetClockStep, Tag("set_clock")]
    | Annotated[FaultStep, Tag("fault")]
    | Annotated[ClearFaultsStep, Tag("clear_faults")]
    | Annotated[RefreshElsewhereStep, Tag("refresh_elsewhere")]
    | Annotated[MintStep, Tag("mint")]
    | Annotated[InventoryStep, Tag("inventory")]
    | Annotated[ConfigStep, Tag("config")]
    | Annotated[CredentialsStep, Tag("credentials")],
    _BY_KIND,
]
"""One timeline step of any kind."""
