"""The one exception tree of the fake gateway.

These errors are raised by the Python API (``FakeCentral``, ``FakeClock``, the
tenant hooks). Over HTTP the same conditions become the documented 4xx answers;
no exception of this tree ever escapes as a 500.

::

    FakeCentralError                     base of everything below
    ├── MintRefused                      a second mint inside the 30-minute window
    │                                    (.client_id, .retry_after seconds)
    ├── UnknownClient (+ KeyError)       no app has this client id
    ├── UnknownCustomer (+ KeyError)     no app or tenant has this customer id
    ├── UnknownCluster (+ ValueError)    a cluster name outside CLUSTERS
    ├── UnknownAppType (+ ValueError)    an app type outside FakeConfig.app_types
    ├── CustomerClusterConflict          a customer's apps must share one cluster
    │   (+ ValueError)
    └── FakeServerError (+ RuntimeError) a handler failed unexpectedly; re-raised by
                                         the test helpers when the server closes

Messages name the offending value and say what to do next. None of them ever
contains a secret (client secrets and tokens are never interpolated).
"""

from __future__ import annotations

__all__ = [
    "CustomerClusterConflict",
    "FakeCentralError",
    "FakeServerError",
    "MintRefused",
    "UnknownAppType",
    "UnknownClient",
    "UnknownCluster",
    "UnknownCustomer",
]


class FakeCentralError(Exception):
    """Base class of every error the fake raises on purpose."""


class MintRefused(FakeCentralError):
    """A token was minted for this client id less than the mint window ago."""

    def __init__(self, client_id: str, retry_after: int) -> None:
        self.client_id = client_id
        self.retry_after = retry_after
        super().__init__(
            f"Cannot generate a new token for client {client_id!r}: a token was "
            f"generated less than 30 minutes ago; wait {retry_after} s, or use the "
            "refresh token of the existing pair"
        )


class UnknownClient(FakeCentralError, KeyError):
    """No app with this client id exists (in any cluster)."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        super().__init__(
            f"no app has client id {client_id!r}; create one with "
            "FakeCentral.create_app() or POST /_fake/apps"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownCustomer(FakeCentralError, KeyError):
    """No app or tenant belongs to this customer id."""

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        super().__init__(
            f"no customer {customer_id!r}; create an app for it first "
            "(FakeCentral.create_app(customer_id=...) or POST /_fake/apps)"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownCluster(FakeCentralError, ValueError):
    """A cluster name that is not in ``CLUSTERS``."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"unknown cluster {name!r}; known clusters: {', '.join(known)}"
        )


class UnknownAppType(FakeCentralError, ValueError):
    """An app type that is not configured in ``FakeConfig.app_types``."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"unknown app type {name!r}; configured app types: {', '.join(known)}"
        )


class CustomerClusterConflict(FakeCentralError, ValueError):
    """A customer already lives in another cluster."""

    def __init__(self, customer_id: str, cluster: str, requested: str) -> None:
        self.customer_id = customer_id
        super().__init__(
            f"customer {customer_id!r} lives in cluster {cluster}, not {requested}; "
            "create the app in that cluster or use a new customer id"
        )


class FakeServerError(FakeCentralError, RuntimeError):
    """A request handler of the fake failed unexpectedly (a bug in the fake)."""
