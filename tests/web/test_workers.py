"""`control-tower serve` on several worker processes, and the settings that size it.

The served folder is the package's small landed one (tests/web/conftest.py);
the server runs as the command does, in its own process, on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from control_tower.settings import MIB, SettingsError, available_cores, load_settings
from control_tower.web import create_app
from control_tower.web.runtime import EXTENSION_KEY
from control_tower.web.workers import bind
from tests.support.web_users import USERS, cheap_accounts, http_sign_in

START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _status(url: str, cookie: str | None = None) -> int:
    request = urllib.request.Request(
        url, headers={"Cookie": f"ct_session={cookie}"} if cookie else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # a new connection each
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def two_workers(landed_settings) -> Iterator[tuple[str, subprocess.Popen]]:
    port = _free_port()
    command = "from control_tower.cli import main; main()"
    options = ["--port", str(port), "--workers", "2", "--threads", "2"]
    env = {**os.environ, "CONTROL_TOWER_APP_DB_URL": landed_settings.app_db_url}  # as tested
    proc = subprocess.Popen(
        [sys.executable, "-c", command, "--home", str(landed_settings.home), "serve", *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while _status_or_none(url + "/login") != 200:
            if proc.poll() is not None:
                pytest.fail(f"serve stopped: {proc.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, "serve did not answer in time"
            time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _status_or_none(url: str) -> int | None:
    try:
        return _status(url)
    except OSError:
        return None


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker processes in /proc")
def test_serve_runs_several_workers_that_share_sessions(two_workers):
    url, proc = two_workers
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # the first worker may answer before the second has started
    assert len(workers) == 2
    cookie = http_sign_in(url, USERS["admin"])
    # Each request on its own connection, taken by whichever worker accepts it first: the
    # session signed in on one worker is known to all.
    statuses = {_status(url + "/_dash-layout", cookie) for _ in range(20)}
    assert statuses == {200}, statuses
    assert _status(url + "/_dash-layout") == 401
    assert _children(proc.pid) == workers  # no worker died on the way


def test_workers_and_threads_default_to_the_cores_and_four(tmp_path, monkeypatch):
    monkeypatch.delenv("CONTROL_TOWER_WEB_WORKERS", raising=False)
    monkeypatch.delenv("CONTROL_TOWER_WEB_THREADS", raising=False)
    settings = load_settings(tmp_path)
    assert (settings.web_workers, settings.web_threads) == (available_cores(), 4)
    monkeypatch.setenv("CONTROL_TOWER_WEB_WORKERS", "3")
    monkeypatch.setenv("CONTROL_TOWER_WEB_THREADS", "6")
    settings = load_settings(tmp_path)
    assert (settings.web_workers, settings.web_threads) == (3, 6)


@pytest.mark.parametrize(("name", "value"), [("WEB_WORKERS", "0"), ("WEB_THREADS", "two")])
def test_bad_worker_counts_are_refused_by_name(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(f"CONTROL_TOWER_{name}", value)
    with pytest.raises(SettingsError, match=f"CONTROL_TOWER_{name}=.*whole number, 1 or more"):
        load_settings(tmp_path)


def test_ipv6_hosts_are_bracketed_for_gunicorn():
    assert bind("127.0.0.1", 8050) == "127.0.0.1:8050"
    assert bind("::1", 8050) == "[::1]:8050"


def test_a_web_workers_snapshot_connection_has_the_web_memory_limit(landed_settings):
    assert landed_settings.web_duckdb_memory_bytes == 512 * MIB  # the default
    assert landed_settings.duckdb.memory_bytes > 512 * MIB  # the pipeline's is larger
    context = create_app(
        landed_settings, accounts=cheap_accounts(landed_settings)
    ).server.extensions[EXTENSION_KEY]
    try:
        with context.snapshot() as cur:
            (limit,) = cur.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        context.close()
    assert limit == "512.0 MiB"


def test_the_web_memory_limit_and_warming_are_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("CONTROL_TOWER_WEB_WARM_SECONDS", raising=False)
    assert load_settings(tmp_path).web_warm_seconds == 5
    monkeypatch.setenv("CONTROL_TOWER_WEB_DUCKDB_MEMORY", "300MiB")
    monkeypatch.setenv("CONTROL_TOWER_WEB_WARM_SECONDS", "0")
    settings = load_settings(tmp_path)
    assert settings.web_duckdb.memory_bytes == 300 * MIB
    assert settings.web_warm_seconds == 0
    monkeypatch.setenv("CONTROL_TOWER_WEB_DUCKDB_MEMORY", "64GiB")  # never above the pipeline's
    assert load_settings(tmp_path).web_duckdb.memory_bytes == settings.duckdb.memory_bytes


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEB_DUCKDB_MEMORY", "lots", r"WEB_DUCKDB_MEMORY='lots' must be a size such as 4GB"),
        ("WEB_DUCKDB_MEMORY", "10MiB", r"WEB_DUCKDB_MEMORY='10MiB' is 10485760 bytes: DuckDB"),
        ("WEB_WARM_SECONDS", "-1", r"WEB_WARM_SECONDS='-1' must be a whole number, 0 or more"),
    ],
)
def test_bad_web_memory_and_warming_are_refused_by_name(
    tmp_path, monkeypatch, name, value, message
):
    monkeypatch.setenv(f"CONTROL_TOWER_{name}", value)
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path)
