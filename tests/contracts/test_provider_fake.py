"""Provider verification: schemathesis drives the contract against a live fake.

The fake runs on loopback in a thread (schemathesis calls are synchronous), with its
clock frozen and its rate limits raised out of reach, so no token expires and no 429
appears by chance: the run is seeded and repeatable. The rate-limit headers still
come with every answer, because the limiter stays on.

Authorisation is real: the fake mints a pair for an app, the auth provider below
puts the access token on every API call, and it swaps the contract's placeholder
examples (``example-refresh-token``...) for the live values on token requests. When
a generated token request succeeds, the fake rotates the pair; an ``after_call`` hook
adopts the new pair at once, so the next call carries the rotated token, as the
contract's links (token, then sites, then devices) describe.

Every check schemathesis has runs, except ``positive_data_acceptance`` on the token
refresh: a schema-valid request with a generated client id is rightly refused
(400), and no schema can say which client ids exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from contract_schema import CONTRACT_PATH, TOKEN_PATH, contract_document
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, initialize
from schemathesis import Case
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.hooks import HookContext

from fake_central import FakeCentral, FakeClock, FakeConfig
from fake_central.testing import RunningFake, serve_fake_in_thread

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
UNREACHABLE = 10**9  # a per-second and per-day budget no run can spend

schema = schemathesis.openapi.from_path(CONTRACT_PATH)


def _placeholders() -> dict[str, str]:
    """Parameter name -> the placeholder example the contract gives for it."""
    parameters = contract_document()["components"]["parameters"]
    return {
        spec["name"]: spec["example"]
        for spec in parameters.values()
        if spec["in"] == "query" and str(spec.get("example", "")).startswith("example-")
    }


PLACEHOLDERS = _placeholders()


@dataclass
class TokenKeeper:
    """The live app's credentials and its current pair, following every rotation."""

    client_id: str = ""
    client_secret: str = ""
    access_token: str = ""
    refresh_token: str = ""
    rotations: int = 0

    def reset(
        self, client_id: str, client_secret: str, access_token: str, refresh_token: str
    ) -> None:
        """Start over with a freshly minted pair."""
        self.client_id, self.client_secret = client_id, client_secret
        self.access_token, self.refresh_token = access_token, refresh_token
        self.rotations = 0

    def live_value(self, name: str) -> str:
        return str(getattr(self, name))

    def fill(self, container: Any) -> None:
        """Swap placeholder examples for live values, in a query or a body dict."""
        if not isinstance(container, dict):
            return
        for name, placeholder in PLACEHOLDERS.items():
            if container.get(name) == placeholder:
                container[name] = self.live_value(name)

    def fill_all(self, case: Case) -> None:
        """Live values for every token parameter, in the query and in any body."""
        live = {name: self.live_value(name) for name in PLACEHOLDERS}
        live["grant_type"] = "refresh_token"
        case.query = {**(case.query or {}), **live}
        if isinstance(case.body, dict):
            case.body = {**case.body, **live}

    def adopt(self, body: dict[str, Any]) -> None:
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]
        self.rotations += 1


KEEPER = TokenKeeper()


@schema.auth(refresh_interval=None)
class MintedToken:
    """Bearer token for API calls; live credentials for the token refresh."""

    def get(self, case: Case, context: Any) -> TokenKeeper:
        return KEEPER

    def set(self, case: Case, keeper: TokenKeeper, context: Any) -> None:
        if case.operation.path == TOKEN_PATH:
            keeper.fill(case.query)
            keeper.fill(case.body)
            return
        case.headers = {
            **(case.headers or {}),
            "Authorization": f"Bearer {keeper.access_token}",
        }


@schema.hook
def after_call(context: HookContext, case: Case, response: Response) -> None:
    """A successful refresh rotated the pair: carry the new one from now on."""
    if case.operation.path == TOKEN_PATH and response.status_code == 200:
        KEEPER.adopt(response.json())


def _fake() -> tuple[FakeCentral, Any]:
    config = FakeConfig(per_second_limit=UNREACHABLE, per_day_limit=UNREACHABLE)
    fake = FakeCentral(config=config, clock=FakeClock(start=START, frozen=True))
    app = fake.create_app(cluster="US-2", app_type="network_operations")
    fake.load_inventory(app.customer_id, sites=6, devices=40, seed=1)
    return fake, app


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningFake]:
    """A fake with one tenant, served in a thread; the keeper holds its minted pair."""
    fake, app = _fake()
    pair = fake.mint(app.client_id)
    KEEPER.reset(
        app.client_id, app.client_secret, pair.access_token, pair.refresh_token
    )
    with serve_fake_in_thread(fake) as running:
        yield running


CHECKS_EXCLUDED_ON_TOKEN = [schemathesis.checks.positive_data_acceptance]


def _excluded(case: Case) -> list[Any]:
    return CHECKS_EXCLUDED_ON_TOKEN if case.operation.path == TOKEN_PATH else []


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_fake_honours_the_contract(case: Case, provider: RunningFake) -> None:
    case.call_and_validate(base_url=provider.url, excluded_checks=_excluded(case))


# mypy cannot subclass a class built at runtime, hence the ignore.
class ContractWorkflow(schema.as_state_machine()):  # type: ignore[misc]
    """Chains calls along the contract's links: token, then sites, then devices."""

    base_url = ""

    def get_call_kwargs(self, case: Case) -> dict[str, Any]:
        return {"base_url": self.base_url}

    @initialize(target=Bundle("refreshed"))
    def refresh_the_token_first(self) -> StepOutput:
        """Every scenario opens with a real rotation; its links lead on from there.

        schemathesis would not pick the refresh as an entry point by itself (its
        client id looks like a reference to a resource nothing creates). The output
        lands in the refresh's own bundle, wherever ``target`` says.
        """
        case = schema[TOKEN_PATH]["POST"].Case()
        self.recorder.record_case(case=case)
        return self.step(StepInput.initial(case))

    def before_call(self, case: Case) -> None:
        # Chains start from a refresh that works: the stateless test already sends
        # the token endpoint every kind of wrong credential.
        if case.operation.path == TOKEN_PATH:
            KEEPER.fill_all(case)

    def validate_response(
        self,
        response: Response,
        case: Case,
        additional_checks: Any = None,
        **kwargs: Any,
    ) -> None:
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=_excluded(case),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_the_fake_follows_the_contract_links_statefully(provider: RunningFake) -> None:
    ContractWorkflow.base_url = provider.url
    first = len(provider.fake.journal)

    ContractWorkflow.run(
        settings=settings(
            max_examples=8,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )

    steps = [
        (entry.method, entry.path, entry.status, entry.outcome, dict(entry.query))
        for entry in provider.fake.journal[first:]
    ]
    assert _a_chain_ran(steps), "no token -> sites -> devices chain succeeded"


def _a_chain_ran(steps: list[tuple[str, str, int, str | None, dict[str, str]]]) -> bool:
    """A rotation, then sites read with the new token, then a site's devices."""
    stage = 0
    for method, path, status, outcome, query in steps:
        if stage == 0 and method == "POST" and outcome == "rotated":
            stage = 1
        elif stage == 1 and path == "/central/v2/sites" and status == 200:
            stage = 2
        elif stage == 2 and path.startswith("/monitoring/") and query.get("site"):
            return status == 200
    return False


# Error answers, provoked on purpose ------------------------------------------------
# The fuzzing above meets most error statuses by chance or not at all; these provoke
# each one the contract documents and hold the fake's answer to it.


@pytest.fixture
def fresh() -> Iterator[tuple[RunningFake, Any]]:
    """A fake of its own (so budgets and rotations start clean), served in a thread."""
    fake, app = _fake()
    with serve_fake_in_thread(fake) as running:
        yield running, app


def _get(path: str, access_token: str | None, **query: Any) -> Case:
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return schema[path]["GET"].Case(query=query, headers=headers)


def _refresh(app: Any, refresh_token: str) -> Case:
    return schema[TOKEN_PATH]["POST"].Case(
        query={
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
    )


def _checked(case: Case, running: RunningFake, status: int) -> Any:
    response = case.call(base_url=running.url)
    assert response.status_code == status, response.text
    case.validate_response(response, excluded_checks=_excluded(case))
    return response.json()


def test_a_call_without_a_token_gets_the_documented_401(
    fresh: tuple[RunningFake, Any],
) -> None:
    running, _ = fresh

    body = _checked(_get("/central/v2/sites", None), running, 401)

    assert body["error"] == "invalid_request"


def test_a_rotated_away_access_token_gets_invalid_token(
    fresh: tuple[RunningFake, Any],
) -> None:
    running, app = fresh
    old = running.fake.mint(app.client_id)
    _checked(_refresh(app, old.refresh_token), running, 200)

    body = _checked(_get("/monitoring/v2/aps", old.access_token), running, 401)

    assert body["error"] == "invalid_token"


def test_a_used_refresh_token_gets_invalid_refresh_token(
    fresh: tuple[RunningFake, Any],
) -> None:
    running, app = fresh
    old = running.fake.mint(app.client_id)
    _checked(_refresh(app, old.refresh_token), running, 200)

    body = _checked(_refresh(app, old.refresh_token), running, 400)

    assert body["error_description"] == "Invalid refresh_token"


def test_a_wrong_client_secret_gets_invalid_client(
    fresh: tuple[RunningFake, Any],
) -> None:
    running, app = fresh
    pair = running.fake.mint(app.client_id)
    case = _refresh(app, pair.refresh_token)
    case.query["client_secret"] = "not-the-secret"

    body = _checked(case, running, 400)

    assert body["error"] == "invalid_client"


@pytest.mark.parametrize("path", ["/central/v2/sites", "/monitoring/v1/switches"])
def test_an_app_without_the_role_gets_the_documented_403(
    fresh: tuple[RunningFake, Any], path: str
) -> None:
    running, app = fresh
    limited = running.fake.create_app(
        cluster="US-2", app_type="account_home", customer_id=app.customer_id
    )
    pair = running.fake.mint(limited.client_id)

    _checked(_get(path, pair.access_token), running, 403)


def test_a_spent_per_second_budget_gets_the_documented_429(
    fresh: tuple[RunningFake, Any],
) -> None:
    running, app = fresh
    running.fake.configure(per_second_limit=2)
    pair = running.fake.mint(app.client_id)
    for _ in range(2):
        _checked(_get("/central/v2/sites", pair.access_token), running, 200)

    case = _get("/central/v2/sites", pair.access_token)
    response = case.call(base_url=running.url)

    assert response.status_code == 429
    case.validate_response(response)
    assert response.headers["x-ratelimit-remaining-second"] == ["0"]
    assert response.json() == {"message": "API rate limit exceeded"}


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/central/v2/sites", {"limit": 5000}),
        ("/platform/device_inventory/v1/devices", {"offset": -1}),
        ("/monitoring/v2/aps", {"sort": "+nothing"}),
    ],
    ids=["limit-above-1000", "negative-offset", "unknown-sort"],
)
def test_a_refused_query_gets_a_service_error(
    fresh: tuple[RunningFake, Any], path: str, query: dict[str, Any]
) -> None:
    running, app = fresh
    pair = running.fake.mint(app.client_id)

    body = _checked(_get(path, pair.access_token, **query), running, 400)

    assert body["error_code"] in {"0002", "0004"}


def test_a_token_request_with_a_malformed_content_type_is_refused_cleanly(
    fresh: tuple[RunningFake, Any],
) -> None:
    running, _ = fresh
    case = schema[TOKEN_PATH]["POST"].Case(
        query={"grant_type": "refresh_token"},
        headers={"Content-Type": "multipart/form-data"},  # no boundary
        body={"client_id": "x"},
        media_type="application/json",
    )

    body = _checked(case, running, 400)

    assert body["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("path", "name"),
    [("/central/v2/sites", "calculate_total"), ("/monitoring/v2/aps", "status")],
)
def test_an_empty_query_value_reads_as_absent(
    fresh: tuple[RunningFake, Any], path: str, name: str
) -> None:
    running, app = fresh
    pair = running.fake.mint(app.client_id)

    _checked(_get(path, pair.access_token, **{name: ""}), running, 200)
