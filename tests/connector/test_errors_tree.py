"""The exception tree: shape, builtin bases, and actionable messages."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from connector import errors
from connector.errors import (
    CentralConnectionError,
    CentralError,
    CentralTimeout,
    DailyBudgetExhausted,
    DailyBudgetTooSmall,
    InvalidCredentials,
    InvalidGatewayURL,
    MalformedResponse,
    PermissionDenied,
    RateLimited,
    ReadOnlyViolation,
    RefreshTokenRejected,
    TokenStoreError,
    UpstreamError,
)


def test_every_public_error_derives_from_central_error() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]

    assert all(issubclass(cls, CentralError) for cls in classes)
    assert len(classes) == 14


def test_the_docstring_draws_every_error_of_the_tree() -> None:
    doc = inspect.getdoc(errors) or ""

    for name in errors.__all__:
        assert name in doc


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (InvalidGatewayURL, ValueError),
        (InvalidCredentials, ValueError),
        (TokenStoreError, ValueError),
        (CentralTimeout, TimeoutError),
        (CentralConnectionError, ConnectionError),
    ],
)
def test_errors_users_would_catch_as_builtins_are_those_builtins(
    error: type[CentralError], builtin: type[Exception]
) -> None:
    assert issubclass(error, builtin)


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (DailyBudgetExhausted, RateLimited),
        (DailyBudgetTooSmall, RateLimited),
        (CentralTimeout, UpstreamError),
        (CentralConnectionError, UpstreamError),
        (MalformedResponse, UpstreamError),
        (TokenStoreError, InvalidCredentials),
    ],
)
def test_the_tree_nests_as_drawn(
    error: type[CentralError], parent: type[CentralError]
) -> None:
    assert issubclass(error, parent)


def test_an_error_shows_the_request_it_belongs_to() -> None:
    error = CentralTimeout(
        "no answer", method="GET", url="https://apigw-prod2.central.arubanetworks.com/x"
    )

    assert (
        str(error) == "no answer (GET https://apigw-prod2.central.arubanetworks.com/x)"
    )
    assert error.method == "GET"


def test_a_timeout_error_keeps_its_message_as_os_errors_do_not() -> None:
    error = CentralTimeout("no complete answer within 5 s")

    assert str(error) == "no complete answer within 5 s"
    assert error.args == ("no complete answer within 5 s",)


def test_refresh_token_rejected_says_to_mint_a_fresh_pair() -> None:
    error = RefreshTokenRejected("Central rejected the refresh token", client_id="abc")

    assert "'abc'" in str(error)
    assert "View Tokens" in str(error)
    assert "save it again" in str(error)


def test_permission_denied_carries_the_forbidden_status() -> None:
    assert PermissionDenied.status == 403


def test_daily_budget_exhausted_gives_the_reset_time_and_the_sharing_hint() -> None:
    reset = datetime(2026, 1, 6, tzinfo=UTC)

    error = DailyBudgetExhausted(client_id="abc", reset_at=reset, limit=5000)

    assert "2026-01-06 00:00 UTC" in str(error)
    assert "another integration" in str(error)
    assert "5000" in str(error)
    assert error.reset_at == reset


def test_daily_budget_too_small_says_what_is_needed_left_and_when_it_resets() -> None:
    reset = datetime(2026, 1, 6, tzinfo=UTC)

    error = DailyBudgetTooSmall(
        client_id="abc", needed=120, remaining=40, reset_at=reset, limit=5000
    )

    assert "needs 120 more calls" in str(error)
    assert "only 40 of the daily budget of 5000" in str(error)
    assert "2026-01-06 00:00 UTC" in str(error)
    assert "nothing was spent" in str(error)
    assert (error.needed, error.remaining, error.reset_at) == (120, 40, reset)


def test_malformed_response_names_endpoint_and_field() -> None:
    error = MalformedResponse(
        endpoint="/central/v2/sites", field="sites[3].site_id", problem="is missing"
    )

    assert "/central/v2/sites" in str(error)
    assert "'sites[3].site_id' is missing" in str(error)


def test_read_only_violation_names_method_and_path() -> None:
    error = ReadOnlyViolation("DELETE", "/central/v2/sites/1")

    assert "DELETE /central/v2/sites/1" in str(error)
    assert "read-only" in str(error)
