"""Properties of the gateway-URL allowlist (``connector._urls``).

The accepted set is checked against the fake's own cluster table (written from
the reference notes, not from the connector), and every near miss a user could
paste, or an attacker could craft, is generated and must be refused.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from connector._urls import ALLOWED_SUFFIXES, normalise_gateway_url
from connector.errors import InvalidGatewayURL
from fake_central.clusters import CLUSTERS

REAL_HOSTS = sorted(CLUSTERS.values())
HOSTNAME = re.compile(
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+"
)

# Letters that look like ASCII but are not, and do not fold to ASCII under IDNA.
HOMOGLYPHS = {
    "a": ["\u0430", "\u03b1"],  # Cyrillic a, Greek alpha
    "c": ["\u0441", "\u03f2"],  # Cyrillic es, Greek lunate sigma
    "e": ["\u0435"],  # Cyrillic ie
    "o": ["\u043e", "\u03bf"],  # Cyrillic o, Greek omicron
    "p": ["\u0440"],  # Cyrillic er
    "r": ["\u0433"],  # Cyrillic ghe
    "t": ["\u0442"],  # Cyrillic te
    "n": ["\u043f"],  # Cyrillic pe
    "w": ["\u0448"],  # Cyrillic sha
    "l": ["\u04cf", "\u0131"],  # Cyrillic palochka, dotless i
}

real_hosts = st.sampled_from(REAL_HOSTS)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True).filter(
    lambda label: label[2:4] != "--"
)


@st.composite
def case_mixed(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(
        c.upper() if flip else c for c, flip in zip(text, flips, strict=True)
    )


def normalised_or_refusal(text: str) -> str | InvalidGatewayURL:
    try:
        return normalise_gateway_url(text)
    except InvalidGatewayURL as error:
        return error


def assert_refused(url: str) -> InvalidGatewayURL:
    with pytest.raises(InvalidGatewayURL) as caught:
        normalise_gateway_url(url)
    return caught.value


# --- accepted --------------------------------------------------------------------


@pytest.mark.parametrize("host", REAL_HOSTS)
def test_every_real_cluster_gateway_is_accepted_as_it_is(host: str) -> None:
    assert normalise_gateway_url(f"https://{host}") == f"https://{host}"


@given(real_hosts.flatmap(lambda host: st.tuples(st.just(host), case_mixed(host))))
def test_a_real_gateway_in_any_letter_case_is_accepted_in_lower_case(
    pair: tuple[str, str],
) -> None:
    host, typed = pair

    assert normalise_gateway_url(f"https://{typed}") == f"https://{host}"


@given(st.lists(labels, min_size=1, max_size=3), st.sampled_from(ALLOWED_SUFFIXES))
def test_any_host_under_a_central_domain_is_accepted(
    names: list[str], suffix: str
) -> None:
    host = ".".join(names) + suffix

    assert normalise_gateway_url(f"https://{host}") == f"https://{host}"


# --- near misses -----------------------------------------------------------------


@st.composite
def look_alike_hosts(draw: st.DrawFn) -> str:
    host = draw(real_hosts)
    first, _, _ = host.partition(".")
    label = draw(labels)
    return draw(
        st.sampled_from(
            [
                f"{host}.{label}.test",  # the real name as a prefix
                f"{host}-{label}.test",
                f"{first}.central-arubanetworks.com",
                f"{first}.central.arubanetworks.co",
                f"{first}.central.arubanetworks.com.{label}",
                f"{first}.central.arubanetworks.comm",
                f"{first}.centra1.arubanetworks.com",
                f"{first}.central.arubanetwork.com",
                f"{first}central.arubanetworks.com",  # no label boundary
                f"{label}central.arubanetworks.com.cn",
                "central.arubanetworks.com",  # the bare domain is no gateway
                "arubanetworks.com",
                f"{first}.arubanetworks.com",
            ]
        )
    )


@given(look_alike_hosts())
@example("apigw-prod2.central.arubanetworks.com.evil.test")
def test_look_alike_hosts_are_refused(host: str) -> None:
    error = assert_refused(f"https://{host}")

    assert "API Gateway page" in str(error)


@given(real_hosts, st.data())
def test_a_homoglyph_in_the_central_domain_is_refused(
    host: str, data: st.DataObject
) -> None:
    first, dot, domain = host.partition(".")
    positions = [i for i, char in enumerate(domain) if char in HOMOGLYPHS]
    at = data.draw(st.sampled_from(positions), label="position")
    glyph = data.draw(st.sampled_from(HOMOGLYPHS[domain[at]]), label="glyph")
    spoofed = f"{first}{dot}{domain[:at]}{glyph}{domain[at + 1 :]}"

    assert_refused(f"https://{spoofed}")


@given(
    real_hosts,
    st.text(st.characters(codec="ascii", exclude_characters="@/?#\\"), min_size=1),
)
def test_user_info_is_refused_without_echoing_it(host: str, user: str) -> None:
    secret = f"{user}:S3cretPassw0rd"

    error = assert_refused(f"https://{secret}@{host}")

    assert "S3cretPassw0rd" not in str(error)


@given(real_hosts, st.sampled_from(["evil.test", "127.0.0.1", "example.test:443"]))
def test_a_real_name_before_an_at_sign_is_refused(host: str, target: str) -> None:
    assert_refused(f"https://{host}@{target}")


@given(real_hosts, st.integers(min_value=0, max_value=65535))
@example("apigw-prod2.central.arubanetworks.com", 443)
def test_a_port_is_refused(host: str, port: int) -> None:
    error = assert_refused(f"https://{host}:{port}")

    assert "port" in error.problem


@given(
    real_hosts,
    st.sampled_from(["http", "HTTP", "ftp", "wss", "https:", "", "file", "httpss"]),
    st.sampled_from(["://", ":/", ":", "//", ":\\\\"]),
)
def test_anything_but_https_is_refused(host: str, scheme: str, separator: str) -> None:
    assume(f"{scheme}{separator}".lower() != "https://")

    assert_refused(f"{scheme}{separator}{host}")


@given(
    real_hosts,
    st.sampled_from(["/", "/api", "/oauth2/token", "?x=1", "#top", "\\", "/."]),
)
def test_a_path_query_or_fragment_is_refused(host: str, tail: str) -> None:
    assert_refused(f"https://{host}{tail}")


@given(st.ip_addresses())
def test_an_ip_address_is_refused(address: object) -> None:
    literal = f"[{address}]" if ":" in str(address) else str(address)

    assert_refused(f"https://{literal}")


@given(
    real_hosts,
    st.sampled_from([" ", "\t", "\n", "\u200b", "\u00ad", "\x00"]),
    st.data(),
)
def test_spaces_and_invisible_characters_are_refused(
    host: str, junk: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(host)), label="position")

    assert_refused(f"https://{host[:at]}{junk}{host[at:]}")


# --- whatever is typed -----------------------------------------------------------


@given(st.text())
@example("https://apigw-prod2.central.arubanetworks.com\u3002cn")
@example("https://\uff41pigw-prod2.central.arubanetworks.com")
def test_any_text_is_refused_cleanly_or_normalised_to_an_allowed_host(
    text: str,
) -> None:
    url = normalised_or_refusal(text)
    if isinstance(url, InvalidGatewayURL):
        assert "gateway URL" in str(url)
        return

    host = url.removeprefix("https://")
    assert url.startswith("https://")
    assert HOSTNAME.fullmatch(host), host
    assert host.endswith(ALLOWED_SUFFIXES)
    assert normalise_gateway_url(url) == url


@given(real_hosts.map(lambda host: f"https://{host}") | st.text(max_size=60))
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalised_or_refusal(text)
    if isinstance(once, InvalidGatewayURL):
        return

    assert normalise_gateway_url(once) == once
