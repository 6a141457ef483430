"""The replay runner: real scenario files through the real connector, and the
runner's own checks against a stub connector."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from fake_central import FakeCentral
from fake_central.replay import junit_xml, replay_command, run_scenarios
from fake_central.scenario import load_scenario, load_scenarios

SCENARIOS = Path(__file__).resolve().parents[2] / "contracts" / "scenarios"

Write = Callable[..., Path]
Stub = Callable[[str], list[str]]


async def test_shipped_scenarios_replay_against_the_real_connector() -> None:
    names = ["happy-path-sync", "common-error-refreshed-elsewhere"]
    loaded = load_scenarios([SCENARIOS / f"{name}.yaml" for name in names])

    results = await run_scenarios(loaded, jobs=2)

    assert [result.name for result in results] == names
    for result in results:
        assert result.passed, "\n".join(result.failures) + "\n" + result.transcript()
    assert results[1].outcome == "exit 2 RefreshTokenRejected"


async def test_a_wrong_expectation_fails_and_says_why(
    scenario_file: Write, stub_connector: Stub
) -> None:
    path = scenario_file(
        """\
        summary: expects success where the connector is refused
        timeline: [{run: sync}]
        expect: {exit: 0}
        """
    )

    [result] = await run_scenarios(
        [(path, load_scenario(path))], connector=stub_connector("denied")
    )

    assert not result.passed
    assert result.outcome == "exit 3 PermissionDenied"
    assert result.failures == [
        "expect: exit 3, expected 0 (PermissionDenied: 403 from /central/v2/sites)"
    ]


async def test_a_secret_in_the_output_fails_the_scenario_and_is_masked(
    scenario_file: Write, stub_connector: Stub
) -> None:
    path = scenario_file("timeline: [{run: test}]\nexpect: {exit: 0}\n")

    [result] = await run_scenarios(
        [(path, load_scenario(path))], connector=stub_connector("leak")
    )

    assert result.failures == ["timeline[0]: the output shows the client secret"]
    assert "debug: secret is ***" in result.commands[0].stderr


async def test_steps_during_a_command_that_never_fire_are_reported(
    scenario_file: Write, stub_connector: Stub
) -> None:
    path = scenario_file(
        """\
        timeline:
          - run: test
            during: [{after_requests: 5, advance: 2h}]
        expect: {exit: 0}
        """
    )

    [result] = await run_scenarios(
        [(path, load_scenario(path))], connector=stub_connector("ok")
    )

    assert result.failures == [
        "timeline[0].during[0]: never fired; the command ended after 0 requests"
    ]


async def test_the_junit_report_has_one_case_per_scenario(
    scenario_file: Write, stub_connector: Stub
) -> None:
    good = scenario_file(
        "timeline: [{run: test}]\nexpect: {exit: 0}\n", name="good.yaml"
    )
    bad = scenario_file("timeline: [{run: test}]\nexpect: {exit: 4}\n", name="bad.yaml")
    results = await run_scenarios(
        load_scenarios([good, bad]), connector=stub_connector("ok")
    )

    suite = ET.fromstring(junit_xml(results))  # noqa: S314 - the runner's own report

    assert suite.get("tests") == "2"
    assert suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["good"].find("failure") is None
    failure = cases["bad"].find("failure")
    assert failure is not None
    assert failure.get("message") == "expect: exit 0, expected 4"


def test_the_command_exits_non_zero_on_a_mismatch_and_writes_junit(
    scenario_file: Write, stub_connector: Stub, tmp_path: Path
) -> None:
    scenario_file("timeline: [{run: test}]\nexpect: {exit: 0}\n", name="good.yaml")
    scenario_file("timeline: [{run: test}]\nexpect: {exit: 4}\n", name="bad.yaml")
    report = tmp_path / "report" / "junit.xml"
    report.parent.mkdir()
    connector = " ".join(stub_connector("ok"))

    outcome = CliRunner().invoke(
        replay_command,
        [
            str(tmp_path),
            "--junit",
            str(report),
            "--connector",
            connector,
            "--jobs",
            "1",
        ],
    )

    assert outcome.exit_code == 1, outcome.output
    assert "bad" in outcome.output
    assert "1 failed" in outcome.output
    assert ET.parse(report).getroot().get("failures") == "1"  # noqa: S314 - ours


def test_an_invalid_scenario_file_is_a_usage_error_naming_it(
    scenario_file: Write, tmp_path: Path
) -> None:
    path = scenario_file("timeline: [{run: test}]\nexpect: {exit: none}\n")

    outcome = CliRunner().invoke(replay_command, [str(path)])

    assert outcome.exit_code == 2
    assert f"{path}: expect.exit:" in outcome.output


def test_applying_a_scenario_gives_the_pasted_credentials(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        start:
          apps: {eu: {cluster: EU-1}}
          inventory: {eu: {sites: 3, devices: 9, seed: 1}}
        connector: {cluster: US-2}
        timeline: [{run: test}]
        expect: {}
        """
    )
    fake = FakeCentral()

    credentials = load_scenario(path).apply(fake)

    assert set(credentials) == {
        "gateway_url",
        "client_id",
        "client_secret",
        "access_token",
        "refresh_token",
    }
    assert credentials["gateway_url"] == "https://apigw-prod2.central.arubanetworks.com"
    [app] = fake.tokens.apps()
    assert app.cluster == "EU-1"
    assert len(fake.tenant(app.customer_id).sites) == 3


async def test_a_known_gap_that_still_shows_is_reported_not_failed(
    scenario_file: Write, stub_connector: Stub
) -> None:
    path = scenario_file(
        """\
        known_gap: the stub is refused where it should not be
        timeline: [{run: sync}]
        expect: {exit: 0}
        """
    )

    [result] = await run_scenarios(
        [(path, load_scenario(path))], connector=stub_connector("denied")
    )

    assert result.passed
    assert result.verdict == "known gap"
    assert result.known_gap is not None
    assert result.known_gap.startswith("the stub is refused where it should not be")


async def test_a_known_gap_that_is_fixed_fails_until_the_note_goes(
    scenario_file: Write, stub_connector: Stub
) -> None:
    path = scenario_file(
        """\
        known_gap: the stub used to be refused
        timeline: [{run: sync}]
        expect: {exit: 0}
        """
    )

    [result] = await run_scenarios(
        [(path, load_scenario(path))], connector=stub_connector("ok")
    )

    assert not result.passed
    assert "remove known_gap" in result.failures[0]
