"""Token stores: atomic, durable, private, per client id, locked across processes."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from connector_helpers import START
from pydantic import SecretStr

from connector import (
    JsonFileTokenStore,
    MemoryTokenStore,
    RecentCallsStore,
    SqliteTokenStore,
    StoredTokens,
    TokenStore,
)
from connector.errors import TokenStoreError

REPO_ROOT = Path(__file__).resolve().parents[2]
StoreFactory = Callable[[Path], TokenStore]

STORES: dict[str, StoreFactory] = {
    "json": lambda directory: JsonFileTokenStore(directory / "tokens.json"),
    "sqlite": lambda directory: SqliteTokenStore(directory / "connector.db"),
}


def tokens(
    client_id: str = "client-a", generation: int = 1, suffix: str = "1"
) -> StoredTokens:
    return StoredTokens(
        client_id=client_id,
        access_token=SecretStr(f"access-{client_id}-{suffix}"),
        refresh_token=SecretStr(f"refresh-{client_id}-{suffix}"),
        expires_at=START + timedelta(hours=2),
        obtained_at=START,
        generation=generation,
        origin="f" * 64,
        superseded=("e" * 64,),
    )


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    return STORES[request.param](tmp_path)


def impatient_twin(store: TokenStore) -> TokenStore:
    """Another store object on the same file that gives up on a held lock at once."""
    if isinstance(store, JsonFileTokenStore):
        return JsonFileTokenStore(store.path, lock_timeout=0)
    assert isinstance(store, SqliteTokenStore)
    return SqliteTokenStore(store.path, lock_timeout=0)


def store_file(store: TokenStore) -> Path:
    assert isinstance(store, JsonFileTokenStore | SqliteTokenStore)
    return store.path


def test_an_empty_store_has_nothing_for_a_client(store: TokenStore) -> None:
    assert store.load("client-a") is None


def test_a_saved_pair_loads_back_identically(store: TokenStore) -> None:
    saved = tokens()

    store.save(saved)

    assert store.load("client-a") == saved


def test_pairs_are_kept_per_client_id(store: TokenStore) -> None:
    store.save(tokens("client-a", suffix="a"))
    store.save(tokens("client-b", suffix="b"))
    store.save(tokens("client-a", generation=2, suffix="a2"))

    loaded_a, loaded_b = store.load("client-a"), store.load("client-b")

    assert loaded_a is not None
    assert loaded_a.generation == 2
    assert loaded_b is not None
    assert loaded_b.refresh_token.get_secret_value() == "refresh-client-b-b"


def test_the_store_file_is_private(store: TokenStore) -> None:
    store.save(tokens())

    assert stat.S_IMODE(store_file(store).stat().st_mode) == 0o600


def test_a_store_satisfies_the_protocol(store: TokenStore) -> None:
    assert isinstance(store, TokenStore)
    assert isinstance(MemoryTokenStore(), TokenStore)


def test_stored_tokens_never_show_their_secrets() -> None:
    text = repr(tokens()) + str(tokens())

    assert "access-client-a" not in text
    assert "refresh-client-a" not in text


def test_a_sqlite_store_shares_its_file_with_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "connector.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sites (site_id INTEGER)")
        db.execute("INSERT INTO sites VALUES (7)")
    db.close()
    path.chmod(0o644)
    store = SqliteTokenStore(path)

    store.save(tokens())

    with sqlite3.connect(path) as db:
        assert db.execute("SELECT site_id FROM sites").fetchall() == [(7,)]
    db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_json_store_replaces_its_file_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JsonFileTokenStore(tmp_path / "tokens.json")
    store.save(tokens(generation=1, suffix="old"))
    synced: list[int] = []
    real_fsync = os.fsync

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    def recording_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", failing_replace)

    with pytest.raises(TokenStoreError, match="No space left on device"):
        store.save(tokens(generation=2, suffix="new"))

    assert synced, "the temporary file is fsynced before the rename"
    kept = store.load("client-a")
    assert kept is not None
    assert kept.generation == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json"]


def test_the_json_store_fsyncs_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JsonFileTokenStore(tmp_path / "tokens.json")
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)

    store.save(tokens())

    assert synced == ["file", "dir"]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"version": 1}',
        '["x"]',
        '{"version": 1, "clients": {"client-a": {"x": 1}}}',
    ],
    ids=["malformed", "no-clients", "not-an-object", "damaged-record"],
)
def test_a_damaged_json_store_is_reported_not_guessed(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content)

    with pytest.raises(TokenStoreError, match="token store") as caught:
        JsonFileTokenStore(path).load("client-a")

    assert str(path) in str(caught.value)


def test_a_damaged_record_is_reported_without_its_secrets(tmp_path: Path) -> None:
    store = SqliteTokenStore(tmp_path / "connector.db")
    store.save(tokens())
    with sqlite3.connect(store.path) as db:
        db.execute(
            "UPDATE connector_tokens SET record = json_set(record, '$.generation', 'x')"
        )
    db.close()

    with pytest.raises(TokenStoreError, match="damaged token record") as caught:
        store.load("client-a")

    assert "refresh-client-a" not in str(caught.value)


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "connector.db"
    path.write_text("this is not sqlite" * 100)

    with pytest.raises(TokenStoreError, match="token store"):
        SqliteTokenStore(path).load("client-a")


# --- locking ----------------------------------------------------------------------


@pytest.fixture
def lock_holder(store: TokenStore) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store's lock until its stdin closes."""
    kind = type(store).__name__
    script = (
        "import sys\n"
        f"from connector.tokens import {kind}\n"
        f"store = {kind}(sys.argv[1])\n"
        "with store.lock('client-a'):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(store_file(store))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    yield child
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=10)
    child.stdout.close()


def lock_file(store: TokenStore) -> Path:
    path = store_file(store)
    suffix = ".lock" if isinstance(store, JsonFileTokenStore) else ".tokens.lock"
    return path.with_name(path.name + suffix)


def test_the_lock_excludes_another_process(
    store: TokenStore, lock_holder: subprocess.Popen[str]
) -> None:
    fd = os.open(lock_file(store), os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


def test_a_lock_held_too_long_elsewhere_is_reported(
    store: TokenStore, lock_holder: subprocess.Popen[str]
) -> None:
    impatient = impatient_twin(store)

    with (
        pytest.raises(TokenStoreError, match="still held by another process"),
        impatient.lock("client-a"),
    ):
        pass


def test_the_lock_excludes_another_store_object_in_this_process(
    store: TokenStore,
) -> None:
    other = impatient_twin(store)

    with store.lock("client-a"), pytest.raises(TokenStoreError), other.lock("client-a"):
        pass

    with other.lock("client-a"):
        pass


def test_the_lock_file_is_private(store: TokenStore) -> None:
    with store.lock("client-a"):
        pass

    assert stat.S_IMODE(lock_file(store).stat().st_mode) == 0o600


# -- recent calls ------------------------------------------------------------------

ALL_STORES: dict[str, StoreFactory] = {**STORES, "memory": lambda _: MemoryTokenStore()}


@pytest.fixture(params=list(ALL_STORES))
def calls_store(request: pytest.FixtureRequest, tmp_path: Path) -> RecentCallsStore:
    made = ALL_STORES[request.param](tmp_path)
    assert isinstance(made, RecentCallsStore)
    return made


def test_recent_calls_load_back_per_client_id(calls_store: RecentCallsStore) -> None:
    calls_store.save_recent_calls("client-a", [100.5, 100.75])
    calls_store.save_recent_calls("client-b", [99.0])

    assert calls_store.load_recent_calls("client-a") == (100.5, 100.75)
    assert calls_store.load_recent_calls("client-b") == (99.0,)
    assert calls_store.load_recent_calls("client-c") == ()


def test_recent_calls_are_replaced_not_appended(calls_store: RecentCallsStore) -> None:
    calls_store.save_recent_calls("client-a", [1.0, 2.0])
    calls_store.save_recent_calls("client-a", [3.0])

    assert calls_store.load_recent_calls("client-a") == (3.0,)


def test_recent_calls_and_pairs_do_not_overwrite_each_other(
    store: TokenStore,
) -> None:
    assert isinstance(store, RecentCallsStore)
    store.save(tokens())
    store.save_recent_calls("client-a", [5.0])
    store.save(tokens(generation=2, suffix="2"))

    assert store.load("client-a") == tokens(generation=2, suffix="2")
    assert store.load_recent_calls("client-a") == (5.0,)


@pytest.mark.parametrize(
    "saved",
    ['"soon"', '{"a": 1}', '[1.5, "x", true, null, 2]', "[1e999]"],
)
def test_a_damaged_json_recent_calls_record_keeps_only_its_numbers(
    tmp_path: Path, saved: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(
        f'{{"version": 1, "clients": {{}}, "recent_calls": {{"client-a": {saved}}}}}'
    )

    loaded = JsonFileTokenStore(path).load_recent_calls("client-a")

    assert loaded == ((1.5, 2.0) if saved.startswith("[1.5") else ())


def test_a_damaged_sqlite_recent_calls_row_loads_as_empty(tmp_path: Path) -> None:
    store = SqliteTokenStore(tmp_path / "connector.db")
    store.save_recent_calls("client-a", [1.0])
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE connector_recent_calls SET sent = '[1.0, oops'")
    db.close()

    assert store.load_recent_calls("client-a") == ()


def test_an_unreadable_store_loads_no_recent_calls_but_still_refuses_pairs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("not json")
    store = JsonFileTokenStore(path)

    assert store.load_recent_calls("client-a") == ()
    with pytest.raises(TokenStoreError, match="not valid JSON"):
        store.load("client-a")


def test_the_json_store_saves_recent_calls_only_under_its_lock(tmp_path: Path) -> None:
    store = JsonFileTokenStore(tmp_path / "tokens.json")
    store.save(tokens())
    impatient = JsonFileTokenStore(store.path, lock_timeout=0)

    with store.lock("client-a"), pytest.raises(TokenStoreError, match="still held"):
        impatient.save_recent_calls("client-a", [1.0])

    assert impatient.load_recent_calls("client-a") == ()
    assert impatient.load("client-a") == tokens()
