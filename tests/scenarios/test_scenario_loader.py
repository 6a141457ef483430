"""The scenario loader: every shipped file loads, and bad input names file and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fake_central.scenario import (
    AdvanceStep,
    RunStep,
    ScenarioError,
    load_scenario,
    load_scenarios,
    parse_duration,
)

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "contracts" / "scenarios"

MINIMAL = """\
    timeline:
      - run: sync
    expect: {exit: 0}
"""

Write = Callable[..., Path]


@pytest.mark.parametrize(
    "path", sorted(SCENARIO_DIR.glob("*.yaml")), ids=lambda path: path.stem
)
def test_every_shipped_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)

    assert scenario.name == path.stem
    assert scenario.summary, "say in one line what the scenario shows"


def test_at_least_twenty_scenarios_are_shipped(shipped_scenarios: list[Path]) -> None:
    assert len(shipped_scenarios) >= 20


def test_a_minimal_file_gets_one_app_and_its_file_name(scenario_file: Write) -> None:
    path = scenario_file(MINIMAL, name="tiny.yaml")

    scenario = load_scenario(path)

    assert scenario.name == "tiny"
    assert list(scenario.start.apps) == ["main"]
    assert scenario.connector_app == "main"
    assert isinstance(scenario.timeline[0], RunStep)
    assert scenario.timeline[0].run == ["sync"]


def test_steps_read_as_their_kind(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        timeline:
          - advance: 1h30m
          - run: map 12 acme
            during:
              - {after_requests: 2, advance: 7300}
        expect: {exit: 0}
        """
    )

    scenario = load_scenario(path)

    first, second = scenario.timeline
    assert isinstance(first, AdvanceStep)
    assert first.advance == 5400
    assert isinstance(second, RunStep)
    assert second.run == ["map", "12", "acme"]
    assert second.during[0].after_requests == 2


def test_invalid_yaml_names_the_file_and_the_line(scenario_file: Write) -> None:
    path = scenario_file("timeline:\n  - run: sync\n   expect: {exit: 0\n")

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert str(path) in str(caught.value)
    assert "not valid YAML" in str(caught.value)
    assert caught.value.field is not None
    assert caught.value.field.startswith("line 3")


def test_an_unknown_field_is_named_with_its_path(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        timeline:
          - run: sync
            expect: {exitcode: 0}
        expect: {exit: 0}
        """
    )

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == "timeline[0].expect.exitcode"
    assert str(caught.value).startswith(f"{path}: timeline[0].expect.exitcode: ")


def test_a_wrong_type_is_named_with_its_path_and_value(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        timeline:
          - run: sync
        expect: {exit: zero}
        """
    )

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == "expect.exit"
    assert "'zero'" in str(caught.value)


def test_every_problem_in_a_file_is_listed(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        start: {apps: {main: {cluster: US-2, colour: blue}}}
        timeline:
          - run: sync
        expect: {exit: zero}
        """
    )

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    fields = [field for field, _ in caught.value.problems]
    assert fields == ["start.apps.main.colour", "expect.exit"]


@pytest.mark.parametrize(
    ("step", "field", "words"),
    [
        pytest.param(
            "{advance: 10, run: sync}", "timeline[0]", "exactly one of", id="two-kinds"
        ),
        pytest.param("{wait: 10}", "timeline[0]", "exactly one of", id="no-kind"),
        pytest.param(
            "{advance: soon}", "timeline[0].advance", "duration", id="bad-duration"
        ),
        pytest.param("{run: reboot}", "timeline[0].run", "one of: test", id="command"),
        pytest.param(
            "{refresh_elsewhere: other}", "timeline[0]", "unknown app", id="app-name"
        ),
        pytest.param(
            "{after_requests: 1, advance: 10}",
            "timeline[0].after_requests",
            "only allowed under 'during'",
            id="trigger-outside-during",
        ),
        pytest.param(
            "{run: sync, during: [{advance: 10}]}",
            "timeline[0].during",
            "needs after_requests",
            id="during-without-trigger",
        ),
        pytest.param(
            "{mint: {app: main, expect: maybe}}",
            "timeline[0].mint.expect",
            "'ok' or 'refused'",
            id="mint-expectation",
        ),
        pytest.param(
            "{credentials: {password: x}}",
            "timeline[0].credentials",
            "unknown credential",
            id="credential-key",
        ),
    ],
)
def test_a_bad_step_is_named_with_its_path(
    scenario_file: Write, step: str, field: str, words: str
) -> None:
    path = scenario_file(f"timeline:\n  - {step}\n  - run: sync\nexpect: {{}}\n")

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == field
    assert words in str(caught.value)


def test_an_unknown_cluster_lists_the_known_ones(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        start: {apps: {main: {cluster: US-9}}}
        timeline: [{run: sync}]
        expect: {}
        """
    )

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == "start.apps.main.cluster"
    assert "China-1" in str(caught.value)


def test_a_timeline_without_a_command_is_refused(scenario_file: Write) -> None:
    path = scenario_file("timeline: [{advance: 10}]\nexpect: {}\n")

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == "timeline"


def test_a_missing_section_is_named(scenario_file: Write) -> None:
    path = scenario_file("timeline: [{run: sync}]\n")

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == "expect"
    assert "Field required" in str(caught.value)


def test_a_file_that_is_not_a_mapping_is_refused(scenario_file: Write) -> None:
    path = scenario_file("- run: sync\n")

    with pytest.raises(ScenarioError, match="must be a YAML mapping"):
        load_scenario(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(ScenarioError, match="cannot read the file") as caught:
        load_scenario(path)

    assert caught.value.path == str(path)


def test_a_clock_without_a_time_zone_is_refused(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        start: {clock: 2026-01-05T12:00:00}
        timeline: [{run: sync}]
        expect: {}
        """
    )

    with pytest.raises(ScenarioError, match="time zone") as caught:
        load_scenario(path)

    assert caught.value.field == "start.clock"


def test_a_directory_loads_its_yaml_files_in_name_order(scenario_file: Write) -> None:
    second = scenario_file(MINIMAL, name="b.yaml")
    first = scenario_file(MINIMAL, name="a.yaml")
    (first.parent / "notes.txt").write_text("not a scenario", encoding="utf-8")

    loaded = load_scenarios([first.parent])

    assert [path for path, _ in loaded] == [first, second]


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        pytest.param(7300, 7300.0, id="number"),
        pytest.param("7300", 7300.0, id="numeric-text"),
        pytest.param("31m", 1860.0, id="minutes"),
        pytest.param("1h30m", 5400.0, id="hours-and-minutes"),
        pytest.param("15d", 1_296_000.0, id="days"),
        pytest.param("0.5s", 0.5, id="fraction"),
    ],
)
def test_durations_read_as_seconds(given: int | str, seconds: float) -> None:
    assert parse_duration(given) == seconds


@pytest.mark.parametrize("given", ["", "2x", "h", "2h-", "soon"])
def test_nonsense_durations_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(given)


def test_a_bad_fault_is_named_down_to_its_action(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        timeline:
          - fault: {when: {next: 1}, action: {kind: status, status: 999}}
          - run: sync
        expect: {}
        """
    )

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == "timeline[0].fault.action.status"
    assert "999" in str(caught.value)


def test_an_unknown_fake_setting_is_named(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        start: {config: {per_day_limt: 3}}
        timeline: [{run: sync}]
        expect: {}
        """
    )

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.field == "start.config"
    assert "per_day_limt: Extra inputs are not permitted" in str(caught.value)


def test_apps_of_one_customer_must_share_a_cluster(scenario_file: Write) -> None:
    path = scenario_file(
        """\
        start:
          apps:
            ops: {cluster: US-2, customer: acme}
            home: {cluster: EU-1, customer: acme, app_type: account_home}
        timeline: [{run: test}]
        expect: {}
        """
    )

    with pytest.raises(ScenarioError, match="lives in US-2") as caught:
        load_scenario(path)

    assert caught.value.field == "start.apps.home.cluster"
