"""``fake-central serve``: the five values, the files, clean stops, clear errors."""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import sys
import types
from pathlib import Path
from typing import Any

import aiohttp
import click
import pytest
from click.testing import CliRunner
from fake_helpers import SITES

from fake_central import FakeCentral
from fake_central.cli import _scenario_credentials, main
from fake_central.testing import FakeResolver

KEYS = ["gateway_url", "client_id", "client_secret", "access_token", "refresh_token"]


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """Run ``fake-central serve`` and read its announcement (key: value lines)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fake_central", "serve", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    announced: dict[str, str] = {}
    while "refresh_token" not in announced:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line, "fake-central exited before announcing itself"
        if line.startswith("fake-central listening on "):
            announced["url"] = line.removeprefix("fake-central listening on ").strip()
        elif ": " in line:
            key, _, value = line.partition(": ")
            announced[key] = value.strip()
    return process, announced


async def _stop(process: asyncio.subprocess.Process, signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"]
)
async def test_serve_prints_the_five_values_and_stops_cleanly_on_a_signal(
    tmp_path: Path, signum: int
) -> None:
    credentials_file = tmp_path / "credentials.json"
    process, announced = await _start("--credentials-out", str(credentials_file))

    async with (
        aiohttp.ClientSession() as session,
        session.get(
            announced["url"] + SITES,
            headers={"Authorization": f"Bearer {announced['access_token']}"},
        ) as reply,
    ):
        page = await reply.json()
    code, stderr = await _stop(process, signum)

    written = json.loads(credentials_file.read_text())
    assert list(written) == KEYS
    assert written == {key: announced[key] for key in KEYS}
    assert written["gateway_url"] == "https://apigw-prod2.central.arubanetworks.com"
    assert announced["url"].startswith("http://127.0.0.1:")
    assert page["total"] > 20
    assert credentials_file.stat().st_mode & 0o077 == 0
    assert code == 0
    assert "fake-central stopped" in stderr


async def test_serve_with_tls_writes_a_ca_that_verifies_the_cluster_hostname(
    tmp_path: Path,
) -> None:
    ca_file = tmp_path / "ca.pem"
    process, announced = await _start(
        "--tls", "--ca-out", str(ca_file), "--default-cluster", "China-1", "--seed", "9"
    )
    port = int(announced["url"].rsplit(":", 1)[1])

    connector = aiohttp.TCPConnector(
        resolver=FakeResolver("127.0.0.1", port),
        ssl=ssl.create_default_context(cafile=str(ca_file)),
    )
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(
            announced["gateway_url"] + SITES,
            headers={"Authorization": f"Bearer {announced['access_token']}"},
        ) as reply,
    ):
        status = await reply.json()
    code, _ = await _stop(process, signal.SIGTERM)

    assert announced["gateway_url"] == "https://apigw.central.arubanetworks.com.cn"
    assert announced["ca_file"] == str(ca_file)
    assert status["count"] > 0
    assert code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--ca-out", "ca.pem"], "--ca-out needs --tls", id="ca without tls"
        ),
        pytest.param(
            ["--default-cluster", "Mars-1"],
            "unknown cluster 'Mars-1'",
            id="bad cluster",
        ),
        pytest.param(["--port", "70000"], "70000", id="bad port"),
        pytest.param(
            ["--scenario", "missing.yaml"], "missing.yaml", id="missing scenario"
        ),
    ],
)
def test_serve_refuses_bad_options_with_a_usage_error(
    args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["serve", *args])

    assert result.exit_code == 2
    assert message in result.output


def test_the_scenario_option_says_when_the_scenario_module_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "fake_central.scenario", None)

    with pytest.raises(click.UsageError, match=r"needs fake_central\.scenario"):
        _scenario_credentials(FakeCentral(), tmp_path / "s.yaml")


def test_the_scenario_option_applies_the_loaded_scenario(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    applied: list[Any] = []
    credentials = dict.fromkeys(KEYS, "x")

    class Loaded:
        def apply_state(self, fake: FakeCentral) -> Any:
            applied.append(fake)
            return types.SimpleNamespace(credentials=credentials)

    module = types.ModuleType("fake_central.scenario")
    module.load_scenario = lambda path: Loaded()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_central.scenario", module)
    fake = FakeCentral()

    got = _scenario_credentials(fake, tmp_path / "s.yaml")

    assert got == credentials
    assert applied == [fake]


def test_the_command_group_lists_serve_and_replay() -> None:
    result = CliRunner().invoke(main, ["--help"])

    assert result.exit_code == 0
    assert "serve" in result.output
    assert "replay" in result.output


def test_replay_says_when_its_module_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "fake_central.replay", None)

    result = CliRunner().invoke(main, ["replay"])

    assert result.exit_code == 2
    assert "fake_central.replay is not installed" in result.output
