"""The gateway URL allowlist: every real cluster passes, every near miss fails."""

from __future__ import annotations

import pytest

from connector._urls import CLASSIC_CLUSTERS, normalise_gateway_url
from connector.errors import GATEWAY_HINT, InvalidGatewayURL

NEW_CENTRAL_HOSTS = [
    "us1.api.central.arubanetworks.com",
    "de2.api.central.arubanetworks.com",
    "cn1.api.central.arubanetworks.com.cn",
    "internal.api.central.arubanetworks.com",
]


@pytest.mark.parametrize(
    "host", list(CLASSIC_CLUSTERS.values()), ids=list(CLASSIC_CLUSTERS)
)
def test_every_classic_cluster_host_is_accepted_unchanged(host: str) -> None:
    assert normalise_gateway_url(f"https://{host}") == f"https://{host}"


@pytest.mark.parametrize("host", NEW_CENTRAL_HOSTS)
def test_hosts_deeper_under_the_central_domains_are_accepted(host: str) -> None:
    assert normalise_gateway_url(f"https://{host}") == f"https://{host}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            "HTTPS://APIGW-PROD2.CENTRAL.ARUBANETWORKS.COM",
            "https://apigw-prod2.central.arubanetworks.com",
            id="upper-case",
        ),
        pytest.param(
            "https://Apigw.Central.ArubaNetworks.com.CN",
            "https://apigw.central.arubanetworks.com.cn",
            id="mixed-case-china",
        ),
        pytest.param(
            "https://ａｐｉｇｗ-ｐｒｏｄ2.central.arubanetworks.com",
            "https://apigw-prod2.central.arubanetworks.com",
            id="full-width-letters",
        ),
        pytest.param(
            "https://apigw-prod2。central。arubanetworks。com",
            "https://apigw-prod2.central.arubanetworks.com",
            id="ideographic-full-stops",
        ),
    ],
)
def test_case_folding_and_idna_normalisation_apply_before_the_check(
    value: str, expected: str
) -> None:
    assert normalise_gateway_url(value) == expected


NEAR_MISSES = [
    # scheme
    ("http://apigw-prod2.central.arubanetworks.com", "must use https"),
    ("apigw-prod2.central.arubanetworks.com", "must start with https://"),
    ("ftp://apigw-prod2.central.arubanetworks.com", "must start with https://"),
    ("https:/apigw-prod2.central.arubanetworks.com", "must start with https://"),
    ("//apigw-prod2.central.arubanetworks.com", "must start with https://"),
    # what follows the host
    ("https://apigw-prod2.central.arubanetworks.com/", "must not end with a slash"),
    ("https://apigw-prod2.central.arubanetworks.com/api", "must not contain a path"),
    ("https://apigw-prod2.central.arubanetworks.com?x=1", "must not contain a query"),
    (
        "https://apigw-prod2.central.arubanetworks.com#top",
        "must not contain a fragment",
    ),
    ("https://apigw-prod2.central.arubanetworks.com\\evil", "backslash"),
    ("https://apigw-prod2.central.arubanetworks.com:443", "must not contain a port"),
    ("https://apigw-prod2.central.arubanetworks.com:8443", "must not contain a port"),
    ("https://apigw-prod2.central.arubanetworks.com:", "must not contain a port"),
    # user info
    ("https://user@apigw-prod2.central.arubanetworks.com", "user info"),
    ("https://apigw-prod2.central.arubanetworks.com@evil.test", "user info"),
    # IP literals
    ("https://127.0.0.1", "not an IP address"),
    ("https://[::1]", "not an IP address"),
    ("https://１２７.０.０.１", "not an IP address"),
    # wrong domains, and the right domain without a label boundary
    ("https://central.arubanetworks.com", "not a Central API gateway"),
    ("https://central.arubanetworks.com.cn", "not a Central API gateway"),
    ("https://evilcentral.arubanetworks.com", "not a Central API gateway"),
    ("https://apigw-prod2.central.arubanetworks.com.evil.test", "not a Central"),
    ("https://apigw-prod2.central.arubanetworks.co", "not a Central API gateway"),
    ("https://apigw-prod2.central.arubanetworks.cn", "not a Central API gateway"),
    ("https://apigw-prod2.arubanetworks.com", "not a Central API gateway"),
    ("https://apigw-prod2-central.arubanetworks.com", "not a Central API gateway"),
    ("https://apigw-prod2.central-arubanetworks.com", "not a Central API gateway"),
    ("https://arubanetworks.com", "not a Central API gateway"),
    ("https://apigw-prod2.central.arubanetworks.com.cn.test", "not a Central"),
    ("https://localhost", "not a Central API gateway"),
    ("https://apigw-prod2.test", "not a Central API gateway"),
    # look-alike characters and encodings
    ("https://apigw-prod2.central.аrubanetworks.com", "not a Central API gateway"),
    ("https://apigw-prod2.central.arubanetworks.com／evil", "invalid host name"),
    ("https://apigw-prod2.central.arubanetworks.com：443", "invalid host name"),
    ("https://apigw%2Dprod2.central.arubanetworks.com", "percent-encoded"),
    ("https://apigw_prod2.central.arubanetworks.com", "invalid host name"),
    ("https://apigw..central.arubanetworks.com", "invalid host name"),
    ("https://-apigw.central.arubanetworks.com", "invalid host name"),
    ("https://apigw-prod2.central.arubanetworks.com.", "must not end with a dot"),
    # blanks and control characters
    ("", "is empty"),
    ("https://", "has no host"),
    (" https://apigw-prod2.central.arubanetworks.com", "spaces or control"),
    ("https://apigw-prod2.central.arubanetworks.com\n", "spaces or control"),
    ("https://apigw-prod2.central.arubanetworks.com\x00", "spaces or control"),
    ("https://apigw-prod2\u200b.central.arubanetworks.com", "spaces or control"),
]


@pytest.mark.parametrize(
    ("value", "problem"),
    NEAR_MISSES,
    ids=[f"{index:02d}-{value[:40]}" for index, (value, _) in enumerate(NEAR_MISSES)],
)
def test_near_misses_are_rejected_with_the_problem_and_what_to_do(
    value: str, problem: str
) -> None:
    with pytest.raises(InvalidGatewayURL) as caught:
        normalise_gateway_url(value)

    message = str(caught.value)
    assert problem in message
    assert GATEWAY_HINT in message
    assert "copy the URL from the header of the API Gateway page" in message


def test_the_rejection_names_the_value_it_refused() -> None:
    with pytest.raises(InvalidGatewayURL) as caught:
        normalise_gateway_url("http://apigw-prod2.central.arubanetworks.com")

    assert "'http://apigw-prod2.central.arubanetworks.com'" in str(caught.value)
    assert caught.value.value == "'http://apigw-prod2.central.arubanetworks.com'"


def test_the_rejection_masks_user_info_and_secret_query_values() -> None:
    value = (
        "https://admin:hunter22@apigw-prod2.central.arubanetworks.com"
        "/oauth2/token?client_secret=s3cr3tvalue&offset=0"
    )

    with pytest.raises(InvalidGatewayURL) as caught:
        normalise_gateway_url(value)

    message = str(caught.value)
    assert "hunter22" not in message
    assert "s3cr3tvalue" not in message
    assert "***@apigw-prod2.central.arubanetworks.com" in message
    assert "offset=0" in message


def test_a_bad_gateway_url_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must use https"):
        normalise_gateway_url("http://apigw-prod2.central.arubanetworks.com")


def test_a_value_that_is_not_text_is_rejected() -> None:
    with pytest.raises(InvalidGatewayURL, match="must be text"):
        normalise_gateway_url(b"https://apigw-prod2.central.arubanetworks.com")
