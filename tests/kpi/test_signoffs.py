"""KPI sign-off: only a kpi_owner certifies; a sign-off binds one version and content; a changed
definition is a draft again; the shipped catalog certifies nothing without a sign-off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from control_tower.accounts import Account, Scope
from control_tower.exceptions.store import ExceptionStore
from control_tower.kpi.catalog import Catalog, CatalogError, load_catalog
from control_tower.kpi.certification import SIGNOFF_LOG, read_signoff_log
from control_tower.kpi.signoffs import (
    KpiSignOff,
    SignOffError,
    SignOffNotAllowedError,
    certify,
    read_signoffs,
)
from tests.support.kpi_rows import edit

T0 = datetime(2026, 12, 1, 9, 30)


def person(name: str, *permissions: str, role: str = "executive") -> Account:
    return Account(
        id=1,
        name=name,
        role=role,
        scope=Scope(),
        disabled=False,
        failed_attempts=0,
        locked_until=None,
        created_at=T0,
        last_login_at=None,
        permissions=frozenset(permissions),
    )


OWNER = person("eve", "kpi_owner")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[ExceptionStore]:
    with ExceptionStore.open(f"sqlite:///{tmp_path / 'app.sqlite'}") as store:
        yield store


def catalog_of(root: Path, db: ExceptionStore) -> Catalog:
    """The catalog under `root` with the app database's sign-offs, as every page reads it."""
    return load_catalog(root).with_signoffs(read_signoffs(db))


def rows(db: ExceptionStore) -> list[KpiSignOff]:
    with db.session() as s:
        return list(s.query(KpiSignOff))


def test_a_user_without_kpi_owner_is_refused_and_nothing_is_recorded(root, db) -> None:
    planner_lead = person("lee", "planner_lead", role="planner")
    with pytest.raises(SignOffNotAllowedError) as refused:
        certify(db, catalog_of(root, db), "backorder_aging", planner_lead, note="looks fine")
    assert str(refused.value) == (
        "lee may not certify KPIs: signing off a KPI version needs the kpi_owner permission "
        "(control-tower users grant lee kpi_owner)"
    )
    assert rows(db) == []
    assert catalog_of(root, db).kpi("backorder_aging").status == "draft"


def test_a_sign_off_certifies_that_version_and_content(root, db) -> None:
    before = catalog_of(root, db).kpi("backorder_aging")
    assert (before.status, before.signoff) == ("draft", None)
    signoff = certify(
        db, catalog_of(root, db), "backorder_aging", OWNER, note="  checked buckets ", now=T0
    )
    assert (signoff.kpi, signoff.version, signoff.content_hash) == (
        "backorder_aging",
        1,
        before.content_hash,
    )
    (row,) = rows(db)  # the audit record: who, with which role, when, why
    assert (row.signed_by, row.role, row.signed_at, row.note) == (
        "eve",
        "executive",
        T0,
        "checked buckets",
    )
    after = catalog_of(root, db).kpi("backorder_aging")
    assert after.status == "certified"
    assert after.signoff == signoff
    assert after.declared_status == "draft"  # the file is unchanged: the sign-off certifies


def test_a_changed_definition_falls_back_to_draft_until_its_new_version_is_signed_off(
    root, db
) -> None:
    first = certify(db, catalog_of(root, db), "backorder_aging", OWNER, now=T0)
    edit(root, "backorder_aging", "target: 3", "target: 4")
    edit(root, "backorder_aging", "version: 1", "version: 2")
    changed = catalog_of(root, db).kpi("backorder_aging")
    assert (changed.status, changed.signoff) == ("draft", None)
    assert changed.content_hash != first.content_hash
    # The sign-off of v1 stays (the audit trail), bound to v1's content.
    assert read_signoffs(db) == [first]
    signoff = certify(db, catalog_of(root, db), "backorder_aging", OWNER)
    assert (signoff.version, signoff.content_hash) == (2, changed.content_hash)
    assert catalog_of(root, db).kpi("backorder_aging").status == "certified"


def test_the_version_the_approver_saw_must_still_be_the_current_one(root, db) -> None:
    seen = catalog_of(root, db).kpi("backorder_aging")
    edit(root, "backorder_aging", "target: 3", "target: 4")
    with pytest.raises(SignOffError, match="changed since you opened it"):
        certify(
            db,
            catalog_of(root, db),
            "backorder_aging",
            OWNER,
            seen=(seen.version, seen.content_hash),
        )
    assert rows(db) == []


@pytest.mark.parametrize(
    ("name", "prepare", "message"),
    [
        ("no_such_kpi", None, "no KPI 'no_such_kpi' in the catalog"),
        ("line_fill_rate", None, "line_fill_rate v1 is already certified: signed off by"),
        (
            "backorder_aging",
            ("status: draft", "status: deprecated"),
            "backorder_aging is deprecated: a deprecated KPI is not certified",
        ),
    ],
)
def test_what_cannot_be_signed_off_says_why(root, db, name, prepare, message) -> None:
    if prepare:
        edit(root, name, *prepare)
    with pytest.raises(SignOffError, match=message):
        certify(db, catalog_of(root, db), name, OWNER)
    assert rows(db) == []


def test_a_second_sign_off_of_the_same_version_is_refused(root, db) -> None:
    certify(db, catalog_of(root, db), "backorder_aging", OWNER, now=T0)
    with pytest.raises(SignOffError, match="already certified: signed off by eve on 2026-12-01"):
        certify(db, catalog_of(root, db), "backorder_aging", person("ann", "kpi_owner"))


def test_the_shipped_catalog_certifies_no_kpi_without_a_sign_off() -> None:
    """Every definition shipped as certified is backed by the shipped log, at its current
    version and content; every entry of the log signs off a current definition."""
    catalog = load_catalog()
    declared = {k.name for k in catalog.kpis.values() if k.declared_status == "certified"}
    certified = {k.name for k in catalog.kpis.values() if k.status == "certified"}
    assert declared == certified
    log = read_signoff_log(catalog.root, catalog.kpis)
    assert {s.kpi for s in log} == certified
    for entry in log:
        kpi = catalog.kpi(entry.kpi)
        assert (entry.version, entry.content_hash) == (kpi.version, kpi.content_hash), entry
        assert kpi.signoff == entry
        assert entry.signed_by
        assert entry.note
    # Independently of the product's code: the log's text names each certified file's version.
    raw = yaml.safe_load((catalog.root / SIGNOFF_LOG).read_text())["signoffs"]
    for entry in raw:
        text = yaml.safe_load((catalog.root / f"{entry['kpi']}.yml").read_text())
        assert (text["status"], text["version"]) == ("certified", entry["version"])


def test_a_definition_saying_certified_without_a_sign_off_is_a_draft(root) -> None:
    edit(root, "backorder_aging", "status: draft", "status: certified")
    kpi = load_catalog(root).kpi("backorder_aging")
    assert (kpi.status, kpi.declared_status) == ("draft", "certified")


@pytest.mark.parametrize(
    ("entry", "line", "reason"),
    [
        ("  - kpi: no_such_kpi\n", 3, "no KPI 'no_such_kpi' in the catalog"),
        ("    version: 0\n", 3, "'version' must be a positive whole number, not 0"),
        ("    content_hash: abc\n", 3, "'content_hash' must be the 64 lowercase hex digits"),
        ("    signed_at: last week\n", 7, "'signed_at' must be the time of the sign-off in UTC"),
        ("    colour: red\n", 8, "unknown key 'colour'"),
    ],
)
def test_a_mistake_in_the_sign_off_log_is_refused_with_its_file_and_line(
    root, entry, line, reason
) -> None:
    good = {
        "  - kpi": "  - kpi: backorder_aging\n",
        "    version": "    version: 1\n",
        "    content_hash": f"    content_hash: {'a' * 64}\n",
        "    signed_by": "    signed_by: eve\n",
        "    signed_at": "    signed_at: 2026-12-01T09:30:00Z\n",
    }
    key = entry.split(":")[0]
    lines = [entry if k == key else v for k, v in good.items()]
    if key not in good:
        lines.append(entry)
    (root / SIGNOFF_LOG).write_text("# ours\nsignoffs:\n" + "".join(lines))
    with pytest.raises(CatalogError) as refused:
        load_catalog(root)
    (problem,) = refused.value.problems
    assert (problem.file, problem.line) == (f"kpi_definitions/{SIGNOFF_LOG}", line)
    assert reason in problem.reason


def test_the_same_version_signed_off_twice_in_the_log_is_refused(root) -> None:
    entry = (
        f"  - kpi: backorder_aging\n    version: 1\n    content_hash: {'a' * 64}\n"
        "    signed_by: eve\n    signed_at: 2026-12-01\n"
    )
    (root / SIGNOFF_LOG).write_text("signoffs:\n" + entry + entry)
    with pytest.raises(CatalogError, match="already signed off at line 2"):
        load_catalog(root)


def test_a_sign_off_in_the_log_with_an_offset_is_kept_in_utc(root) -> None:
    kpi = load_catalog(root).kpi("backorder_aging")
    (root / SIGNOFF_LOG).write_text(
        f"signoffs:\n  - kpi: backorder_aging\n    version: 1\n"
        f"    content_hash: {kpi.content_hash}\n    signed_by: eve\n"
        "    signed_at: 2026-12-01T10:30:00+01:00\n"
    )
    certified = load_catalog(root).kpi("backorder_aging")
    assert certified.status == "certified"
    assert certified.signoff is not None
    assert certified.signoff.signed_at == T0
