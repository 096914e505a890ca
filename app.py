"""The control tower web app, for WSGI servers: `waitress-serve app:server`, `gunicorn app:server`.

Settings come from the environment through `control_tower.settings` (the
data folder is CONTROL_TOWER_HOME). `control-tower serve --host --port` runs
the same app; `python app.py` serves it on http://127.0.0.1:8050/.
"""

from __future__ import annotations

from control_tower.settings import load_settings
from control_tower.web import create_app, serve_app

app = create_app(load_settings())
server = app.server

if __name__ == "__main__":
    serve_app(app, host="127.0.0.1", port=8050)
