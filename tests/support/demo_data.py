"""The small generated demo the tests share: its seed, its fixed as-of date, how it is landed.

The extract is taken at a fixed date (DEMO_AS_OF, a Wednesday: waves, receipts
and put-aways are in flight, as on a working day) so that what a test sees does
not depend on the day it runs; the product's clock is set to the same day
(DEMO_NOW, through CONTROL_TOWER_NOW) wherever the app asks for "now".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from control_tower.demo import generate
from control_tower.settings import Settings, load_settings
from pipelines.run import run_pipeline
from tests.support.web_users import add_test_users

DEMO_SEED = 7
DEMO_SCALE = "small"
DEMO_AS_OF = dt.date(2026, 3, 18)
# The extract is taken at 10:00 UTC on as_of; the app reads it an hour later.
DEMO_NOW = dt.datetime(2026, 3, 18, 11, 0)


def land_demo(home: Path) -> Settings:
    """A data folder at `home` with the demo generated, landed and published through the
    whole pipeline (exceptions detected, risk models trained and scored), plus one test
    user per role."""
    settings = load_settings(home).with_home(home)
    generate(home / "drop", seed=DEMO_SEED, scale=DEMO_SCALE, as_of=DEMO_AS_OF)
    report = run_pipeline(settings, trigger="cli", inbox=home / "drop")
    assert report.status == "ok", report.steps
    add_test_users(settings)
    return settings
