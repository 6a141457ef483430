"""Fixtures of the contract tests: recording and replaying the connector's traffic.

Recorded scenarios are parametrized by ``source``: ``fake`` cassettes live in
``cassettes/<module>/``, ``live`` ones (recorded against the real Central with
``--live``) in ``cassettes/live/<module>/``. Which run when:

* replay (``--record-mode=none``, CI): every ``fake`` cassette, and a ``live`` one
  wherever it was recorded;
* ``--record-mode=rewrite``: the ``fake`` scenarios, against a fake on loopback;
* ``--record-mode=rewrite --live``: the ``live`` scenarios, against Central.

The choice is made at collection, so pytest-recording never deletes a cassette of
the source that is not being recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from contract_recording import (
    FAKE_START,
    Target,
    VirtualClock,
    fake_secrets,
    live_target,
    replay_target,
)
from contract_scrubbing import Scrubber, query_without_secrets
from vcr import VCR

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes"
LIVE_CASSETTES = CASSETTES / "live"
MATCH_ON = ["method", "scheme", "host", "path", "query_without_secrets"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live",
        action="store_true",
        default=False,
        help="record the contract cassettes against the real Central named by the "
        "CENTRAL_* environment variables (with --record-mode=rewrite)",
    )


def _source(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("source") if callspec is not None else None


def _scenario(item: pytest.Item) -> str:
    """The test's name without its parameters: one cassette per scenario and source."""
    return str(getattr(item, "originalname", item.name))


def cassette_path(module: Path, test_name: str, source: str) -> Path:
    root = LIVE_CASSETTES if source == "live" else CASSETTES
    return root / module.stem / f"{test_name}.yaml"


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip the sources this run neither records nor can replay."""
    # A run from the repository root may load this file after option parsing.
    live = config.getoption("--live", default=False)
    recording = config.getoption("--record-mode", default="none") not in (None, "none")
    for item in items:
        source = _source(item)
        if source is None or not item.path.is_relative_to(HERE):
            continue
        path = cassette_path(item.path, _scenario(item), source)
        reason = None
        if recording and live and source == "fake":
            reason = "recording against the real Central (--live) only"
        elif recording and not live and source == "live":
            reason = "recording against the fake only; add --live for Central"
        elif not recording and source == "live" and not path.exists():
            reason = "no cassette recorded against the real Central yet"
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_recording_configure(config: pytest.Config, vcr: VCR) -> None:
    vcr.register_matcher("query_without_secrets", query_without_secrets)


SCRUBBER = pytest.StashKey[Scrubber]()


@pytest.fixture
def scrubber(request: pytest.FixtureRequest) -> Scrubber:
    """This cassette's secret-to-placeholder table."""
    table = Scrubber()
    request.node.stash[SCRUBBER] = table
    return table


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """After a recording is written, no secret it met may be in the file.

    vcrpy writes the cassette when the test's last fixture closes, so this runs
    after teardown. A leaking cassette is deleted, never left to be committed.
    """
    result = yield
    table, source = item.stash.get(SCRUBBER, None), _source(item)
    recording = item.config.getoption("--record-mode", default="none") != "none"
    if table is None or source is None or not recording:
        return result
    path = cassette_path(item.path, _scenario(item), source)
    if path.exists() and (leaks := table.count_leaks(path.read_text("utf-8"))):
        path.unlink()
        raise AssertionError(
            f"{leaks} secret value(s) survived scrubbing into {path.name}; the "
            "cassette was deleted. Add the field to contract_scrubbing.SECRET_FIELDS"
        )
    return result


@pytest.fixture
def vcr_config(scrubber: Scrubber) -> dict[str, Any]:
    # Request bodies and headers differ between recording (real secrets) and replay
    # (placeholders), and the port is random: match on what is stable.
    return {
        "match_on": MATCH_ON,
        "before_record_request": scrubber.before_record_request,
        "before_record_response": scrubber.before_record_response,
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    source = _source(request.node)
    root = LIVE_CASSETTES if source == "live" else CASSETTES
    return str(root / request.node.path.stem)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """One cassette per scenario, named after the test without its parameters."""
    name: str = request.node.originalname
    return name


@pytest.fixture
async def central(
    request: pytest.FixtureRequest,
    source: str,
    record_mode: str,
    scrubber: Scrubber,
    tmp_path: Path,
) -> AsyncIterator[Target]:
    """The scenario's gateway: a fake, the real Central, or (replay) a cassette."""
    if record_mode == "none":
        cassette = cassette_path(request.node.path, request.node.originalname, source)
        yield replay_target(cassette, tmp_path / "tokens.json")
        return
    if source == "live":
        target = live_target()
        _teach(scrubber, target.secrets_in_use)
        yield target
        return
    async for target in _fake_target(tmp_path):
        _teach(scrubber, target.secrets_in_use)
        yield target


def _teach(scrubber: Scrubber, secrets: list[tuple[str, str]]) -> None:
    for kind, value in secrets:
        scrubber.learn(kind, value)


async def _fake_target(tmp_path: Path) -> AsyncIterator[Target]:
    # Imported here: replay (CI) never needs the fake.
    from connector import Credentials, JsonFileTokenStore
    from fake_central import FakeCentral, FakeClock
    from fake_central.testing import serve_fake

    fake_clock = FakeClock(start=FAKE_START, frozen=True)
    fake = FakeCentral(clock=fake_clock)
    app = fake.create_app(cluster="US-2", app_type="network_operations")
    fake.load_inventory(app.customer_id, sites=25, devices=60, seed=7)
    pair = fake.mint(app.client_id)
    credentials = Credentials(
        gateway_url=app.gateway_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
    )
    async with serve_fake(fake, tls=True) as running:
        yield Target(
            "fake",
            credentials,
            JsonFileTokenStore(tmp_path / "tokens.json"),
            clock=VirtualClock(FAKE_START, fake_clock),
            connect_to=(running.host, running.port),
            ca_file=running.ca_file,
            fake=fake,
            app=app,
            secrets_in_use=fake_secrets(credentials),
        )
