"""Web app load benchmark: server time of each page's callbacks with concurrent users.

    python benchmarks/web.py [--scale medium] [--users 20] [--rounds 10] [--threads 8]
                             [--workdir bench-out/web]

1. Lands the demo data of `--scale` once (extracts and the landed folder are
   reused when they exist; `--reland` starts over).
2. Serves the app with waitress on a loopback port (`--threads` worker threads,
   as `control-tower serve` does).
3. Records what a real browser sends: Debian's chromium (Playwright) opens
   every page as a user of a role allowed on it and keeps each
   `/_dash-update-component` request it makes (the page's layout, its data
   callbacks, the grid's first block).
4. Replays those requests from `--users` concurrent clients, each with its own
   signed-in session, `--rounds` times each, and prints p50 / p95 / max of the
   time from sending a request to the last byte of its answer, per page and
   callback, and overall. The clients and the server share this machine's
   cores, so the figures include that contention. Target: p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from argon2.profiles import CHEAPEST  # noqa: E402

from control_tower.accounts import AccountStore  # noqa: E402
from control_tower.settings import Settings, load_settings  # noqa: E402
from control_tower.web import create_app, make_server  # noqa: E402
from pipelines.run import run_pipeline  # noqa: E402

PASSWORD = "benchmark password 1234"
CHROMIUM = "/usr/bin/chromium"
TARGET_P95_MS = 300.0
# Role used to record each page (the first that may open it).
ROLE_ORDER = ("executive", "warehouse_supervisor", "planner", "finance", "admin")


def _landed(args: argparse.Namespace) -> Settings:
    extracts = args.workdir / f"extracts-{args.scale}-{args.seed}"
    if not extracts.exists():
        from control_tower.demo.generator import generate

        t0 = time.perf_counter()
        generate(extracts, seed=args.seed, scale=args.scale)
        print(f"generated {args.scale} demo data in {time.perf_counter() - t0:.1f}s")
    home = args.workdir / f"home-{args.scale}-{args.seed}"
    if args.reland:
        shutil.rmtree(home, ignore_errors=True)
    settings = load_settings(home).with_home(home)
    if not any(settings.serving_dir.glob("snapshot-*.duckdb")):
        t0 = time.perf_counter()
        report = run_pipeline(settings, trigger="cli", inbox=extracts, keep=True)
        print(
            f"landed {report.ingest.rows_loaded:,} rows with every post-load step "
            f"in {time.perf_counter() - t0:.1f}s ({report.status})"
        )
    return settings


def _accounts(settings: Settings) -> AccountStore:
    return AccountStore.open(settings.app_db_url, hasher=PasswordHasher.from_parameters(CHEAPEST))


def _users(settings: Settings) -> dict[str, str]:
    """One benchmark user per role (the supervisor scoped to DC-NJ, as in the demo)."""
    names = {}
    with _accounts(settings) as accounts:
        for role in ROLE_ORDER:
            name = f"bench-{role}"
            if accounts.get(name) is None:
                locations = ["DC-NJ"] if role == "warehouse_supervisor" else []
                accounts.create_user(name, role, PASSWORD, locations=locations)
            names[role] = name
    return names


def _sign_in(url: str, name: str) -> requests.Session:
    import re

    session = requests.Session()
    page = session.get(url + "/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = session.post(
        url + "/login", data={"csrf_token": csrf, "name": name, "password": PASSWORD}
    )
    answer.raise_for_status()
    return session


def _record(url: str, cookies: dict[str, str], paths: list[tuple[str, str]]) -> list[dict]:
    """Open each (role, path) in chromium; the callback requests each page load makes."""
    from playwright.sync_api import sync_playwright

    recorded: list[dict] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for role, path in paths:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.add_cookies([{"name": "ct_session", "value": cookies[role], "url": url}])
            page = context.new_page()
            seen: list[dict] = []

            def keep(request: Any, seen: list[dict] = seen) -> None:
                if "/_dash-update-component" in request.url and request.method == "POST":
                    seen.append(json.loads(request.post_data or "{}"))

            page.on("request", keep)
            page.goto(url + path, wait_until="networkidle")
            page.wait_for_timeout(1500)  # timers, the grid's first block
            if not seen:
                print(f"  no callbacks recorded on {path} (as {role}): landed on {page.url}")
            context.close()
            for body in seen:
                recorded.append({"role": role, "path": path, "body": body})
        browser.close()
    return recorded


def _label(body: dict) -> str:
    output = body.get("output", "")
    return output if len(output) <= 60 else output[:57] + "..."


def _replay(
    url: str, clients: list[dict[str, requests.Session]], recorded: list[dict], rounds: int
) -> dict[tuple[str, str], list[float]]:
    """Each client replays every recorded request `rounds` times, in its own shuffled order,
    with the session of the role that recorded it."""
    import random

    timings: dict[tuple[str, str], list[float]] = defaultdict(list)
    lock = threading.Lock()
    failures: list[str] = []

    def client(index: int) -> None:
        sessions = clients[index]
        order = random.Random(index)
        for _ in range(rounds):
            todo = list(recorded)
            order.shuffle(todo)
            for rec in todo:
                session = sessions[rec["role"]]
                t0 = time.perf_counter()
                answer = session.post(url + "/_dash-update-component", json=rec["body"])
                _ = answer.content
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if answer.status_code not in (200, 204):
                        failures.append(
                            f"{rec['path']} {_label(rec['body'])}: {answer.status_code}"
                        )
                    timings[(rec["path"], _label(rec["body"]))].append(ms)

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        list(pool.map(client, range(len(clients))))
    if failures:
        print(f"{len(failures)} failed requests, e.g. {failures[:3]}")
    return timings


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    """Land, serve, record, replay, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench-out" / "web")
    parser.add_argument("--reland", action="store_true")
    args = parser.parse_args()
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" notes

    settings = _landed(args)
    users = _users(settings)
    app = create_app(settings, accounts=_accounts(settings))
    server = make_server(app, host="127.0.0.1", port=0, threads=args.threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    try:
        cookies = {role: _sign_in(url, name).cookies["ct_session"] for role, name in users.items()}
        paths = []
        import dash

        from control_tower.web.auth import page_roles

        for page in dash.page_registry.values():
            role = next((r for r in ROLE_ORDER if r in page_roles(page)), None)
            template = page.get("path_template")
            if role is None or template:
                continue  # detail pages are benchmarked through their list pages' links
            paths.append((role, page["path"]))
        t0 = time.perf_counter()
        recorded = _record(url, cookies, paths)
        print(
            f"recorded {len(recorded)} callback requests on {len(paths)} pages "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        roles = sorted({rec["role"] for rec in recorded})
        clients = [{role: _sign_in(url, users[role]) for role in roles} for _ in range(args.users)]
        t0 = time.perf_counter()
        timings = _replay(url, clients, recorded, args.rounds)
        wall = time.perf_counter() - t0
        everything = [ms for values in timings.values() for ms in values]
        print(
            f"\n{args.users} concurrent users, {args.rounds} rounds, waitress threads "
            f"{args.threads}, scale {args.scale}: {len(everything):,} requests in {wall:.1f}s"
        )
        print(f"{'page':<16} {'callback (outputs)':<62} {'n':>5} {'p50':>7} {'p95':>7} {'max':>7}")
        worst = 0.0
        for (path, label), values in sorted(timings.items()):
            p95 = _pct(values, 0.95)
            worst = max(worst, p95)
            print(
                f"{path:<16} {label:<62} {len(values):>5} {statistics.median(values):>6.0f}ms "
                f"{p95:>6.0f}ms {max(values):>6.0f}ms"
            )
        print(
            f"\nall callbacks: p50 {statistics.median(everything):.0f} ms, "
            f"p95 {_pct(everything, 0.95):.0f} ms; worst callback p95 {worst:.0f} ms "
            f"(target {TARGET_P95_MS:.0f} ms: {'met' if worst < TARGET_P95_MS else 'NOT met'})"
        )
    finally:
        server.close()


if __name__ == "__main__":
    main()
