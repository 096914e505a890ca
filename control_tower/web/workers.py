"""Serving the app: one waitress process, or several gunicorn worker processes.

One Python process runs one callback at a time on its interpreter (the GIL):
threads help only while a request waits on DuckDB or the app database. To use
every core, `serve_app` with `workers` > 1 runs gunicorn's pre-fork server:
the app is built once in the master (imports, page registry, catalog), then
forked into `workers` processes of `threads` threads each (gthread workers),
which share the imported code copy-on-write.

Each worker has its own `WebContext`: its own serving connection, app-database
pool and snapshot caches, and its own `warm.SnapshotWatcher`, a thread that
computes the common answers of each new snapshot before users ask for them
(started in the process that serves: waitress's, or each gunicorn worker
after the fork, since threads do not survive a fork). The master opens
nothing it hands down: it releases every connection before forking, and
each worker opens its own on first use. Sessions work across workers (a signed cookie naming a session in
the app database). The sign-in throttle and the KPI computation budget count
per worker (`throttle`): with N workers, a client spread over them gets up to
N times the allowance; the account lockout kept in the app database is shared.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from control_tower.web.runtime import EXTENSION_KEY
from control_tower.web.shell import PRODUCT_NAME
from control_tower.web.warm import stop_watching, watch

__all__ = ["make_server", "serve_app"]

WORKER_TIMEOUT_S = 120  # a worker silent this long (a stuck request) is replaced
# Idle keep-alive connections are kept longer than clients and proxies keep theirs (nginx: 60 s),
# so that the client closes first: a request sent on a connection the server has just closed
# would fail.
KEEPALIVE_S = 75


def make_server(
    app: dash.Dash, *, host: str, port: int, threads: int = 8
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server for the app, bound but not yet running (`.run()`, `.close()`)."""
    return create_server(app.server, host=host, port=port, threads=threads, ident=PRODUCT_NAME)


def serve_app(app: dash.Dash, *, host: str, port: int, threads: int = 8, workers: int = 1) -> None:
    """Serve the app until interrupted: waitress in this process when `workers` is 1,
    else gunicorn with `workers` processes of `threads` threads each."""
    if workers < 1 or threads < 1:
        raise ValueError(f"workers ({workers}) and threads ({threads}) must be 1 or more")
    context = app.server.extensions[EXTENSION_KEY]
    warm_s = context.settings.web_warm_seconds
    if workers == 1:
        server = make_server(app, host=host, port=port, threads=threads)
        watch(app.server, warm_s)
        try:
            server.run()
        finally:
            server.close()
            stop_watching(app.server)
            context.close()
        return
    context.close()  # nothing opened here is handed down to the workers
    try:
        _gunicorn(app, bind(host, port), workers=workers, threads=threads, warm_s=warm_s).run()
    finally:
        context.close()


def bind(host: str, port: int) -> str:
    """gunicorn's address for a host and port (IPv6 literals in brackets)."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _gunicorn(app: dash.Dash, address: str, *, workers: int, threads: int, warm_s: float) -> Any:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # gunicorn runs on Unix only
        raise RuntimeError(
            f"several web workers need gunicorn ({exc}); on this system set "
            "CONTROL_TOWER_WEB_WORKERS=1 to serve with waitress in one process"
        ) from None

    class PreforkServer(BaseApplication):
        """gunicorn over the app built in this process (forked into its workers)."""

        def load_config(self) -> None:
            options = {
                "bind": [address],
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": WORKER_TIMEOUT_S,
                "graceful_timeout": 30,
                "keepalive": KEEPALIVE_S,
                "proc_name": "control-tower-web",
                "errorlog": "-",
                "loglevel": logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
                # Each worker warms new snapshots in a thread of its own, stopped as it exits.
                "post_worker_init": lambda _worker: watch(app.server, warm_s),
                "worker_exit": lambda _server, _worker: stop_watching(app.server),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app.server

    return PreforkServer()
