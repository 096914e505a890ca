#!/usr/bin/env python3
"""Project tasks: set up, run the demo, test, lint, benchmark. Needs only Python 3.11+ and apt.

    python3 tasks.py demo     set up .venv and run the product on demo data
    python3 tasks.py test     set up .venv and system packages, lint and run the tests (then the
                              web tests again on a PostgreSQL app database)
    python3 tasks.py lint     ruff check and format check
    python3 tasks.py format   ruff format and autofix
    python3 tasks.py bench    every benchmark in benchmarks/, one after the other, on small data
                              (`bench NAME [ARGS]` runs one; ARGS override its quick defaults)
    python3 tasks.py setup    only create .venv and install the project
    python3 tasks.py clean    remove .venv, caches and the demo data folder

Arguments after the task name are passed on (e.g. `python3 tasks.py test -k upsert`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
STAMP = VENV / ".installed"

# Debian packages the tests drive: a real browser for the UI tests, and a PostgreSQL server
# the SQL source, migration and writer-lock tests and the PostgreSQL web pass start
# (tests/support/postgres.py).
TEST_APT_PACKAGES = {
    "chromium": "/usr/bin/chromium",
    "postgresql": "/usr/lib/postgresql/15/bin/initdb",
    # Java for the Spark engine's tests (pyspark runs Spark in a local JVM).
    "openjdk-17-jre-headless": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
}


# Every benchmark of benchmarks/ with arguments that finish in minutes on 2 cores; each script's
# own defaults measure the product at its target size (see its docstring).
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "landing": ("--rows", "200000"),
    "kpi": ("--scale", "small", "--home", "bench-out/kpi/home-small", "--repeat", "1"),
    "exceptions": ("--scale", "small", "--queue-items", "20000"),
    "risk": ("--scale", "small"),
    "web": ("--scale", "small", "--users", "4", "--rounds", "1", "--think", "0"),
    "scale": ("--scale", "small", "--rounds", "1"),
    "atp": ("--scale", "small", "--limit", "200"),
    "kpi_delta": ("--scale", "small", "--repeat", "1"),
    "engines": ("--scale", "small", "--home", "bench-out/engines/home-small"),
}


def sh(*cmd: str | Path, check: bool = True, env: dict[str, str] | None = None) -> int:
    """Run a command, echoing it; exit with its code on failure when `check`."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)
    if check and code != 0:
        sys.exit(code)
    return code


def _apt_install(*packages: str) -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    if sudo and shutil.which("sudo") is None:
        sys.exit(f"please install these Debian packages as root: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sh(*sudo, "apt-get", "update", "-qq", env=env)
    sh(*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages, env=env)


def setup(dev: bool = False) -> None:
    """Create .venv and install the project (editable), reinstalling when pyproject changes."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py runs before the venv exists
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    if not PY.exists() and subprocess.call([sys.executable, "-m", "venv", str(VENV)]) != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        _apt_install("python3-venv")
        sh(sys.executable, "-m", "venv", VENV)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest() + (
        "+dev" if dev else ""
    )
    have = STAMP.read_text() if STAMP.exists() else ""
    if have == want or (not dev and have.startswith(want)):
        return
    sh(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    sh(PY, "-m", "pip", "install", "-q", "-e", ".[dev]" if dev else ".")
    STAMP.write_text(want)


def system_test_deps() -> None:
    """Install the Debian packages the tests need, when missing."""
    missing = [pkg for pkg, path in TEST_APT_PACKAGES.items() if not Path(path).exists()]
    if missing:
        _apt_install(*missing)


# The second pass of `test`: the web tests (not the browser ones, in *_browser.py) once more with
# a PostgreSQL app database (tests/support/app_databases.py), so both supported databases serve
# the pages and the API.
POSTGRES_WEB_PASS = ("tests/web", "--ignore-glob=*_browser.py", "-q")


def test(args: list[str]) -> None:
    """Lint, the suite (or what `args` select), then the PostgreSQL web pass on a full run."""
    lint()
    sh(PY, "-m", "pytest", *_parallel(args))
    if not args:
        sh(
            PY,
            "-m",
            "pytest",
            *POSTGRES_WEB_PASS,
            env={**os.environ, "CT_TEST_APP_DB": "postgresql"},
        )


def lint() -> None:
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")


def bench(args: list[str]) -> None:
    """Run every benchmark with its quick arguments, or the one named first with `args` added.

    Every benchmark runs even when one fails; the task fails if any did.
    """
    if args and args[0] not in BENCHMARKS:
        sys.exit(f"no benchmark {args[0]!r}; known: {', '.join(BENCHMARKS)}")
    names = [args[0]] if args else list(BENCHMARKS)
    failed = []
    for name in names:
        print(f"\n=== benchmark {name} ===", flush=True)
        if sh(PY, ROOT / "benchmarks" / f"{name}.py", *BENCHMARKS[name], *args[1:], check=False):
            failed.append(name)
    if failed:
        sys.exit(f"benchmark(s) failed: {', '.join(failed)}")


def _parallel(args: list[str]) -> list[str]:
    """pytest arguments with one worker per core (pytest-xdist), unless `args` choose."""
    chosen = "no:xdist" in args or any(
        a.startswith(("-n", "--numprocesses", "--dist")) for a in args
    )
    return args if chosen else ["-n", "auto", "--dist", "loadscope", *args]


def main(argv: list[str]) -> None:
    task, args = (argv[0], argv[1:]) if argv else ("help", [])
    if task == "setup":
        setup(dev="--dev" in args)
    elif task == "demo":
        setup()
        os.execv(BIN / "control-tower", [str(BIN / "control-tower"), "demo", *args])
    elif task == "test":
        setup(dev=True)
        system_test_deps()
        test(args)
    elif task == "lint":
        setup(dev=True)
        lint()
    elif task == "format":
        setup(dev=True)
        sh(BIN / "ruff", "check", "--fix", ".")
        sh(BIN / "ruff", "format", ".")
    elif task == "bench":
        setup(dev=True)
        system_test_deps()  # the web benchmark drives chromium
        bench(args)
    elif task == "clean":
        for path in (VENV, ROOT / "data", ROOT / ".pytest_cache", ROOT / ".ruff_cache"):
            shutil.rmtree(path, ignore_errors=True)
    else:
        print(__doc__)
        sys.exit(0 if task in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
