"""Two writers on two hosts sharing a PostgreSQL app database: the second is refused.

Each "host" has its own data folder (its own lock file), so only the advisory lock in the
shared PostgreSQL database (a real server) keeps them apart. The holder runs in a process of
its own, as a scheduler on another host would.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from control_tower.settings import load_settings
from control_tower.storage import WriterBusyError, WriterLock
from tests.support.postgres import create_database

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count()

HOLDER = """
import sys
from pathlib import Path
from control_tower.storage import WriterLock
lock = WriterLock(Path(sys.argv[1]), "control-tower scheduler", app_db_url=sys.argv[2])
lock.acquire()
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
lock.release()
"""


@pytest.fixture
def app_db(postgres_admin_url: str) -> str:
    return create_database(postgres_admin_url, f"writers_{next(_names)}")


@pytest.fixture
def other_host(tmp_path: Path, app_db: str) -> Iterator[subprocess.Popen[str]]:
    """A scheduler on another host (another data folder) holding the writer lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "host-a" / "writer.lock"), app_db],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def _acquire_within(lock: WriterLock, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            lock.acquire()
            return
        except WriterBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_second_host_is_refused_naming_the_holder(
    tmp_path: Path, app_db: str, other_host: subprocess.Popen[str]
) -> None:
    here = WriterLock(
        tmp_path / "host-b" / "writer.lock", "control-tower ingest", app_db_url=app_db
    )
    with pytest.raises(WriterBusyError) as refused:
        here.acquire()
    message = str(refused.value)
    assert f"control-tower scheduler on {os.uname().nodename}"[:40] in message
    assert f"(pid {other_host.pid})" in message
    assert "PostgreSQL app database" in message
    assert not here.held
    # The refused writer let go of its own lock file: a local writer is not blocked by it.
    with WriterLock(tmp_path / "host-b" / "writer.lock", "local"):
        pass
    assert other_host.stdin is not None
    other_host.stdin.close()  # the holder finishes and releases
    assert other_host.wait(timeout=30) == 0
    with here:
        assert here.held


def test_the_lock_of_a_writer_that_died_is_free(
    tmp_path: Path, app_db: str, other_host: subprocess.Popen[str]
) -> None:
    other_host.kill()
    other_host.wait(timeout=30)
    lock = WriterLock(
        tmp_path / "host-b" / "writer.lock", "control-tower ingest", app_db_url=app_db
    )
    _acquire_within(lock, 10)
    lock.release()


def test_the_installation_lock_uses_its_postgresql_app_database(
    tmp_path: Path, app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROL_TOWER_APP_DB_URL", app_db)
    first = WriterLock.for_settings(load_settings(tmp_path / "a"), "control-tower scheduler")
    second = WriterLock.for_settings(load_settings(tmp_path / "b"), "control-tower risk")
    with first, pytest.raises(WriterBusyError, match="control-tower scheduler on"):
        second.acquire()
    with second:  # released with the first
        pass
