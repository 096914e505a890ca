"""A throwaway PostgreSQL server for tests, and an Odoo-style ERP database to pull from.

The server refuses to run as root, so as root `initdb` and `pg_ctl` run as the
`postgres` user (`runuser -u postgres --`) on a temporary folder it owns, with
a private port and socket folder, `-A trust` and no fsync.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


def server_binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` folder with initdb, or None."""
    found = [
        p.parent
        for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if p.parent.parent.name.isdigit()
    ]
    return max(found, key=lambda b: int(b.parent.name)) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server(bin_dir: Path) -> Iterator[str]:
    """Run a private server; yields the admin URL (`postgresql+psycopg://postgres@.../postgres`)."""
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="ct-pg-"))
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", _free_port()

    def run(*args: str | Path) -> None:
        subprocess.run(
            [*as_postgres, *map(str, args)], check=True, capture_output=True, timeout=120
        )

    try:
        run(bin_dir / "initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "-D", data)
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(bin_dir / "pg_ctl", "-D", data, "-l", base / "server.log", "-w", "-o", options, "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    """A new empty database on the server; its URL."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return str(sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False))


# Odoo's own table and column names (simplified: the picking type's code sits on the picking).
ODOO_DDL = """
CREATE TABLE stock_warehouse (id serial PRIMARY KEY, name varchar NOT NULL,
    code varchar(5) NOT NULL, company_id integer NOT NULL, write_date timestamp);
CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar NOT NULL, ref varchar,
    customer_rank integer DEFAULT 0, write_date timestamp);
CREATE TABLE product_template (id serial PRIMARY KEY, name varchar NOT NULL,
    list_price numeric, write_date timestamp);
CREATE TABLE product_product (id serial PRIMARY KEY, product_tmpl_id integer NOT NULL,
    default_code varchar, write_date timestamp);
CREATE TABLE sale_order (id serial PRIMARY KEY, name varchar NOT NULL, partner_id integer,
    warehouse_id integer, company_id integer, date_order timestamp NOT NULL,
    commitment_date timestamp, state varchar, write_date timestamp);
CREATE TABLE sale_order_line (id serial PRIMARY KEY, order_id integer NOT NULL,
    product_id integer, product_uom_qty numeric, price_unit numeric,
    customer_lead double precision NOT NULL, write_date timestamp);
CREATE TABLE stock_picking (id serial PRIMARY KEY, name varchar, origin varchar,
    sale_id integer, picking_type_code varchar, state varchar, scheduled_date timestamp,
    date_done timestamp, write_date timestamp);
CREATE TABLE stock_move (id serial PRIMARY KEY, picking_id integer, sale_line_id integer,
    product_id integer, product_uom_qty numeric, quantity numeric, state varchar,
    date timestamp, write_date timestamp);
"""

# (table, columns, rows). Times are naive UTC, as Odoo stores them; March 2026 (Brussels = UTC+1).
ODOO_ROWS: list[tuple[str, tuple[str, ...], list[tuple]]] = [
    (
        "stock_warehouse",
        ("id", "name", "code", "company_id", "write_date"),
        [(1, "Brussels DC", "WH", 1, "2026-01-05 08:00")],
    ),
    (
        "res_partner",
        ("id", "name", "ref", "customer_rank", "write_date"),
        [
            (1, "Brasserie Dupont", None, 3, "2026-02-01 09:00"),
            (2, "Café Central", "CC01", 1, "2026-02-01 09:05"),
            (3, "Bottle Supplier", None, 0, "2026-02-01 09:10"),
        ],
    ),
    (
        "product_template",
        ("id", "name", "list_price", "write_date"),
        [
            (1, "Trappist 33cl", 2.5, "2026-02-02 10:00"),
            (2, "Tasting glass", 4.0, "2026-02-02 10:00"),
            (3, "Sample crate", 0, "2026-02-02 10:00"),
        ],
    ),
    (
        "product_product",
        ("id", "product_tmpl_id", "default_code", "write_date"),
        [
            (1, 1, "BEER-33", "2026-02-02 10:00"),
            (2, 2, "GLASS-1", "2026-02-02 10:00"),
            (3, 3, None, "2026-02-02 10:00"),  # no internal reference: cannot be an item
        ],
    ),
    (
        "sale_order",
        (
            "id",
            "name",
            "partner_id",
            "warehouse_id",
            "company_id",
            "date_order",
            "commitment_date",
            "state",
            "write_date",
        ),
        [
            (1, "S00001", 1, 1, 1, "2026-03-02 10:00", None, "sale", "2026-03-04 10:00"),
            (
                2,
                "S00002",
                2,
                1,
                1,
                "2026-03-03 10:00",
                "2026-03-06 10:00",
                "sale",
                "2026-03-10 10:00",
            ),
            (3, "S00003", 1, 1, 1, "2026-03-04 10:00", None, "sale", "2026-03-05 10:00"),
            (4, "S00004", 2, 1, 1, "2026-03-05 10:00", None, "cancel", "2026-03-05 11:00"),
            (5, "S00005", 1, 1, 1, "2026-03-06 10:00", None, "draft", "2026-03-06 10:00"),
            (6, "S00006", 2, 1, 1, "2026-03-06 10:00", None, "sale", "2026-03-06 10:30"),
        ],
    ),
    (
        "sale_order_line",
        (
            "id",
            "order_id",
            "product_id",
            "product_uom_qty",
            "price_unit",
            "customer_lead",
            "write_date",
        ),
        [
            (1, 1, 1, 10, 2.5, 3.0, "2026-03-02 10:00"),
            (2, 1, 2, 5, 4.0, 1.0, "2026-03-02 10:00"),
            (3, 2, 1, 20, 2.4, 7.0, "2026-03-03 10:00"),
            (4, 3, 1, 4, 2.5, 2.0, "2026-03-04 10:00"),
            (5, 3, 3, 1, 0, 2.0, "2026-03-04 10:00"),
            (6, 4, 2, 3, 4.0, 2.0, "2026-03-05 10:00"),
            (7, 5, 1, 50, 2.2, 5.0, "2026-03-06 10:00"),
            (8, 6, 2, 6, 4.0, 2.0, "2026-03-06 10:00"),
        ],
    ),
    (
        "stock_picking",
        (
            "id",
            "name",
            "origin",
            "sale_id",
            "picking_type_code",
            "state",
            "scheduled_date",
            "date_done",
            "write_date",
        ),
        [
            (
                1,
                "WH/OUT/00001",
                "S00001",
                1,
                "outgoing",
                "done",
                "2026-03-04 10:00",
                "2026-03-04 10:00",
                "2026-03-04 10:00",
            ),
            (
                2,
                "WH/OUT/00002",
                "S00002",
                2,
                "outgoing",
                "done",
                "2026-03-06 10:00",
                "2026-03-08 10:00",
                "2026-03-08 10:00",
            ),
            (
                3,
                "WH/OUT/00003",
                "S00002",
                2,
                "outgoing",
                "done",
                "2026-03-08 10:00",
                "2026-03-10 10:00",
                "2026-03-10 10:00",
            ),
            (
                4,
                "WH/OUT/00004",
                "S00003",
                3,
                "outgoing",
                "done",
                "2026-03-05 10:00",
                "2026-03-05 10:00",
                "2026-03-05 10:00",
            ),
            (
                5,
                "WH/OUT/00005",
                "S00006",
                6,
                "outgoing",
                "assigned",
                "2026-03-08 10:00",
                None,
                "2026-03-06 10:30",
            ),
            (
                6,
                "WH/IN/00001",
                "P00001",
                None,
                "incoming",
                "done",
                "2026-03-01 10:00",
                "2026-03-01 10:00",
                "2026-03-01 10:00",
            ),
        ],
    ),
    (
        "stock_move",
        (
            "id",
            "picking_id",
            "sale_line_id",
            "product_id",
            "product_uom_qty",
            "quantity",
            "state",
            "date",
            "write_date",
        ),
        [
            (1, 1, 1, 1, 10, 10, "done", "2026-03-04 10:00", "2026-03-04 10:00"),
            (2, 1, 2, 2, 5, 5, "done", "2026-03-04 10:00", "2026-03-04 10:00"),
            (3, 2, 3, 1, 20, 12, "done", "2026-03-08 10:00", "2026-03-08 10:00"),  # 8 backordered
            (4, 3, 3, 1, 8, 8, "done", "2026-03-10 10:00", "2026-03-10 10:00"),
            (5, 4, 4, 1, 4, 4, "done", "2026-03-05 10:00", "2026-03-05 10:00"),
            (6, 4, 5, 3, 1, 1, "done", "2026-03-05 10:00", "2026-03-05 10:00"),
            (7, 5, 8, 2, 6, 0, "assigned", "2026-03-08 10:00", "2026-03-06 10:30"),
            (8, 6, None, 1, 100, 100, "done", "2026-03-01 10:00", "2026-03-01 10:00"),
        ],
    ),
]


def create_odoo_database(admin_url: str, name: str) -> str:
    """A database holding the Odoo-style schema and ODOO_ROWS; its URL."""
    url = create_database(admin_url, name)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(ODOO_DDL)
        for table, columns, rows in ODOO_ROWS:
            stmt = sa.text(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            )
            conn.execute(stmt, [dict(zip(columns, r, strict=True)) for r in rows])
    engine.dispose()
    return url


def execute(url: str, *statements: str) -> None:
    """Run statements on the source database in one transaction."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()
