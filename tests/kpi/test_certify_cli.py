"""`control-tower kpi certify NAME --by USER`: a kpi_owner signs off the current version; the
listing shows who; anyone else is refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from click.testing import CliRunner, Result

from control_tower.accounts import AccountStore
from control_tower.cli import main
from control_tower.exceptions.store import ExceptionStore
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.signoffs import read_signoffs
from control_tower.settings import load_settings

PASSWORD = "a long enough password"


def invoke(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), "kpi", *args])


def test_a_kpi_owner_certifies_a_draft_and_the_listing_names_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = load_settings(home).with_home(home)
    hasher = PasswordHasher.from_parameters(CHEAPEST)
    with AccountStore.open(settings.app_db_url, hasher=hasher) as accounts:
        accounts.create_user("eve", "executive", PASSWORD)
        accounts.grant("eve", "kpi_owner")
        accounts.create_user("pat", "planner", PASSWORD)
        accounts.create_user("old", "executive", PASSWORD)
        accounts.grant("old", "kpi_owner")
        accounts.disable("old")

    refused = invoke(home, "certify", "backorder_aging", "--by", "pat")
    assert refused.exit_code == 1
    assert "pat may not certify KPIs: signing off a KPI version needs the kpi_owner" in (
        refused.output
    )
    assert "no user 'nobody'" in invoke(home, "certify", "inventory_turns", "--by", "nobody").output
    assert "is disabled" in invoke(home, "certify", "inventory_turns", "--by", "old").output

    done = invoke(home, "certify", "backorder_aging", "--by", "eve", "--note", "buckets checked")
    assert done.exit_code == 0, done.output
    kpi = load_catalog().kpi("backorder_aging")
    assert (
        f"backorder_aging v1 (content {kpi.content_hash[:12]}) is certified: signed off by eve"
        in (done.output)
    )
    with ExceptionStore.open(settings.app_db_url) as db:
        (signoff,) = read_signoffs(db)
    assert (
        signoff.kpi,
        signoff.version,
        signoff.content_hash,
        signoff.signed_by,
        signoff.note,
    ) == (
        "backorder_aging",
        1,
        kpi.content_hash,
        "eve",
        "buckets checked",
    )

    listed = invoke(home, "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert (rows["backorder_aging"]["status"], rows["backorder_aging"]["signed_off_by"]) == (
        "certified",
        "eve",
    )
    assert (rows["inventory_turns"]["status"], rows["inventory_turns"]["signed_off_by"]) == (
        "draft",
        None,
    )
    again = invoke(home, "certify", "backorder_aging", "--by", "eve")
    assert again.exit_code == 1
    assert "backorder_aging v1 is already certified: signed off by eve" in again.output
