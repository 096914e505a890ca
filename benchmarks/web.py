"""Web app load benchmark: server time of each page's callbacks with concurrent users.

    python benchmarks/web.py [--scale medium] [--users 20] [--rounds 5] [--think 1.0]
                             [--workers 2] [--threads 4] [--workdir bench-out/web] [--reland]

1. Lands the demo data of `--scale` once (extracts and the landed folder are
   reused when they exist; `--reland` starts over).
2. Serves the app in its own process as `control-tower serve` does
   (`--workers` gunicorn processes of `--threads` threads each; 1 worker:
   waitress in one process), so the clients do not share its interpreter.
3. Records what a real browser sends: Debian's chromium (Playwright) opens
   every page as a user of a role allowed on it and keeps each
   `/_dash-update-component` request it makes (the page's layout, its data
   callbacks, the grid's first block).
4. `--users` concurrent clients, each with its own signed-in sessions, visit
   every page `--rounds` times in their own order: a visit sends the page's
   recorded requests one after the other, then the user pauses (`--think`
   seconds on average, exponentially distributed; 0 hammers the server).
5. Prints, per page and callback, p50 and p95 of the server time (the app's
   `Server-Timing` header: from the first request hook to the answer,
   authorisation included) and p95 of the round trip seen by the client, then
   and the mean size of its answer, then the same over all callbacks, and
   the resident memory of each server process at the end. The clients and
   the server share this machine's cores. Target: p95 server time under
   300 ms.
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
from support.demo import demo_extracts  # noqa: E402

from control_tower.accounts import AccountStore  # noqa: E402
from control_tower.roles import ROLES  # noqa: E402
from control_tower.settings import Settings, available_cores, load_settings  # noqa: E402
from control_tower.web import create_app, serve_app  # noqa: E402
from pipelines.run import run_pipeline  # noqa: E402

PASSWORD = "benchmark password 1234"
CHROMIUM = "/usr/bin/chromium"
TARGET_P95_MS = 300.0
# Role used to record each page (the first that may open it).
ROLE_ORDER = ROLES


def _landed(args: argparse.Namespace) -> Settings:
    extracts, _ = demo_extracts(args.workdir, args.scale, args.seed)
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


def _detail_paths(settings: Settings) -> dict[str, str]:
    """A real record for each detail page: the top-ranked stockout risk, the most valuable
    open exception, the first certified KPI."""
    import duckdb
    from sqlalchemy import create_engine, text

    from control_tower.storage.serving import current_snapshot, open_snapshot

    paths = {"/kpi/<name>": "/kpi/line_fill_rate"}
    snapshot = current_snapshot(settings.serving_dir)
    if snapshot is not None:
        with open_snapshot(snapshot) as con:
            try:
                row = con.execute(
                    "SELECT location_id, item_id FROM risk.stockout_scores "
                    "ORDER BY risk_value DESC NULLS LAST LIMIT 1"
                ).fetchone()
            except duckdb.Error:
                row = None
        if row:
            paths["/planner/<location_id>/<item_id>"] = f"/planner/{row[0]}/{row[1]}"
    engine = create_engine(settings.app_db_url)
    try:
        with engine.connect() as con:
            item = con.execute(
                text(
                    "SELECT id FROM exc_items WHERE status <> 'resolved' "
                    "ORDER BY value_at_risk DESC LIMIT 1"
                )
            ).scalar()
    finally:
        engine.dispose()
    if item is not None:
        paths["/exceptions/<item_id>"] = f"/exceptions/{item}"
    return paths


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
    url: str,
    clients: list[dict[str, requests.Session]],
    recorded: list[dict],
    rounds: int,
    think: float,
    sizes: dict[tuple[str, str], list[int]] | None = None,
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Each client visits every recorded page `rounds` times in its own shuffled order,
    sending that page's callback requests one after the other with the session of the
    role that recorded them, and pausing `think` seconds on average between visits.
    Per callback: (server time from the Server-Timing header, round trip) in ms; the size
    of each answer in bytes goes to `sizes`, when given."""
    import random

    visits: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for rec in recorded:
        visits[(rec["role"], rec["path"])].append(rec)
    timings: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    lock = threading.Lock()
    failures: list[str] = []

    def client(index: int) -> None:
        sessions = clients[index]
        rng = random.Random(index)
        time.sleep(rng.uniform(0, think))  # users do not all arrive at once
        for _ in range(rounds):
            pages = list(visits)
            rng.shuffle(pages)
            for role, path in pages:
                session = sessions[role]
                for rec in visits[(role, path)]:
                    t0 = time.perf_counter()
                    answer = session.post(url + "/_dash-update-component", json=rec["body"])
                    size = len(answer.content)
                    trip = (time.perf_counter() - t0) * 1000
                    server = _server_ms(answer.headers.get("Server-Timing", ""))
                    with lock:
                        if answer.status_code not in (200, 204):
                            failures.append(f"{path} {_label(rec['body'])}: {answer.status_code}")
                        timings[(path, _label(rec["body"]))].append((server, trip))
                        if sizes is not None:
                            sizes[(path, _label(rec["body"]))].append(size)
                if think:
                    time.sleep(rng.expovariate(1 / think))

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        list(pool.map(client, range(len(clients))))
    if failures:
        print(f"{len(failures)} failed requests, e.g. {failures[:3]}")
    return timings


def _server_ms(header: str) -> float:
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name == "app" and params.startswith("dur="):
            return float(params[4:])
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _serve(args: argparse.Namespace) -> None:
    """The server process: the app as `control-tower serve` runs it, until killed."""
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" notes
    settings = load_settings(args.home).with_home(args.home)
    app = create_app(settings, accounts=_accounts(settings))
    serve_app(app, host="127.0.0.1", port=args.port, threads=args.threads, workers=args.workers)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> dict[int, float]:
    """Resident memory (MB) of process `pid` and of its children (Linux /proc)."""
    found = {}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                found[pid] = int(line.split()[1]) / 1024
    except OSError:
        return found
    for child in children:
        found.update(_rss_mb(int(child)))
    return found


def _start_server(settings: Settings, threads: int, workers: int | None = None) -> tuple[Any, str]:
    """The app served in another process (`workers`: default one per core); (process, url)."""
    import subprocess

    port = _free_port()
    log = settings.home.parent / "server.log"  # the server's own messages, for when it fails
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--home",
            str(settings.home),
            "--port",
            str(port),
            "--threads",
            str(threads),
            "--workers",
            str(workers or available_cores()),
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/login", timeout=2)
            return proc, url
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise SystemExit("the app server did not start") from None
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app server did not answer within 120 s")


def record_pages(settings: Settings, url: str, users: dict[str, str]) -> list[dict]:
    """The callback requests a browser makes on every page (each opened as the first role
    of ROLE_ORDER allowed on it; a detail page on one real record), recorded on `url`."""
    import dash

    from control_tower.web.auth import page_roles

    create_app(settings, accounts=_accounts(settings))  # fills the page registry
    cookies = {role: _sign_in(url, name).cookies["ct_session"] for role, name in users.items()}
    paths = []
    details = _detail_paths(settings)
    for page in dash.page_registry.values():
        role = next((r for r in ROLE_ORDER if r in page_roles(page)), None)
        if role is None:
            continue
        template = page.get("path_template")
        if template:  # a detail page: one real record of the landed data
            path = details.get(template)
            if path is None:
                print(f"  no record to open {template} with; left out")
                continue
            paths.append((role, path))
        else:
            paths.append((role, page["path"]))
    t0 = time.perf_counter()
    recorded = _record(url, cookies, paths)
    print(
        f"recorded {len(recorded)} callback requests on {len(paths)} pages "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    return recorded


def replay_users(
    url: str,
    users: dict[str, str],
    recorded: list[dict],
    count: int,
    rounds: int,
    think: float,
    sizes: dict[tuple[str, str], list[int]] | None = None,
) -> tuple[dict[tuple[str, str], list[tuple[float, float]]], float]:
    """`count` signed-in clients replay `recorded` (see `_replay`); the timings and wall time.
    Answer sizes go to `sizes` when given."""
    roles = sorted({rec["role"] for rec in recorded})
    clients = [{role: _sign_in(url, users[role]) for role in roles} for _ in range(count)]
    t0 = time.perf_counter()
    timings = _replay(url, clients, recorded, rounds, think, sizes)
    return timings, time.perf_counter() - t0


def main() -> None:
    """Land, serve (another process), record, replay, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between pages")
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench-out" / "web")
    parser.add_argument("--reland", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args)
        return

    settings = _landed(args)
    users = _users(settings)
    proc, url = _start_server(settings, args.threads, args.workers)
    try:
        recorded = record_pages(settings, url, users)
        sizes: dict[tuple[str, str], list[int]] = defaultdict(list)
        timings, wall = replay_users(
            url, users, recorded, args.users, args.rounds, args.think, sizes
        )
        server_all = [st for values in timings.values() for st, _ in values]
        trips_all = [rt for values in timings.values() for _, rt in values]
        print(
            f"\n{args.users} concurrent users, {args.rounds} visits of every page each, "
            f"{args.think:.1f} s mean pause between pages, {args.workers} workers of "
            f"{args.threads} threads, "
            f"scale {args.scale}: {len(server_all):,} requests in {wall:.1f}s "
            f"({len(server_all) / wall:.0f}/s)"
        )
        print(
            f"{'page':<12} {'callback (outputs)':<62} {'n':>4} "
            f"{'server p50':>10} {'p95':>6} {'trip p95':>9} {'KB':>6}"
        )
        worst = 0.0
        for (path, label), values in sorted(timings.items()):
            server = [st for st, _ in values]
            kb = statistics.mean(sizes[(path, label)]) / 1024
            p95 = _pct(server, 0.95)
            worst = max(worst, p95)
            print(
                f"{path:<12} {label:<62} {len(values):>4} {statistics.median(server):>8.0f}ms "
                f"{p95:>4.0f}ms {_pct([rt for _, rt in values], 0.95):>7.0f}ms {kb:>6.1f}"
            )
        print(
            f"\nserver time, all callbacks: p50 {statistics.median(server_all):.0f} ms, "
            f"p95 {_pct(server_all, 0.95):.0f} ms (round trip p95 {_pct(trips_all, 0.95):.0f} ms); "
            f"worst callback p95 {worst:.0f} ms "
            f"(target {TARGET_P95_MS:.0f} ms: {'met' if worst < TARGET_P95_MS else 'NOT met'})"
        )
        rss = _rss_mb(proc.pid)
        print(
            "server resident memory: "
            + ", ".join(f"{mb:.0f} MB" for mb in rss.values())
            + f" (master first; largest {max(rss.values(), default=0):.0f} MB)"
        )
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
