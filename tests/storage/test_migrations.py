"""App database migrations: a database made by the previous release is upgraded in place.

`tests/support/legacy_appdb.sql` is the schema release 0.1.0 created with
`metadata.create_all` on PostgreSQL, frozen (on SQLite the same statements with the type names
create_all gave SQLite: INTEGER for SERIAL, DATETIME for TIMESTAMP). Such a database (with rows) must come out of the upgrade with
its rows and with exactly the schema a new database gets (Alembic's `compare_metadata` against
the models finds nothing), on SQLite and on a real PostgreSQL server.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

import control_tower.actions.store
import control_tower.kpi.signoffs
import control_tower.notifications.store  # noqa: F401 - registers the action, sign-off and notification tables
from control_tower.accounts.models import Base as AccountBase
from control_tower.cli import main
from control_tower.exceptions.store import Base as ExceptionBase
from control_tower.exceptions.store import ExceptionStore
from control_tower.storage.appdb import open_app_engine
from control_tower.storage.migrate import (
    BASELINE,
    BASELINE_TABLES,
    current_revision,
    head_revision,
    history,
    is_app_table,
)
from tests.support.postgres import create_database

LEGACY = Path(__file__).resolve().parents[1] / "support" / "legacy_appdb.sql"
# create_all's type names on SQLite for those it wrote on PostgreSQL.
SQLITE_TYPES = {"SERIAL": "INTEGER", "TIMESTAMP WITHOUT TIME ZONE": "DATETIME"}
MODELS = [AccountBase.metadata, ExceptionBase.metadata]
T0 = datetime(2026, 3, 1, 9, 0)
_names = itertools.count()

ROWS = [
    (
        "acct_users",
        {
            "id": 1,
            "name": "ada",
            "role": "admin",
            "entity_ids": "[]",
            "location_ids": '["DC-NJ"]',
            "disabled": False,
            "password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "failed_attempts": 0,
            "created_at": T0,
            "password_changed_at": T0,
        },
    ),
    (
        "exc_items",
        {
            "id": 1,
            "type": "backorder",
            "key": "SO1|1",
            "status": "acknowledged",
            "severity": "high",
            "owner_role": "planner",
            "assignee": "ada",
            "location_id": "DC-NJ",
            "sla_hours": 24.0,
            "created_at": T0,
            "last_seen_at": T0,
            "times_seen": 3,
            "active": True,
            "detail": '{"qty": 8}',
            "version": 2,
        },
    ),
    ("exc_comments", {"id": 1, "item_id": 1, "author": "ada", "created_at": T0, "body": "chased"}),
    (
        "exc_alert_notifications",
        {
            "id": 1,
            "rule": "fill_rate_low",
            "scope_value": "ALL",
            "kind": "firing",
            "channel": "webhook",
            "created_at": T0,
            "status": "failed",
            "attempts": 3,
            "error": "URLError: refused",
            "subject": "Fill rate low",
            "body": "below 95%",
            "exception_id": 1,
        },
    ),
]


def legacy_database(url: str, *, tables: frozenset[str] = BASELINE_TABLES) -> None:
    """The previous release's app database at `url` (only `tables` of it), with ROWS."""
    engine = sa.create_engine(url)
    ddl = LEGACY.read_text()
    if engine.dialect.name == "sqlite":
        for postgresql, sqlite in SQLITE_TYPES.items():
            ddl = ddl.replace(postgresql, sqlite)
    statements = ddl.split(";\n")
    with engine.begin() as conn:
        for statement in statements:
            body = "\n".join(x for x in statement.splitlines() if not x.startswith("--")).strip()
            target = body.split("(")[0].split()[-1] if body else ""
            if body and (target in tables or body.split(" ON ")[-1].split()[0] in tables):
                conn.exec_driver_sql(body)
        for table, row in ROWS:
            if table in tables:
                columns = ", ".join(row)
                conn.execute(
                    sa.text(
                        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in row)})"
                    ),
                    row,
                )
    engine.dispose()


def schema_differences(engine: sa.Engine) -> list:
    """What Alembic's autogenerate would change to make the database match the models."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_name": _ours},
        )
        return compare_metadata(context, MODELS)


def _ours(name: str | None, kind: str, _parent: object) -> bool:
    return kind != "table" or is_app_table(name or "")


def stored_rows(engine: sa.Engine) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        return {
            table: [
                {k: v for k, v in r._mapping.items() if k in row}
                for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
            ]
            for table, row in ROWS
        }


def check_upgraded(url: str) -> None:
    plain = sa.create_engine(url)
    before = stored_rows(plain)
    plain.dispose()
    assert [len(rows) for rows in before.values()] == [1] * len(ROWS)
    engine = open_app_engine(url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
        assert schema_differences(engine) == []
        assert stored_rows(engine) == before
    finally:
        engine.dispose()
    with ExceptionStore.open(url) as store:  # the models read the upgraded rows
        [item] = store.items()
        assert (item.key, item.assignee, item.detail) == ("SO1|1", "ada", {"qty": 8})
        assert [c.body for c in store.comments(item.id)] == ["chased"]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


def test_a_previous_release_sqlite_database_is_stamped_and_upgraded_with_its_rows(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path)
    legacy_database(url)
    check_upgraded(url)


def test_a_previous_release_postgresql_database_is_upgraded_with_its_rows(
    postgres_admin_url: str,
) -> None:
    url = create_database(postgres_admin_url, f"legacy_{next(_names)}")
    legacy_database(url)
    check_upgraded(url)


def test_a_database_with_only_the_account_tables_gets_the_others(tmp_path: Path) -> None:
    """The previous release created each store's tables when that store first opened."""
    url = sqlite_url(tmp_path)
    accounts = frozenset(t for t in BASELINE_TABLES if t.startswith("acct_"))
    legacy_database(url, tables=accounts)
    engine = open_app_engine(url)
    try:
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_a_new_database_matches_the_models_on_postgresql(postgres_admin_url: str) -> None:
    """A model changed without a revision shows here (and in the SQLite test below)."""
    engine = open_app_engine(create_database(postgres_admin_url, f"fresh_{next(_names)}"))
    try:
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_a_new_database_matches_the_models_on_sqlite(tmp_path: Path) -> None:
    engine = open_app_engine(sqlite_url(tmp_path))
    try:
        assert schema_differences(engine) == []
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        engine.dispose()


def test_revisions_form_one_line_from_the_baseline() -> None:
    revisions = history()
    assert revisions[0][:2] == (BASELINE, None)
    for (previous, _, _), (_, follows, doc) in itertools.pairwise(revisions):
        assert follows == previous
        assert doc, "every revision says what it changes in its first docstring line"
    assert revisions[-1][0] == head_revision()


def test_the_db_commands_upgrade_and_report_the_revision(tmp_path: Path) -> None:
    legacy_database(sqlite_url(tmp_path))
    runner = CliRunner()
    before = runner.invoke(main, ["--home", str(tmp_path), "db", "current"])
    assert before.exit_code == 0, before.output
    assert "never migrated" in before.output
    upgraded = runner.invoke(main, ["--home", str(tmp_path), "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"from revision (none) to {head_revision()}" in upgraded.output
    after = runner.invoke(main, ["--home", str(tmp_path), "db", "current"])
    assert f"{head_revision()} (up to date)" in after.output
    listed = runner.invoke(main, ["db", "history", "--format", "csv"])
    assert listed.output.splitlines()[1].startswith(f'{BASELINE},,"Baseline')


def test_processes_starting_together_upgrade_a_sqlite_database_once(tmp_path: Path) -> None:
    """A web app and a scheduler started at once: one upgrades, the other finds it done."""
    url = sqlite_url(tmp_path)
    legacy_database(url)
    probe = (
        "import sys; from control_tower.storage.appdb import open_app_engine; "
        "open_app_engine(sys.argv[1]).dispose()"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    starts = [
        subprocess.Popen([sys.executable, "-c", probe, url], env=env, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for process in starts:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            (head_revision(),)
        ]
    assert schema_differences(engine) == []
    engine.dispose()
