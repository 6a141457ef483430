"""The model-against-contract walker catches each kind of disagreement it claims to."""

from __future__ import annotations

from typing import Literal

import pytest
from contract_compat import disagreements
from pydantic import BaseModel, ConfigDict, Field

SITE = "#/components/schemas/Site"
PAGE = "#/components/schemas/SitesPage"
AP = "#/components/schemas/MonitoredAccessPoint"


class LenientSite(BaseModel):
    site_id: int
    site_name: str
    latitude: str | None = None
    tags: dict[str, object] | None = None


class SiteNeedingAnUnpromisedField(BaseModel):
    site_id: int
    site_name: str
    timezone: str


class SiteWithNumericLatitude(BaseModel):
    site_id: int
    site_name: str
    latitude: float


class SiteWithoutNullableTags(BaseModel):
    site_id: int
    site_name: str
    tags: dict[str, object] = Field(default_factory=dict)


class StrictSite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site_id: int
    site_name: str


class PageOfLenientSites(BaseModel):
    sites: list[LenientSite]
    total: int | None = None


class PageOfBrokenSites(BaseModel):
    sites: list[SiteWithNumericLatitude]


class AccessPointWithItsStatus(BaseModel):
    serial: str
    status: Literal["Up", "Down"]
    site: str | None


class AccessPointKnowingOnlyUp(BaseModel):
    serial: str
    status: Literal["Up"]


class AccessPointWithAPatternedSerial(BaseModel):
    serial: str = Field(pattern=r"^[A-Z0-9]{10}$")


def test_a_lenient_model_agrees_with_the_contract() -> None:
    assert disagreements(LenientSite, SITE) == []
    assert disagreements(PageOfLenientSites, PAGE) == []
    assert disagreements(AccessPointWithItsStatus, AP) == []


@pytest.mark.parametrize(
    ("model", "ref", "expected"),
    [
        pytest.param(
            SiteNeedingAnUnpromisedField,
            SITE,
            "timezone: required by the model, not promised",
            id="unpromised-required-field",
        ),
        pytest.param(
            SiteWithNumericLatitude,
            SITE,
            "latitude: the contract allows ['string']",
            id="type-mismatch",
        ),
        pytest.param(
            SiteWithoutNullableTags,
            SITE,
            "tags: the contract allows ['null']",
            id="null-refused",
        ),
        pytest.param(StrictSite, SITE, "forbids fields", id="extra-forbidden"),
        pytest.param(
            PageOfBrokenSites,
            PAGE,
            "sites[].latitude: the contract allows ['string']",
            id="mismatch-inside-a-list",
        ),
        pytest.param(
            AccessPointKnowingOnlyUp,
            AP,
            "status: the model takes only ['Up']",
            id="narrower-enum",
        ),
        pytest.param(
            AccessPointWithAPatternedSerial,
            AP,
            "serial: the model adds pattern",
            id="added-pattern",
        ),
    ],
)
def test_the_walker_reports_a_disagreement(
    model: type[BaseModel], ref: str, expected: str
) -> None:
    found = disagreements(model, ref)

    assert any(expected in line for line in found), found
