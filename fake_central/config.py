"""Every tunable of the fake, in one pydantic model.

Defaults follow the reference notes on the real gateway; facts the reference marks
unknown ([U]) are options here. The model is frozen: change it with
``FakeCentral.configure(**changes)`` or ``POST /_fake/config``, both of which
validate the merged result.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fake_central.clusters import CLUSTERS, cluster_name

__all__ = ["DEFAULT_APP_TYPES", "DeviceTypeCasing", "FakeConfig", "RateLimitScope"]

DAY = 86_400

DEFAULT_APP_TYPES: dict[str, list[str]] = {
    # Everything the connector reads: sites, inventory and monitoring.
    "network_operations": ["/central/", "/platform/", "/monitoring/"],
    # The account-home app type reaches only the platform APIs (inventory).
    "account_home": ["/platform/"],
}

RateLimitScope = Literal["client", "customer"]
DeviceTypeCasing = Literal["lower", "upper", "short"]
"""Inventory ``device_type`` spelling ([U] in the reference, it changed by era):
``lower`` = ``iap``/``switch``/``gateway`` (2021 samples), ``upper`` =
``IAP``/``SWITCH``/``GATEWAY``, ``short`` = ``AP``/``SWITCH``/``GATEWAY``
(what centralcli maps in 2024-25)."""


class FakeConfig(BaseModel):
    """The fake gateway's behaviour switches and limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_cluster: str = Field(
        "US-2", description="Cluster for requests addressed to a loopback host."
    )
    host_aliases: dict[str, str] = Field(
        default_factory=dict,
        description="Extra hostname -> cluster name routes (e.g. '*.test' names).",
    )
    access_token_ttl: int = Field(7200, gt=0, description="Seconds (Aruba: fixed 2 h).")
    refresh_token_ttl: int = Field(
        15 * DAY, gt=0, description="Seconds; Aruba documents 15 days, Kong 14 [U]."
    )
    mint_window: int = Field(1800, ge=0, description="Seconds between two mints.")
    mint_rule_enabled: bool = True
    per_second_limit: int = Field(7, ge=1)
    per_day_limit: int = Field(5000, ge=1)
    rate_limit_scope: RateLimitScope = "client"
    rate_limit_enabled: bool = True
    retry_after_header: bool = False
    sites_default_limit: int = Field(100, ge=1)
    sites_max_limit: int = Field(1000, ge=1)
    inventory_default_limit: int = Field(50, ge=1)
    inventory_max_limit: int = Field(1000, ge=1)
    monitoring_default_limit: int = Field(100, ge=1)
    monitoring_max_limit: int = Field(1000, ge=1)
    device_type_casing: DeviceTypeCasing = "lower"
    forbidden_body: dict[str, Any] = Field(
        default_factory=lambda: {"message": "Permission denied"},
        description="JSON body of the 403 for an app type that lacks the resource [U].",
    )
    reject_unknown_params: bool = Field(
        True, description="400 for query parameters an endpoint does not document."
    )
    journal_size: int = Field(10_000, ge=1)
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Bodies above this get 413 (client_max_size)."
    )
    app_types: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_APP_TYPES.items()},
        description="App type -> path prefixes its tokens may read.",
    )

    @field_validator("default_cluster")
    @classmethod
    def _known_cluster(cls, value: str) -> str:
        canonical = cluster_name(value)
        if canonical is None:
            raise ValueError(
                f"unknown cluster {value!r}; known clusters: {', '.join(CLUSTERS)}"
            )
        return canonical

    @field_validator("host_aliases")
    @classmethod
    def _aliases_name_clusters(cls, value: dict[str, str]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for host, name in value.items():
            canonical = cluster_name(name)
            if canonical is None:
                raise ValueError(f"alias {host!r} names unknown cluster {name!r}")
            resolved[host.lower()] = canonical
        return resolved

    @field_validator("app_types")
    @classmethod
    def _prefixes_are_paths(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, prefixes in value.items():
            bad = [p for p in prefixes if not p.startswith("/")]
            if bad:
                raise ValueError(
                    f"app type {name!r}: prefixes must start with '/': {bad}"
                )
        return value

    def merged(self, changes: dict[str, Any]) -> FakeConfig:
        """A validated copy with ``changes`` applied (unknown names are refused)."""
        return FakeConfig.model_validate({**self.model_dump(), **changes})
