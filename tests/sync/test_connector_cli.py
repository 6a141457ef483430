"""``central-connector`` end to end: every command, every exit code, no secrets."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sync_support import Cli, expected_devices
from tunnel_proxy import tunnel_proxy_in_thread

from connector import Credentials, SqliteTokenStore
from connector.errors import ReadOnlyViolation
from connector.store import SCHEMA_VERSION, Store
from fake_central import AppInfo, FakeCentral, Tenant
from fake_central.testing import RunningFake


def test_test_reports_the_connection_and_the_sites_the_app_sees(
    cli: Cli, fake: FakeCentral
) -> None:
    result = cli("test")

    assert result.exit_code == 0, result.output
    assert "Connected to Aruba Central" in result.stdout
    assert "the app can see 40 sites" in result.stdout
    api_calls = [e for e in fake.journal if e.path == "/central/v2/sites"]
    assert [(e.query["limit"], e.query["calculate_total"]) for e in api_calls] == [
        ("1", "true")
    ]


def test_test_in_json_names_the_gateway_and_the_site_count(cli: Cli) -> None:
    assert cli.json("test") == {
        "connected": True,
        "gateway": "apigw-prod2.central.arubanetworks.com",
        "sites": 40,
    }


def test_sync_in_json_reports_the_counts_of_the_snapshot(
    cli: Cli, tenant: Tenant
) -> None:
    document = cli.json("sync")

    assert document["outcome"] == "complete"
    assert document["partial"] is False
    assert (document["sites"], document["devices"]) == (40, 300)
    assert document["requests"] == 5
    assert set(document["lists"]) == {
        "sites",
        "inventory",
        "aps",
        "switches",
        "gateways",
    }
    assert document["lists"]["inventory"]["items"] == len(tenant.devices)


def test_sync_is_quiet_on_stderr_when_it_is_not_a_terminal(cli: Cli) -> None:
    result = cli("sync")

    assert result.exit_code == 0
    assert result.stderr == ""
    assert "Synced 40 sites and 300 devices" in result.stdout


def test_sync_shows_a_progress_bar_on_a_terminal(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connector.cli._stderr_is_terminal", lambda: True)

    result = cli("sync")

    assert result.exit_code == 0
    assert "inventory" in result.stderr
    assert "300/300" in result.stderr


def test_the_sites_panel_lists_every_site_with_devices_and_customer(
    cli: Cli, tenant: Tenant
) -> None:
    cli("sync")
    cli("map", tenant.sites[0]["site_name"], "Fjord Dental")

    panel = cli.json("sites")["sites"]
    text = cli("sites").stdout

    by_id = {row["site_id"]: row for row in panel}
    first = tenant.sites[0]
    assert len(panel) == 40
    assert by_id[first["site_id"]]["customer"] == "Fjord Dental"
    assert by_id[first["site_id"]]["devices"] == first["associated_device_count"]
    assert sum(row["customer"] is None for row in panel) == 39
    assert "unmapped" in text
    assert "1 of 40 sites mapped" in text


def test_a_customer_sees_only_its_mapped_sites_and_their_devices(
    cli: Cli, tenant: Tenant
) -> None:
    cli("sync")
    one, two, three = (str(site["site_id"]) for site in tenant.sites[:3])
    cli("map", one, "acme")
    cli("map", two, "acme")
    cli("map", three, "globex")
    cli("unmap", two)

    view = cli.json("customer", "acme")

    assert [site["site_id"] for site in view["sites"]] == [int(one)]
    serials = {d["serial"] for d in view["sites"][0]["devices"]}
    truth = {s for s, d in expected_devices(tenant).items() if d[3] == int(one)}
    assert serials == truth
    assert "Customer 'acme': 1 site" in cli("customer", "acme").stdout


def test_map_accepts_a_site_name_or_id_and_reports_the_previous_customer(
    cli: Cli, tenant: Tenant
) -> None:
    cli("sync")
    site = tenant.sites[4]

    first = cli.json("map", site["site_name"], "acme")
    second = cli.json("map", str(site["site_id"]), "globex")

    assert first["site"]["site_id"] == site["site_id"]
    assert (second["customer"], second["previous"]) == ("globex", "acme")
    assert "was 'globex'" in cli("map", site["site_name"], "initech").stdout


def test_unmap_reports_what_the_site_was_mapped_to(cli: Cli, tenant: Tenant) -> None:
    cli("sync")
    name = tenant.sites[2]["site_name"]
    cli("map", name, "acme")

    result = cli("unmap", name)

    assert result.exit_code == 0
    assert "was mapped to 'acme'" in result.stdout
    assert cli.json("unmap", name)["previous"] is None


def test_mappings_survive_a_re_sync_through_the_command_line(
    cli: Cli, tenant: Tenant
) -> None:
    cli("sync")
    cli("map", "1", "acme")
    tenant.remove_sites(len(tenant.sites))
    added = tenant.add_sites(2)

    cli("sync")

    panel = {row["site_id"]: row for row in cli.json("sites")["sites"]}
    assert (panel[1]["gone"], panel[1]["customer"]) == (True, "acme")
    assert [panel[site["site_id"]]["gone"] for site in added] == [False, False]
    assert cli.json("customer", "acme")["sites"][0]["gone"] is True


# --- bad input: exit code 2 ---------------------------------------------------------


def test_an_unknown_site_is_refused_and_changes_nothing(
    cli: Cli, db_path: Path
) -> None:
    cli("sync")
    before = db_path.read_bytes()

    result = cli("map", "Atlantis", "acme")
    document = cli.json("unmap", "Atlantis")

    assert result.exit_code == 2
    assert "no site 'Atlantis'" in result.stderr
    assert document["error"]["type"] == "UnknownSite"
    assert db_path.read_bytes() == before


def test_an_unknown_customer_is_refused_with_the_known_ones(cli: Cli) -> None:
    cli("sync")
    cli("map", "1", "acme")

    result = cli("customer", "acne")

    assert result.exit_code == 2
    assert "no site is mapped to customer 'acne' (customers: 'acme')" in result.stderr


def test_a_blank_customer_name_is_refused(cli: Cli) -> None:
    cli("sync")

    assert cli("map", "1", "   ").exit_code == 2


def test_a_malformed_credentials_file_is_refused_before_any_request(
    cli: Cli, credentials_file: Path, fake: FakeCentral, db_path: Path
) -> None:
    credentials_file.write_text(
        '{"gateway_url": "https://apigw-prod2.central.arubanetworks.com",'
    )

    result = cli("test")
    document = cli.json("sync")

    assert result.exit_code == 2
    assert "is not valid JSON" in result.stderr
    assert document["error"]["type"] == "InvalidCredentials"
    assert fake.journal == []
    assert not db_path.exists()


def test_a_command_that_talks_to_central_needs_credentials(offline_cli: Cli) -> None:
    result = offline_cli("test")

    assert result.exit_code == 2
    assert "needs --credentials FILE" in result.stderr


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(
    cli: Cli, db_path: Path, fake: FakeCentral
) -> None:
    db_path.write_text("site,customer\nHQ,acme\n")

    results = [cli("sync"), cli("sites"), cli("map", "1", "acme")]

    assert [r.exit_code for r in results] == [2, 2, 2]
    assert "is not an SQLite database" in results[0].stderr
    assert db_path.read_text() == "site,customer\nHQ,acme\n"
    assert fake.journal == []


def test_a_database_of_another_version_is_refused_and_left_alone(
    cli: Cli, db_path: Path
) -> None:
    cli("sync")
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = db_path.read_bytes()

    document = cli.json("sync")

    assert document["error"]["type"] == "StoreError"
    assert "schema version 2" in document["error"]["message"]
    assert db_path.read_bytes() == before


def test_reading_commands_need_a_database(offline_cli: Cli, db_path: Path) -> None:
    result = offline_cli("sites")

    assert result.exit_code == 2
    assert "run `central-connector sync` first" in result.stderr
    assert not db_path.exists()


def test_a_malformed_connect_to_is_a_usage_error_also_in_json(cli: Cli) -> None:
    result = cli("--connect-to", "nowhere", "test")
    document = cli.json("--connect-to", "127.0.0.1:99999", "test")

    assert result.exit_code == 2
    assert "is not HOST:PORT" in result.stderr
    assert document["error"]["type"] == "BadParameter"


def test_a_rejected_refresh_token_asks_for_a_fresh_pair(
    cli: Cli, credentials_file: Path, fake: FakeCentral
) -> None:
    values = json.loads(credentials_file.read_text())
    credentials_file.write_text(json.dumps({**values, "refresh_token": "r" * 32}))
    fake.clock.advance(7300)

    document = cli.json("sync")

    assert document["error"]["type"] == "RefreshTokenRejected"
    assert "mint a fresh access/refresh pair" in document["error"]["message"]
    assert cli("sync").exit_code == 2


# --- permission, rate limit, upstream: exit codes 3, 4, 5 --------------------------


def test_an_app_of_the_wrong_type_gets_exit_code_three(
    fake: FakeCentral, app: AppInfo, tmp_path: Path, cli: Cli, credentials_file: Path
) -> None:
    other = fake.create_app("US-2", "account_home", customer_id=app.customer_id)
    pair = fake.mint(other.client_id)
    values = json.loads(credentials_file.read_text())
    values |= {
        "client_id": other.client_id,
        "client_secret": other.client_secret,
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
    }
    credentials_file.write_text(json.dumps(values))

    result = cli("sync")

    assert result.exit_code == 3
    assert cli.json("test")["error"]["type"] == "PermissionDenied"


def test_a_spent_daily_budget_gets_exit_code_four(cli: Cli, fake: FakeCentral) -> None:
    fake.configure(rate_limit_enabled=True, per_day_limit=2)

    results = [cli("test"), cli("test"), cli("--json", "test")]

    assert [r.exit_code for r in results] == [0, 0, 4]
    assert json.loads(results[2].stdout)["error"]["type"] == "DailyBudgetExhausted"


def test_a_malformed_answer_gets_exit_code_five(cli: Cli, fake: FakeCentral) -> None:
    fake.arm_fault(
        {
            "match": {"path": "/monitoring/v1/switches"},
            "action": {"kind": "status", "status": 200, "body": {"switches": "nope"}},
        }
    )

    document = cli.json("sync")

    assert document["error"]["type"] == "MalformedResponse"
    assert cli("sync").exit_code == 5


def test_a_bug_gets_exit_code_one_with_its_message(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def write_attempt(*args: object) -> int:
        raise ReadOnlyViolation("POST", "/central/v2/sites")

    monkeypatch.setattr("connector.cli._count_sites", write_attempt)

    result = cli("test")

    assert result.exit_code == 1
    assert "this connector is read-only" in result.stderr


# --- tokens and secrets ------------------------------------------------------------


def test_rotated_tokens_are_kept_for_the_next_command(
    cli: Cli, fake: FakeCentral, app: AppInfo, db_path: Path
) -> None:
    fake.clock.advance(7300)  # the pasted access token has expired

    first = cli("sync")
    second = cli("sync")

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert fake.refresh_count(app.client_id) == 1
    assert SqliteTokenStore(db_path).load(app.client_id) is not None


def test_keep_alive_rotates_once_then_waits_until_the_pair_is_due(
    cli: Cli, fake: FakeCentral, app: AppInfo
) -> None:
    first = cli.json("keep-alive")
    again = cli("keep-alive", "--max-age", "3")

    assert first["rotated"] is True
    due = datetime.fromisoformat(first["next_due"])
    assert due - datetime.fromisoformat(first["last_rotation"]) == timedelta(days=12)
    assert again.exit_code == 0
    assert "nothing to do until" in again.stdout
    assert fake.refresh_count(app.client_id) == 1


@pytest.mark.parametrize("days", ["0", "14", "soon"])
def test_keep_alive_refuses_an_age_that_would_let_the_pair_lapse(
    cli: Cli, fake: FakeCentral, days: str
) -> None:
    result = cli("keep-alive", "--max-age", days)

    assert result.exit_code == 2
    assert "--max-age" in result.stderr
    assert fake.journal == []


def test_sync_runs_through_a_proxy_with_credentials_never_printed(
    served: RunningFake,
    credentials_file: Path,
    db_path: Path,
    tenant: Tenant,
) -> None:
    password = "proxy-pass-51d0c7"
    target = (served.host, served.port)
    with tunnel_proxy_in_thread(target, credentials=("alice", password)) as proxy:
        through = Cli(
            [
                *("--credentials", str(credentials_file), "--db", str(db_path)),
                *("--ca-file", str(served.ca_file)),
                *("--proxy", proxy.url(f"alice:{password}@")),
            ]
        )
        document = through.json("sync")
        through("-vv", "test")

    assert document["devices"] == len(tenant.devices)
    assert proxy.tunnels[0] == "apigw-prod2.central.arubanetworks.com:443"
    assert password not in through.everything_printed()


def test_a_wrong_proxy_password_gets_exit_code_two_without_it(
    served: RunningFake, credentials_file: Path, db_path: Path
) -> None:
    wrong = "not-the-proxy-pass-51d0c7"
    target = (served.host, served.port)
    with tunnel_proxy_in_thread(target, credentials=("alice", "right")) as proxy:
        result = Cli(
            [
                *("--credentials", str(credentials_file), "--db", str(db_path)),
                *("--ca-file", str(served.ca_file)),
                *("--proxy", proxy.url(f"alice:{wrong}@")),
            ]
        )("test")

    assert result.exit_code == 2
    assert "refused the tunnel (407" in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_a_proxy_and_connect_to_together_are_a_usage_error(cli: Cli) -> None:
    result = cli("--proxy", "http://proxy.example:3128", "test")

    assert result.exit_code == 2
    assert "cannot be combined" in result.stderr


def test_no_secret_appears_in_any_output(
    cli: Cli,
    fake: FakeCentral,
    app: AppInfo,
    credentials: Credentials,
    db_path: Path,
    tenant: Tenant,
) -> None:
    cli("-vv", "test")
    cli("-vv", "keep-alive")
    fake.clock.advance(7300)
    cli("-vv", "sync")
    cli("--json", "sync")
    cli("sites")
    cli("map", tenant.sites[0]["site_name"], "acme")
    cli("customer", "acme")
    fake.clock.advance(7300)
    fake.arm_fault(
        {
            "match": {"path": "/oauth2/token"},
            "action": {
                "kind": "status",
                "status": 400,
                "body": {"error": "invalid_request"},
            },
        }
    )
    cli("-vv", "sync")
    cli("--json", "test")

    stored = SqliteTokenStore(db_path).load(app.client_id)
    assert stored is not None
    secrets = [
        *credentials.secret_values(),
        stored.access_token.get_secret_value(),
        stored.refresh_token.get_secret_value(),
    ]
    printed = cli.everything_printed()
    assert "connector.client INFO GET" in printed  # the verbose runs did log
    assert [secret for secret in secrets if secret in printed] == []


def test_the_store_keeps_its_schema_beside_the_token_table(
    cli: Cli, db_path: Path
) -> None:
    cli("sync")

    with Store.open(db_path) as store, sqlite3.connect(db_path) as db:
        tables = {
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        assert store.last_run() is not None
    db.close()

    assert {
        "sites",
        "devices",
        "site_customers",
        "sync_runs",
        "connector_tokens",
        "connector_recent_calls",
    } <= tables
