"""`python3 tasks.py bench` runs every benchmark of benchmarks/ with arguments it accepts; `test`
runs the web tests a second time on a PostgreSQL app database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tasks  # the repository's task runner (the tests run from the repository root)

REPO = Path(__file__).resolve().parents[2]


def test_bench_knows_every_benchmark() -> None:
    assert set(tasks.BENCHMARKS) == {p.stem for p in (REPO / "benchmarks").glob("*.py")}


@pytest.mark.parametrize("name", sorted(tasks.BENCHMARKS))
def test_quick_arguments_are_options_of_the_benchmark(name: str) -> None:
    shown = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / f"{name}.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    for option in (a for a in tasks.BENCHMARKS[name] if a.startswith("--")):
        assert option in shown, f"{name}: {option}"


def test_bench_refuses_an_unknown_benchmark() -> None:
    with pytest.raises(SystemExit, match="no benchmark 'nope'; known: landing, kpi"):
        tasks.bench(["nope"])


def _test_commands(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> list[tuple]:
    ran: list[tuple] = []
    monkeypatch.setattr(tasks, "lint", lambda: None)
    monkeypatch.setattr(
        tasks,
        "sh",
        lambda *cmd, env=None, **_kw: ran.append((cmd, (env or {}).get("CT_TEST_APP_DB"))),
    )
    tasks.test(args)
    return ran


def test_the_full_test_run_repeats_the_web_tests_on_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (suite, suite_db), (web, web_db) = _test_commands(monkeypatch, [])
    assert suite[1:3] == ("-m", "pytest")
    assert suite_db is None
    assert web_db == "postgresql"
    assert "tests/web" in web
    assert "--ignore-glob=*_browser.py" in web


def test_a_selected_test_run_is_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    [(command, _db)] = _test_commands(monkeypatch, ["-k", "upsert"])
    assert command[-2:] == ("-k", "upsert")


@pytest.mark.parametrize(
    ("given", "run"),
    [
        ([], ["-n", "auto", "--dist", "loadscope"]),
        (["-k", "upsert"], ["-n", "auto", "--dist", "loadscope", "-k", "upsert"]),
        (["-n", "0"], ["-n", "0"]),
        (["-n4"], ["-n4"]),
        (["--numprocesses=2", "-x"], ["--numprocesses=2", "-x"]),
        (["-p", "no:xdist"], ["-p", "no:xdist"]),
    ],
)
def test_tests_run_one_worker_per_core_unless_told(given: list[str], run: list[str]) -> None:
    assert tasks._parallel(given) == run
