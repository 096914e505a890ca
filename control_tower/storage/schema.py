"""Warehouse schema: landed contract tables (`main`), operations (`ops`), KPIs (`kpi`),
exceptions (`exc`), risk scores (`risk`), currencies and exchange rates (`money`).

Landed tables mirror the extract contract with harmonised values:
quantities in base units, timestamps as UTC `TIMESTAMP` plus a
`<column>_local_date` on the row's location calendar, and meta columns
`_batch_id` (the batch that wrote the row) and `_loaded_at`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from control_tower.contracts import TABLES, ColumnType, Table
from control_tower.machine import DuckDBResources
from control_tower.settings import private_dir, private_file
from control_tower.storage.engine import connect

META_COLUMNS = (("_batch_id", "BIGINT"), ("_loaded_at", "TIMESTAMP"))

OPS_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SEQUENCE IF NOT EXISTS ops.batch_id_seq START 1;
CREATE TABLE IF NOT EXISTS ops.batches (
    batch_id BIGINT PRIMARY KEY,
    run_id VARCHAR,
    system VARCHAR,
    table_name VARCHAR,
    file_name VARCHAR NOT NULL,
    source_path VARCHAR NOT NULL,
    archived_path VARCHAR,
    content_hash VARCHAR,
    file_bytes BIGINT,
    file_format VARCHAR,
    encoding VARCHAR,
    delimiter VARCHAR,
    status VARCHAR NOT NULL,       -- running, loaded, skipped_duplicate, rejected, interrupted, failed
    rows_read BIGINT DEFAULT 0,
    rows_inserted BIGINT DEFAULT 0,
    rows_updated BIGINT DEFAULT 0,
    rows_stale BIGINT DEFAULT 0,   -- older re-deliveries that did not overwrite newer rows
    rows_quarantined BIGINT DEFAULT 0,
    warnings VARCHAR,
    error VARCHAR,
    duplicate_of BIGINT,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    read_ms BIGINT,
    validate_ms BIGINT,
    upsert_ms BIGINT,
    total_ms BIGINT
);
CREATE TABLE IF NOT EXISTS ops.quarantine (
    batch_id BIGINT NOT NULL,
    table_name VARCHAR,
    file_name VARCHAR NOT NULL,
    source_line BIGINT,            -- CSV: line in the file, header = 1; JSON Lines: line; Parquet: record
    column_name VARCHAR,           -- NULL when the problem is the whole row
    value VARCHAR,
    reason VARCHAR NOT NULL,
    record VARCHAR,                -- the row as delivered (JSON object, or the raw line)
    quarantined_at TIMESTAMP NOT NULL
);
-- SQL source mappings: how far each source table has been pulled (control_tower.mappings.sql).
-- Written in the same transaction as the batches it fed: it advances only when they commit.
CREATE TABLE IF NOT EXISTS ops.watermarks (
    mapping VARCHAR NOT NULL,
    source_table VARCHAR NOT NULL,
    cursor_column VARCHAR NOT NULL,
    watermark VARCHAR,             -- the newest cursor value landed, as text (ISO for times)
    watermark_type VARCHAR,        -- timestamp, timestamptz, date, int, decimal, float, text
    boundary_keys VARCHAR[],       -- md5 of (key, cursor) of rows inside the overlap window
    mapping_digest VARCHAR,        -- the mapping's content when last landed: a change re-lands
    rows_pulled BIGINT,            -- new or changed rows of the last pull
    run_id VARCHAR,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.runs (
    run_id VARCHAR PRIMARY KEY,
    trigger VARCHAR NOT NULL,      -- scheduler, cli, demo
    status VARCHAR NOT NULL,       -- ok, partial, failed, stopped
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    files_seen INTEGER,
    batches_loaded INTEGER,
    batches_skipped INTEGER,
    batches_rejected INTEGER,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    steps VARCHAR,                 -- JSON list of post-load steps: name, status, ms, error
    snapshot VARCHAR,
    error VARCHAR
);
-- Post-load steps that failed: later runs skip them until next_try_at (pipelines.backoff).
CREATE TABLE IF NOT EXISTS ops.step_state (
    step VARCHAR PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL,   -- 0 once the step succeeds again
    first_failed_at TIMESTAMP,               -- the first failure of the current series
    last_failed_at TIMESTAMP,
    last_error VARCHAR,                      -- type and first line, quoted values masked
    next_try_at TIMESTAMP,                   -- runs before this skip the step
    last_ok_at TIMESTAMP
);
-- Each post-load step's last refresh: full or incremental, and its last full one
-- (pipelines.refresh decides from it whether the next run recomputes everything).
CREATE TABLE IF NOT EXISTS ops.step_refresh (
    step VARCHAR PRIMARY KEY,
    last_mode VARCHAR NOT NULL,              -- full or delta
    last_at TIMESTAMP NOT NULL,
    full_at TIMESTAMP,                       -- the last full refresh
    full_as_of DATE                          -- the as-of day of that full refresh
);
"""

# The KPI step's own record of each base model's rows at its last refresh (control_tower.kpi.
# incremental creates it): the writer's alone, never published to serving snapshots.
KPI_STATE_SCHEMA = "kpi_state"
UNPUBLISHED_SCHEMAS = (KPI_STATE_SCHEMA,)

# Governed KPI layer: the catalog's version history and the materialised values.
KPI_DDL = """
CREATE SCHEMA IF NOT EXISTS kpi;
CREATE TABLE IF NOT EXISTS ops.kpi_versions (
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,  -- sha256 of the definition and its model, canonicalised
    status VARCHAR NOT NULL,        -- draft, certified, deprecated
    owner VARCHAR NOT NULL,
    definition VARCHAR NOT NULL,    -- the definition file's text, to recompile the old version
    model VARCHAR NOT NULL,         -- JSON {model name: file text} of the models it read
    first_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (name, content_hash)
);
CREATE TABLE IF NOT EXISTS kpi.values (
    kpi VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    as_of DATE NOT NULL,
    grain VARCHAR NOT NULL,         -- day; month for item_id and customer_id (and their ALL rows)
    period DATE,                    -- local day (or first of month) of the KPI's time dimension
    dimension VARCHAR NOT NULL,     -- ALL, or the dimension column (location_id, ...)
    dimension_value VARCHAR,        -- ALL, the value, or NULL for rows without one
    numerator DOUBLE,
    denominator DOUBLE,
    value DOUBLE,
    companions VARCHAR,             -- JSON object of the companion figures
    status VARCHAR,                 -- ok, warn, breach against thresholds; NULL without a value
    freshness TIMESTAMP,            -- oldest of the newest loaded batch of each table read
    computed_at TIMESTAMP NOT NULL
);
"""

# Exception queue items (the exceptions step fills them; the exception_aging KPI reads them).
EXC_DDL = """
CREATE SCHEMA IF NOT EXISTS exc;
CREATE TABLE IF NOT EXISTS exc.queue_items (
    id VARCHAR PRIMARY KEY,
    type VARCHAR NOT NULL,          -- the queue, e.g. backordered_line
    key VARCHAR NOT NULL,           -- the business key of the row behind it
    status VARCHAR NOT NULL,        -- open, acknowledged, snoozed, resolved
    severity VARCHAR,
    owner_role VARCHAR,
    assignee VARCHAR,
    location_id VARCHAR,
    entity_id VARCHAR,
    created_at TIMESTAMP NOT NULL,  -- UTC
    last_action_at TIMESTAMP,       -- UTC
    sla_hours DOUBLE,
    resolved_at TIMESTAMP,          -- UTC
    item_id VARCHAR,
    last_seen_at TIMESTAMP,         -- UTC, the last run that saw the condition
    times_seen INTEGER,
    snoozed_until TIMESTAMP,        -- UTC
    resolution_code VARCHAR,
    value_at_risk DOUBLE,
    detail VARCHAR,                 -- JSON: what the rule saw
    event_at TIMESTAMP,             -- UTC, when the condition began in the source (else NULL)
    mirrored_at TIMESTAMP,          -- UTC, when this copy of the queue was taken (every row)
    version INTEGER                 -- the item's version in the app database at this copy
);
-- The latest re-promise of each order line recorded in the tower (the app database's
-- exc_line_promises, copied by the exceptions step): the ATP demand and order_at_risk read a
-- line's promise from it when it was recorded after the line's updated_at.
CREATE TABLE IF NOT EXISTS exc.line_promises (
    order_id VARCHAR NOT NULL,
    line_no INTEGER NOT NULL,
    promised_date DATE NOT NULL,
    recorded_at TIMESTAMP NOT NULL  -- UTC
);
-- The tower's action requests (the app database's exc_action_requests, copied by the actions
-- step): the action_not_confirmed rule reads the overdue ones.
CREATE TABLE IF NOT EXISTS exc.action_requests (
    id BIGINT NOT NULL,
    request_uid VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    system VARCHAR NOT NULL,
    status VARCHAR NOT NULL,        -- pending_approval, approved, sent, confirmed, overdue, ...
    exception_id BIGINT,            -- the queue item it was raised from
    entity_id VARCHAR,
    location_id VARCHAR,
    item_id VARCHAR,
    params VARCHAR,                 -- JSON: the typed parameters
    value DOUBLE,
    requested_by VARCHAR,
    requested_at TIMESTAMP,         -- UTC
    sent_at TIMESTAMP,              -- UTC
    expected_by DATE,
    confirmed_at TIMESTAMP,         -- UTC
    confirmed_by VARCHAR            -- the landed record that showed it done
);
-- Exception rules restrict their tables with exc_in_scope(<key>): every key, except while the
-- detection of a delta shadows it with a temp macro naming the keys the run touched.
CREATE MACRO IF NOT EXISTS exc_in_scope(k) AS true;
-- What the last detection found: one row per condition true, by type and key
-- (control_tower.exceptions.scope compares a delta's result with it).
CREATE TABLE IF NOT EXISTS exc.detected (
    type VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    location_id VARCHAR,
    entity_id VARCHAR,
    item_id VARCHAR,
    detail VARCHAR,
    value_at_risk DOUBLE,
    severity VARCHAR,
    event_at TIMESTAMP,
    in_window BOOLEAN
);
-- Per type: its last detection's instant, its last full one's day and instant, and a
-- fingerprint of the derived tables (ops.*, risk.*) its rule read.
CREATE TABLE IF NOT EXISTS exc.detection_state (
    type VARCHAR PRIMARY KEY,
    full_as_of DATE,
    full_at TIMESTAMP,
    last_now TIMESTAMP,
    fingerprint VARCHAR
);
-- Warehouses created before these columns existed get them here.
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS item_id VARCHAR;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMP;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS times_seen INTEGER;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS snoozed_until TIMESTAMP;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS resolution_code VARCHAR;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS value_at_risk DOUBLE;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS detail VARCHAR;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS event_at TIMESTAMP;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS mirrored_at TIMESTAMP;
ALTER TABLE exc.queue_items ADD COLUMN IF NOT EXISTS version INTEGER;
"""

# Risk models (control_tower.risk): the latest scores and the model cards, for the planner page.
RISK_DDL = """
CREATE SCHEMA IF NOT EXISTS risk;
CREATE TABLE IF NOT EXISTS risk.stockout_scores (
    item_id VARCHAR,
    location_id VARCHAR,
    entity_id VARCHAR,
    as_of DATE,
    horizon_days INTEGER,
    probability DOUBLE,             -- calibrated: stock available <= 0 within horizon_days
    baseline_flag BOOLEAN,          -- the days-of-cover rule fires
    available_qty DOUBLE,
    on_hand_qty DOUBLE,
    daily_demand DOUBLE,
    days_of_cover DOUBLE,           -- NULL when there is no demand
    lead_time_days INTEGER,
    inbound_qty DOUBLE,             -- open purchase order quantity, eaches
    next_receipt_date DATE,         -- earliest expected date of an open PO line
    unit_cost DOUBLE,
    value_at_risk DOUBLE,           -- units short over horizon + lead time x unit price
    risk_value DOUBLE,              -- probability x value_at_risk: the planner queue's rank
    drivers VARCHAR,                -- JSON list: feature, label, value, effect (log-odds), direction
    model_version VARCHAR,
    scored_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS risk.late_order_scores (
    order_id VARCHAR,
    line_no INTEGER,
    entity_id VARCHAR,
    location_id VARCHAR,
    customer_id VARCHAR,
    item_id VARCHAR,
    first_promised_date DATE,
    probability DOUBLE,             -- calibrated: not delivered in full by the first promise
    baseline_flag BOOLEAN,          -- no stock for the line and the promise is within lead time
    value DOUBLE,                   -- line value
    drivers VARCHAR,
    model_version VARCHAR,
    as_of DATE,
    scored_at TIMESTAMP
);
-- What each model's stored scores read, so a delta rescores only what changed (risk.touched).
CREATE TABLE IF NOT EXISTS risk.score_inputs (
    model VARCHAR,                  -- stockout, late_order
    part VARCHAR,                   -- a fingerprinted input, or 'scored' (k1: model, file, day)
    k1 VARCHAR,                     -- the group of scores: e.g. location, item, supplier
    k2 VARCHAR,
    fp HUGEINT                      -- sum of a hash of what the group's features read
);
CREATE TABLE IF NOT EXISTS risk.models (
    model VARCHAR,                  -- stockout, late_order
    version VARCHAR,
    trained_at TIMESTAMP,
    train_start DATE,
    train_end DATE,
    test_start DATE,
    test_end DATE,
    metrics VARCHAR,                -- JSON {"model": {...}, "baseline": {...}} on the test window
    features VARCHAR,               -- JSON list
    card VARCHAR,                   -- the model card, JSON
    active BOOLEAN
);
-- Which ranked each score: 'model' (its probability) or 'rule' (the rule's calibrated score,
-- where the model did not beat the rule on the later unseen weeks; the card says why).
ALTER TABLE risk.stockout_scores ADD COLUMN IF NOT EXISTS ranked_by VARCHAR;
ALTER TABLE risk.late_order_scores ADD COLUMN IF NOT EXISTS ranked_by VARCHAR;
"""

# Currencies and exchange rates (control_tower.money, rebuilt whole by the `money` step): created
# empty here so that readers find them before the first run.
MONEY_DDL = """
CREATE SCHEMA IF NOT EXISTS money;
CREATE TABLE IF NOT EXISTS money.settings (
    reporting_currency VARCHAR      -- CONTROL_TOWER_REPORTING_CURRENCY at the last money step
);
CREATE TABLE IF NOT EXISTS money.entity_currencies (
    entity_id VARCHAR,
    currency VARCHAR,               -- NULL: entities has rows, none for this entity
    source VARCHAR                  -- entities, reporting_default (entities is empty), unknown
);
CREATE TABLE IF NOT EXISTS money.fx_daily (
    rate_date DATE,
    from_currency VARCHAR,
    to_currency VARCHAR,
    rate DOUBLE,                    -- one from_currency is worth rate to_currency on rate_date
    published_date DATE             -- the day of the fx_rates row it comes from (up to 7 days back)
);
CREATE TABLE IF NOT EXISTS money.fx_monthly (
    month DATE,                     -- first day of the month
    from_currency VARCHAR,
    to_currency VARCHAR,
    rate DOUBLE,                    -- mean of the rates of the day of the month (up to as_of)
    days INTEGER                    -- days of the month that have a rate of the day
);
CREATE TABLE IF NOT EXISTS money.missing_rates (
    from_currency VARCHAR,          -- NULL for an entity whose currency is unknown
    to_currency VARCHAR,
    month DATE,
    first_day DATE,
    last_day DATE,
    days INTEGER,                   -- days of the month without a usable rate
    missing_days DATE[],
    entity_id VARCHAR,              -- the entity whose currency is unknown, else NULL
    reason VARCHAR                  -- no_rate or unknown_entity_currency
);
"""


def landed_columns(table: Table) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a landed table, in order, meta columns last."""
    cols: list[tuple[str, str]] = []
    for col in table.columns:
        cols.append((col.name, col.type.sql_type))
        if col.type is ColumnType.TIMESTAMP:
            cols.append((f"{col.name}_local_date", "DATE"))
    if table.has_uom:
        cols.append(("uom_factor", "INTEGER"))
    if table.name == "sales_order_lines":
        cols.append(("promise_changes", "INTEGER"))
    cols.extend(META_COLUMNS)
    return cols


def landed_table_ddl(table: Table) -> str:
    """CREATE TABLE statement for a landed contract table."""
    body = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in landed_columns(table))
    return f"CREATE TABLE IF NOT EXISTS main.{table.name} (\n    {body}\n)"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet."""
    con.execute(OPS_DDL)
    con.execute(KPI_DDL)
    con.execute(EXC_DDL)
    con.execute(RISK_DDL)
    con.execute(MONEY_DDL)
    for table in TABLES.values():
        con.execute(landed_table_ddl(table))


def connect_writer(
    path: Path, resources: DuckDBResources | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write with the session settings the pipeline relies on and
    `resources` (None: the machine defaults for its folder; see `storage.engine.connect`)."""
    private_dir(path.parent)
    con = connect(path, resources)
    private_file(path)  # DuckDB creates it with the umask's mode
    con.execute("SET TimeZone = 'UTC'")
    # Let query_progress() report on long statements (shown as ingest progress), printing nothing.
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    ensure_schema(con)
    return con
