"""QA scenario files: the fake's starting state, a timeline, and the expected end.

A scenario is one YAML file under ``contracts/scenarios/``. ``load_scenario(path)``
reads and validates it; every problem is reported as a :class:`ScenarioError` that
names the file and the field, for example
``bad.yaml: timeline[2].expect.exit: Input should be a valid integer``.

The shape, with every step kind the timeline understands::

    name: refreshed-elsewhere                   # defaults to the file's stem
    summary: Another integration refreshes the shared pair first.
    tags: [setup-guide, tokens]
    known_gap: ...                              # optional: must fail, reported as gap
    start:
      clock: 2026-01-05T12:00:00Z               # the fake's clock; runs on from here
      frozen: false                             # true: moves only on advance/set_clock
      config: {per_day_limit: 50}               # partial FakeConfig
      apps:                                     # name -> app; the first one is minted
        main: {cluster: US-2, app_type: network_operations}
      inventory:
        main: {sites: 40, devices: 300, seed: 1}
    connector:
      app: main                                 # whose pair the connector gets
      gateway_url: https://apigw-prod2.central.arubanetworks.com   # default: the app's
      timeout: 0.5                              # --timeout for every command
    timeline:
      - run: sync                               # a connector command (str or list)
        expect: {exit: 0}                       # optional check of this command
        during:                                 # fired while the command runs:
          - {after_requests: 3, advance: 2h}    #   after its 3rd request is answered
          - {after_requests: 1, on_path: /central/v2/sites, inventory: {add_sites: 9}}
      - advance: 7300                           # seconds, or "2h", "31m", "15d"
      - set_clock: 2026-01-06T00:00:00Z
      - fault: {match: {path: /central/v2/sites}, when: {next: 1},
                action: {kind: status, status: 503}}
      - clear_faults: true
      - refresh_elsewhere: main                 # another integration, holding a copy
                                                #   of the pasted pair, refreshes it
      - mint: {app: main, expect: refused}      # the user mints (and pastes) a pair
      - inventory: {app: main, sites: 41, devices: 300, seed: 2}   # replace, or
      - inventory: {add_sites: 5, remove_devices: 3}               # change in place
      - config: {per_day_limit: 10}
      - credentials: {gateway_url: ...}         # the user edits the pasted values
    expect:                                     # the last command's outcome
      exit: 2
      error: RefreshTokenRejected               # the error type --json prints
      message: fresh pair                       # part of the error message
      output: {lists.sites.partial: true, "sites#": 1}   # paths into --json output
      ground_truth: true                        # a sync's counts = the fake's data
      refreshes: 0                              # rotations the fake accepted
      max_stale_token_requests: 1               # default 0 without refresh_elsewhere
      paced: true                               # no 429 from the per-second budget

Run commands may name the tenant's sites: ``{site:0}`` is the first site's id,
``{site_name:0}`` its name.

``Scenario.apply(fake)`` sets up the starting state on a :class:`FakeCentral` and
returns the credentials dict the connector is given (the keys of ``fake.demo()``);
``fake-central serve --scenario FILE`` uses it, and so does the replay runner in
:mod:`fake_central.replay`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    ValidationError,
    field_validator,
)

from fake_central._scenario_steps import (
    COMMANDS,
    CREDENTIAL_KEYS,
    STEP_KINDS,
    AdvanceStep,
    ClearFaultsStep,
    ConfigStep,
    CredentialsStep,
    FaultStep,
    FinalExpect,
    InventoryChange,
    InventoryStep,
    MintStep,
    Outcome,
    RefreshElsewhereStep,
    RunStep,
    SetClockStep,
    Step,
    StepBase,
    check_config,
    field_path,
    parse_duration,
    problem_text,
)
from fake_central.clusters import CLUSTERS
from fake_central.oauth import AppInfo, TokenPair

if TYPE_CHECKING:
    from fake_central.core import FakeCentral

__all__ = [
    "COMMANDS",
    "CREDENTIAL_KEYS",
    "STEP_KINDS",
    "AdvanceStep",
    "AppSpec",
    "ClearFaultsStep",
    "ConfigStep",
    "ConnectorSpec",
    "CredentialsStep",
    "FaultStep",
    "FinalExpect",
    "InventoryChange",
    "InventorySpec",
    "InventoryStep",
    "MintStep",
    "Outcome",
    "RefreshElsewhereStep",
    "RunStep",
    "Scenario",
    "ScenarioError",
    "ScenarioState",
    "SetClockStep",
    "StartState",
    "load_inventory_change",
    "load_scenario",
    "load_scenarios",
    "parse_duration",
]

DEFAULT_START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class ScenarioError(ValueError):
    """A scenario file cannot be read, or says something the runner cannot do.

    ``problems`` lists every (field, problem) pair found; ``field`` is the first
    one's field (``None`` when the trouble is the file as a whole).
    """

    def __init__(self, path: Path | str, field: str | None, problem: str) -> None:
        self.path = str(path)
        self.problems: list[tuple[str | None, str]] = [(field, problem)]
        super().__init__(self.path)

    @property
    def field(self) -> str | None:
        return self.problems[0][0]

    @classmethod
    def from_validation(cls, path: Path, exc: ValidationError) -> ScenarioError:
        error = cls(path, None, "")
        error.problems = [
            (field_path(item["loc"]) or None, problem_text(item))
            for item in exc.errors(include_url=False)
        ]
        return error

    def __str__(self) -> str:
        return "\n".join(
            f"{self.path}: {field}: {problem}" if field else f"{self.path}: {problem}"
            for field, problem in self.problems
        )


def known_cluster(name: str) -> str:
    """``name`` if it is a cluster of the fake; a ValueError listing them if not."""
    if name not in CLUSTERS:
        raise ValueError(f"unknown cluster {name!r}; known: {', '.join(CLUSTERS)}")
    return name


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("the clock needs a time zone, e.g. 2026-01-05T12:00:00Z")
    return value.astimezone(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the starting state -------------------------------------------------------


class AppSpec(_Model):
    """An API client the fake knows, created on a cluster with an app type."""

    cluster: str = "US-2"
    app_type: str = "network_operations"
    customer: str | None = None
    """Apps naming the same customer share one tenant; default: one tenant each."""

    @field_validator("cluster")
    @classmethod
    def _known_cluster(cls, value: str) -> str:
        return known_cluster(value)


class InventorySpec(_Model):
    """A deterministic tenant for an app's customer."""

    sites: NonNegativeInt
    devices: NonNegativeInt
    seed: int = 0
    unmonitored_fraction: Annotated[float, Field(ge=0, le=1)] | None = None


class StartState(_Model):
    """The fake before the timeline starts."""

    clock: datetime = DEFAULT_START
    frozen: bool = False
    """A frozen clock moves only on ``advance``; by default it runs in real time."""
    config: dict[str, Any] = {}
    apps: dict[str, AppSpec] = {"main": AppSpec()}
    inventory: dict[str, InventorySpec] = {}

    @field_validator("clock")
    @classmethod
    def _aware_clock(cls, value: datetime) -> datetime:
        return _aware(value)

    @field_validator("config")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_config(value)

    @field_validator("apps")
    @classmethod
    def _some_app(cls, value: dict[str, AppSpec]) -> dict[str, AppSpec]:
        if not value:
            raise ValueError("name at least one app")
        return value


class ConnectorSpec(_Model):
    """What the user gives the connector."""

    app: str | None = None
    """Whose minted pair the connector is given; default: the first app."""
    gateway_url: str | None = None
    """What the user pasted as the gateway URL; default: the app's own."""
    cluster: str | None = None
    """Paste the gateway URL of this cluster instead of the app's own."""
    timeout: Annotated[float, Field(gt=0)] | None = None
    """``--timeout`` for every command."""

    @field_validator("cluster")
    @classmethod
    def _known_cluster(cls, value: str | None) -> str | None:
        return None if value is None else known_cluster(value)


# --- the scenario -------------------------------------------------------------


class Scenario(_Model):
    """One QA scenario: a starting state, a timeline, and the expected end."""

    name: str
    summary: str = ""
    tags: list[str] = []
    known_gap: str | None = None
    """A known shortcoming this scenario shows: it must fail, and the report says
    so; once it passes, the replay fails until this line is removed."""
    start: StartState = StartState()
    connector: ConnectorSpec = ConnectorSpec()
    timeline: list[Step]
    expect: FinalExpect

    @field_validator("summary", "known_gap")
    @classmethod
    def _one_paragraph(cls, value: str | None) -> str | None:
        return None if value is None else " ".join(value.split())

    @property
    def rotates_elsewhere(self) -> bool:
        """Whether something other than the connector rotates its pair."""
        steps = [action for step in self.timeline for _, action in _actions_of(step)]
        return any(isinstance(step, RefreshElsewhereStep) for step in steps)

    @property
    def stale_token_limit(self) -> int | None:
        """How many requests may carry a rotated-away token (``None``: unchecked).

        Unless the scenario says otherwise, none may when only the connector
        rotates its pair: it always knows about its own rotations.
        """
        if self.expect.max_stale_token_requests is not None:
            return self.expect.max_stale_token_requests
        return None if self.rotates_elsewhere else 0

    @property
    def connector_app(self) -> str:
        return self.connector.app or next(iter(self.start.apps))

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field mistakes, as (field, problem) pairs; empty when sound."""
        apps = set(self.start.apps)
        found: list[tuple[str, str]] = []

        def need_app(where: str, name: str | None) -> None:
            if name is not None and name not in apps:
                known = ", ".join(sorted(apps))
                found.append((where, f"unknown app {name!r}; start.apps has: {known}"))

        need_app("connector.app", self.connector.app)
        for name in self.start.inventory:
            need_app(f"start.inventory.{name}", name)
        homes: dict[str, str] = {}
        for name, app in self.start.apps.items():
            home = homes.setdefault(app.customer or name, app.cluster)
            if home != app.cluster:
                found.append(
                    (
                        f"start.apps.{name}.cluster",
                        f"customer {app.customer!r} lives in {home}; apps of one "
                        "customer share its cluster",
                    )
                )
        if self.connector.gateway_url and self.connector.cluster:
            found.append(("connector", "give gateway_url or cluster, not both"))
        if not any(isinstance(step, RunStep) for step in self.timeline):
            found.append(("timeline", "run at least one connector command"))
        for index, step in enumerate(self.timeline):
            where = f"timeline[{index}]"
            for trigger in ("after_requests", "on_path"):
                if getattr(step, trigger) is not None:
                    found.append((f"{where}.{trigger}", "only allowed under 'during'"))
            for sub, action in _actions_of(step):
                need_app(f"{where}{sub}", _app_named_by(action))
        return found

    def apply(self, fake: FakeCentral) -> dict[str, str]:
        """Set up the starting state on ``fake``; return the connector's credentials.

        The dict has the keys of ``FakeCentral.demo()``: gateway_url, client_id,
        client_secret, access_token, refresh_token.
        """
        return self.apply_state(fake).credentials

    def apply_state(self, fake: FakeCentral) -> ScenarioState:
        """Like :meth:`apply`, returning everything the replay runner needs."""
        start = self.start
        fake.clock.set(start.clock)
        if start.frozen:
            fake.clock.freeze()
        else:
            fake.clock.unfreeze()
        if start.config:
            fake.configure(**start.config)

        state = ScenarioState()
        customers: dict[str, str] = {}
        for name, spec in start.apps.items():
            customer_id = customers.get(spec.customer) if spec.customer else None
            app = fake.create_app(
                cluster=spec.cluster, app_type=spec.app_type, customer_id=customer_id
            )
            if spec.customer:
                customers.setdefault(spec.customer, app.customer_id)
            state.apps[name] = app

        for name, inventory in start.inventory.items():
            load_inventory(fake, state.apps[name].customer_id, inventory)

        app = state.apps[self.connector_app]
        pair = fake.mint(app.client_id)
        state.pairs[self.connector_app] = pair
        state.credentials = {
            "gateway_url": self._pasted_gateway_url(app.gateway_url),
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
        }
        return state

    def _pasted_gateway_url(self, own: str) -> str:
        if self.connector.gateway_url is not None:
            return self.connector.gateway_url
        if self.connector.cluster is not None:
            return f"https://{CLUSTERS[self.connector.cluster]}"
        return own


def _actions_of(step: StepBase) -> list[tuple[str, StepBase]]:
    if not isinstance(step, RunStep):
        return [("", step)]
    return [(f".during[{i}]", action) for i, action in enumerate(step.during)]


def _app_named_by(step: StepBase) -> str | None:
    if isinstance(step, RefreshElsewhereStep):
        return step.refresh_elsewhere
    if isinstance(step, MintStep):
        return step.mint.app
    if isinstance(step, InventoryStep):
        return step.inventory.app
    return None


@dataclass
class ScenarioState:
    """What applying a scenario's starting state produced."""

    apps: dict[str, AppInfo] = field(default_factory=dict)
    pairs: dict[str, TokenPair] = field(default_factory=dict)
    """The newest pair the runner itself holds for each app."""
    credentials: dict[str, str] = field(default_factory=dict)


def load_inventory(
    fake: FakeCentral, customer_id: str, spec: InventorySpec | InventoryChange
) -> None:
    """Load (or replace) a customer's deterministic inventory."""
    extra: dict[str, Any] = {}
    if spec.unmonitored_fraction is not None:
        extra["unmonitored_fraction"] = spec.unmonitored_fraction
    fake.load_inventory(
        customer_id,
        sites=spec.sites or 0,
        devices=spec.devices or 0,
        seed=spec.seed,
        **extra,
    )


def load_inventory_change(
    fake: FakeCentral, customer_id: str, change: InventoryChange
) -> None:
    """Replace a customer's tenant, or add and remove sites and devices in place."""
    if change.replaces:
        load_inventory(fake, customer_id, change)
        return
    tenant = fake.tenant(customer_id)
    tenant.remove_sites(change.remove_sites)
    tenant.add_sites(change.add_sites)
    tenant.remove_devices(change.remove_devices)
    tenant.add_devices(change.add_devices)


# --- loading ------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file; raise :class:`ScenarioError` if unsound."""
    path = Path(path)
    data = _read_yaml(path)
    data.setdefault("name", path.stem)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError.from_validation(path, exc) from None

    problems = scenario.problems()
    if problems:
        error = ScenarioError(path, *problems[0])
        error.problems = [(where, problem) for where, problem in problems]
        raise error
    return scenario


def load_scenarios(paths: list[str | Path]) -> list[tuple[Path, Scenario]]:
    """Load every file named, and every ``*.yaml`` in every directory named."""
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files += sorted(p for p in given.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files.append(given)
    return [(file, load_scenario(file)) for file in files]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            path, None, f"cannot read the file ({exc.strerror})"
        ) from None

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(path, where, f"not valid YAML: {problem}") from None

    if not isinstance(data, dict):
        raise ScenarioError(
            path, None, "must be a YAML mapping with at least 'timeline' and 'expect'"
        )
    return data
