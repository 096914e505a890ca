"""Data-health queries over a warehouse landed from hand-written extracts (see conftest.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from control_tower.contracts import TABLES
from control_tower.ops import health
from control_tower.storage.schema import ensure_schema
from pipelines import schedule
from pipelines.steps import POST_LOAD_STEPS

NEGATIVE_QTY = "ordered_qty must be greater than 0, got …"


@pytest.fixture
def cur(landed):
    with landed.store.cursor() as cursor:
        yield cursor


def _loaded_at(cur: duckdb.DuckDBPyConnection) -> datetime:
    return cur.execute("SELECT max(finished_at) FROM ops.batches").fetchone()[0]


class TestRecentRuns:
    def test_newest_run_first_with_its_counts(self, cur, landed):
        runs = health.recent_runs(cur)
        assert [r["run_id"] for r in runs] == [landed.second.run_id, landed.first.run_id]
        first = runs[1]
        assert first["trigger"] == "cli"
        assert first["status"] == "ok"
        assert first["files_seen"] == 6
        assert first["batches_loaded"] == 4
        assert first["batches_rejected"] == 2  # bogus.csv, wms/items.csv
        assert first["rows_quarantined"] == 6  # 2 items + 4 order lines
        assert [s["name"] for s in first["steps"]] == [s.name for s in POST_LOAD_STEPS]
        assert first["failed_steps"] == []
        assert first["seconds"] >= 0

    def test_limit(self, cur, landed):
        assert [r["run_id"] for r in health.recent_runs(cur, limit=1)] == [landed.second.run_id]


class TestBatches:
    def test_newest_first_with_total(self, cur):
        page = health.batches(cur)
        assert page.total == 8
        assert [b["batch_id"] for b in page.rows] == [8, 7, 6, 5, 4, 3, 2, 1]

    def test_counts_of_a_batch_with_bad_rows(self, cur):
        order_lines = next(b for b in health.batches(cur).rows if b["batch_id"] == 6)
        assert order_lines["status"] == "loaded"
        assert order_lines["rows_read"] == 6
        assert order_lines["rows_inserted"] == 2  # lines 2 and 5
        assert order_lines["rows_quarantined"] == 4  # lines 3, 4, 6, 7
        assert order_lines["total_ms"] is not None

    def test_updates_older_rows_warnings_and_duplicates(self, cur):
        rows = {b["batch_id"]: b for b in health.batches(cur).rows}
        assert (rows[8]["rows_updated"], rows[8]["rows_stale"]) == (1, 1)
        assert "ignored 1 column(s) that are not in the customers contract" in rows[5]["warnings"]
        assert rows[7]["status"] == "skipped_duplicate"
        assert rows[7]["duplicate_of"] == 3
        assert "move it to erp/" in rows[4]["error"]

    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"status": "rejected"}, [4, 1]),
            ({"status": health.PROBLEM_STATUSES}, [4, 1]),
            ({"table": "items"}, [7, 4, 3]),
            ({"system": "wms"}, [4]),
            ({"table": "items", "status": "loaded"}, [3]),
            ({"with_quarantine": True}, [6, 3]),
        ],
    )
    def test_filters(self, cur, kwargs, expected):
        page = health.batches(cur, **kwargs)
        assert [b["batch_id"] for b in page.rows] == expected
        assert page.total == len(expected)

    def test_pages(self, cur):
        pages = [health.batches(cur, limit=3, offset=o) for o in (0, 3, 6)]
        assert [[b["batch_id"] for b in p.rows] for p in pages] == [[8, 7, 6], [5, 4, 3], [2, 1]]
        assert {p.total for p in pages} == {8}

    def test_refuses_oversized_or_negative_pages(self, cur):
        with pytest.raises(health.HealthQueryError, match="at most 1000 rows"):
            health.batches(cur, limit=5000)
        with pytest.raises(health.HealthQueryError, match="offset >= 0"):
            health.batches(cur, offset=-1)


class TestSourceFreshness:
    def test_loaded_tables_fresh_the_rest_never(self, cur):
        rows = {r["table_name"]: r for r in health.source_freshness(cur, _loaded_at(cur))}
        assert len(rows) == len(TABLES)
        loaded = {"locations", "items", "customers", "sales_order_lines"}
        assert {t for t, r in rows.items() if r["status"] == "fresh"} == loaded
        assert {r["status"] for t, r in rows.items() if t not in loaded} == {"never"}
        assert rows["returns"]["age_hours"] is None
        assert rows["returns"]["row_count"] == 0

    def test_counts_batches_and_newest_data(self, cur):
        rows = {r["table_name"]: r for r in health.source_freshness(cur, _loaded_at(cur))}
        items, orders, customers = rows["items"], rows["sales_order_lines"], rows["customers"]
        assert (items["row_count"], items["rows_quarantined"], items["batches_rejected"]) == (
            2,
            2,
            1,
        )
        assert (orders["row_count"], orders["rows_quarantined"]) == (2, 4)
        assert customers["last_batch_id"] == 8
        assert customers["batches_loaded"] == 2
        # SO3's updated_at 2025-03-02T12:00 is local time at DC2 (Los Angeles, UTC-8).
        assert orders["newest_data_at"] == datetime(2025, 3, 2, 20, 0)
        assert orders["data_time_column"] == "updated_at"
        assert orders["sla_hours"] == 26.0

    def test_turns_stale_past_its_sla_without_a_new_run(self, cur):
        later = _loaded_at(cur) + timedelta(hours=30)
        rows = {r["table_name"]: r for r in health.source_freshness(cur, later)}
        assert rows["sales_order_lines"]["status"] == "stale"  # SLA 26 h
        assert rows["items"]["status"] == "fresh"  # SLA 7 days
        assert rows["sales_order_lines"]["age_hours"] == pytest.approx(30, abs=0.1)

    def test_falls_back_to_batches_before_the_freshness_step_ran(self):
        con = duckdb.connect()
        ensure_schema(con)
        rows = health.source_freshness(con)
        assert {r["status"] for r in rows} == {"never"}
        assert {r["row_count"] for r in rows} == {None}


class TestOverview:
    def test_headline_numbers(self, cur, landed):
        overview = health.health_overview(cur, _loaded_at(cur))
        assert overview["last_run"]["run_id"] == landed.second.run_id
        assert (overview["tables_fresh"], overview["tables_stale"], overview["tables_never"]) == (
            4,
            0,
            len(TABLES) - 4,
        )
        assert overview["batches_total"] == 8
        assert overview["rows_quarantined"] == 6  # bad rows: 2 items + 4 order lines
        assert overview["problems"] == 7  # line 7 of the order lines has two
        assert overview["files_rejected"] == 2
        assert overview["files_failed"] == 0

    def test_empty_warehouse(self):
        con = duckdb.connect()
        ensure_schema(con)
        overview = health.health_overview(con)
        assert overview["last_run"] is None
        assert (overview["rows_quarantined"], overview["problems"], overview["tables_never"]) == (
            0,
            0,
            len(TABLES),
        )


class TestQuarantineSummary:
    def test_groups_reasons_with_their_values_masked(self, cur):
        summary = health.quarantine_summary(cur)
        # Lines 3 (-3) and 7 (-1) share one reason once the value is masked.
        assert summary[0] == {
            "table_name": "sales_order_lines",
            "column_name": "ordered_qty",
            "reason": NEGATIVE_QTY,
            "problems": 2,
            "batches": 1,
            "example": "ordered_qty must be greater than 0, got -1",
        }
        assert sum(r["problems"] for r in summary) == 7
        reasons = {r["reason"] for r in summary}
        assert "unknown customer_id '…': not in customers" in reasons
        assert "'…' is not a number (ordered_qty)" in reasons
        assert "'…' is not a known abc_class (expected one of: A, B, C)" in reasons

    def test_one_batch(self, cur):
        summary = health.quarantine_summary(cur, batch_id=3)
        assert sorted(r["column_name"] for r in summary) == ["abc_class", "case_qty"]


def _keys(page: health.Page) -> list[tuple]:
    return [(r["batch_id"], r["source_line"], r["column_name"]) for r in page.rows]


ALL_PROBLEMS = [
    (6, 3, "ordered_qty"),
    (6, 4, "customer_id"),
    (6, 6, "ordered_qty"),
    (6, 7, "ordered_qty"),
    (6, 7, "uom"),
    (3, 4, "abc_class"),
    (3, 5, "case_qty"),
]


class TestQuarantineRows:
    def test_newest_batch_first_then_by_line(self, cur):
        page = health.quarantine_rows(cur)
        assert page.total == 7
        assert _keys(page) == ALL_PROBLEMS

    def test_row_carries_file_value_reason_and_record(self, cur):
        row = health.quarantine_rows(cur).rows[0]
        assert row["file_name"] == "sales_order_lines.csv"
        assert row["table_name"] == "sales_order_lines"
        assert row["value"] == "-3"
        assert row["reason"] == "ordered_qty must be greater than 0, got -3"
        assert row["reason_kind"] == NEGATIVE_QTY
        record = json.loads(row["record"])
        assert (record["order_id"], record["line_no"], record["ordered_qty"]) == ("SO1", "2", "-3")

    def test_pages_add_up_to_the_whole(self, cur):
        pages = [health.quarantine_rows(cur, offset=o, limit=3) for o in (0, 3, 6)]
        assert [k for p in pages for k in _keys(p)] == ALL_PROBLEMS
        assert {p.total for p in pages} == {7}

    def test_sorts_on_a_whitelisted_column(self, cur):
        page = health.quarantine_rows(cur, sort_model=[{"colId": "source_line", "sort": "desc"}])
        assert [r["source_line"] for r in page.rows] == [7, 7, 6, 5, 4, 4, 3]
        page = health.quarantine_rows(
            cur,
            sort_model=[
                {"colId": "column_name", "sort": "asc"},
                {"colId": "batch_id", "sort": "asc"},
            ],
        )
        assert [r["column_name"] for r in page.rows][:3] == ["abc_class", "case_qty", "customer_id"]

    @pytest.mark.parametrize(
        ("filter_model", "expected"),
        [
            ({"batch_id": {"filterType": "number", "type": "equals", "filter": 3}}, 2),
            ({"reason": {"filterType": "text", "type": "contains", "filter": "GREATER than"}}, 2),
            ({"reason_kind": {"filterType": "text", "type": "equals", "filter": NEGATIVE_QTY}}, 2),
            ({"value": {"filterType": "text", "type": "equals", "filter": "-3"}}, 1),
            ({"file_name": {"filterType": "text", "type": "startsWith", "filter": "items"}}, 2),
            ({"column_name": {"filterType": "text", "type": "blank"}}, 0),
            (
                {
                    "source_line": {
                        "filterType": "number",
                        "type": "inRange",
                        "filter": 4,
                        "filterTo": 6,
                    }
                },
                4,
            ),
            ({"source_line": {"filterType": "number", "type": "greaterThan", "filter": 6}}, 2),
            (
                {
                    "record": {
                        "filterType": "text",
                        "type": "contains",
                        "filter": '"customer_id":"C9"',
                    }
                },
                1,
            ),
            (
                {
                    "column_name": {
                        "filterType": "text",
                        "operator": "OR",
                        "conditions": [
                            {"filterType": "text", "type": "equals", "filter": "uom"},
                            {"filterType": "text", "type": "equals", "filter": "case_qty"},
                        ],
                    },
                    "table_name": {
                        "filterType": "text",
                        "type": "equals",
                        "filter": "sales_order_lines",
                    },
                },
                1,
            ),
        ],
    )
    def test_filters_on_a_whitelisted_column(self, cur, filter_model, expected):
        page = health.quarantine_rows(cur, filter_model=filter_model)
        assert page.total == expected
        assert len(page.rows) == expected

    def test_filters_on_the_day_quarantined(self, cur):
        day = _loaded_at(cur).date().isoformat()
        on_day = {
            "quarantined_at": {
                "filterType": "date",
                "type": "equals",
                "dateFrom": f"{day} 00:00:00",
            }
        }
        before = {
            "quarantined_at": {
                "filterType": "date",
                "type": "lessThan",
                "dateFrom": f"{day} 00:00:00",
            }
        }
        assert health.quarantine_rows(cur, filter_model=on_day).total == 7
        assert health.quarantine_rows(cur, filter_model=before).total == 0

    def test_two_condition_filters_join_with_and_or(self, cur):
        total = health.quarantine_rows(cur).total
        either = {
            "table_name": {
                "filterType": "text",
                "operator": "OR",
                "conditions": [
                    {"type": "contains", "filter": "no such table"},
                    {"type": "notBlank"},
                ],
            }
        }
        neither = {
            "table_name": {
                "filterType": "text",
                "operator": "AND",
                "conditions": [
                    {"type": "contains", "filter": "no such table"},
                    {"type": "notBlank"},
                ],
            }
        }
        assert health.quarantine_rows(cur, filter_model=either).total == total > 0
        assert health.quarantine_rows(cur, filter_model=neither).total == 0

    def test_filter_values_are_data_not_sql(self, cur):
        # As LIKE patterns, "ordered%must" and "qty_must" would match "ordered_qty must ...".
        for text in ("' OR 1=1 --", "ordered%must", "qty_must"):
            model = {"reason": {"filterType": "text", "type": "contains", "filter": text}}
            assert health.quarantine_rows(cur, filter_model=model).total == 0, text
        assert cur.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0] == 7

    @pytest.mark.parametrize(
        "sort_model",
        [
            [{"colId": "reason; DROP TABLE ops.quarantine", "sort": "asc"}],
            [{"colId": "rowid", "sort": "asc"}],
            [{"colId": "record", "sort": "asc"}],  # shown, filterable, not sortable
        ],
    )
    def test_refuses_to_sort_on_other_columns(self, cur, sort_model):
        with pytest.raises(
            health.UnknownColumnError,
            match=r"cannot sort by column .* allowed columns are batch_id",
        ):
            health.quarantine_rows(cur, sort_model=sort_model)

    def test_refuses_to_filter_on_other_columns(self, cur):
        model = {"1=1) OR (1": {"filterType": "text", "type": "contains", "filter": "x"}}
        with pytest.raises(
            health.UnknownColumnError, match="cannot filter by column '1=1\\) OR \\(1'"
        ):
            health.quarantine_rows(cur, filter_model=model)

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            (
                {"filterType": "text", "type": "regex", "filter": "x"},
                "unsupported text filter 'regex'",
            ),
            (
                {"filterType": "number", "type": "equals", "filter": 3},
                "a 'number' filter on a text column",
            ),
            ({"filterType": "text", "type": "contains", "filter": {"$ne": 1}}, "is not text"),
            ({"filterType": "text", "type": "contains", "filter": "x" * 501}, "longer than 500"),
            (
                {"filterType": "text", "operator": "XOR", "conditions": [{"type": "blank"}]},
                "unknown operator 'XOR'",
            ),
        ],
    )
    def test_refuses_filters_it_cannot_honour(self, cur, spec, message):
        with pytest.raises(health.InvalidFilterError, match=message):
            health.quarantine_rows(cur, filter_model={"reason": spec})

    def test_refuses_bad_numbers_dates_and_directions(self, cur):
        with pytest.raises(health.InvalidFilterError, match="'seven' is not a number"):
            health.quarantine_rows(
                cur,
                filter_model={
                    "batch_id": {"filterType": "number", "type": "equals", "filter": "seven"}
                },
            )
        with pytest.raises(health.InvalidFilterError, match="is not a date"):
            health.quarantine_rows(
                cur,
                filter_model={
                    "quarantined_at": {"filterType": "date", "type": "equals", "dateFrom": "soon"}
                },
            )
        with pytest.raises(health.InvalidFilterError, match="asc or desc"):
            health.quarantine_rows(cur, sort_model=[{"colId": "batch_id", "sort": "sideways"}])


class TestSchedulerHeartbeat:
    NOW = datetime(2025, 3, 1, 12, 0)

    def _write(self, folder: Path, **data: object) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / health.HEARTBEAT_FILE).write_text(json.dumps(data))
        return folder

    def test_absent_before_any_scheduler_ran(self, tmp_path):
        status = health.scheduler_heartbeat(tmp_path, self.NOW)
        assert status["state"] == "absent"
        assert "control-tower scheduler" in status["message"]

    def test_running_when_written_within_two_intervals(self, tmp_path):
        folder = self._write(
            tmp_path,
            written_at="2025-03-01T11:52:00+00:00",
            every_minutes=5,
            last_run_status="ok",
            last_run_at="2025-03-01T11:51:30+00:00",
            next_run_at="2025-03-01T11:57:00+00:00",
            pid=42,
        )
        status = health.scheduler_heartbeat(folder, self.NOW)
        assert status["state"] == "running"
        assert status["age_minutes"] == pytest.approx(8)
        assert status["last_run_at"] == datetime(2025, 3, 1, 11, 51, 30)
        assert status["next_run_at"] == datetime(2025, 3, 1, 11, 57)
        assert status["pid"] == 42

    def test_late_after_two_intervals_and_grace(self, tmp_path):
        # 5 min interval: running up to 2 * 5 + 5 = 15 min, late after.
        folder = self._write(tmp_path, written_at="2025-03-01T11:44:00+00:00", every_minutes=5)
        status = health.scheduler_heartbeat(folder, self.NOW)
        assert status["state"] == "late"
        assert "No heartbeat for 16 min" in status["message"]

    def test_unreadable_file(self, tmp_path):
        (tmp_path / health.HEARTBEAT_FILE).write_text("{not json")
        assert health.scheduler_heartbeat(tmp_path, self.NOW)["state"] == "unreadable"

    def test_reads_what_the_scheduler_writes(self, landed):
        schedule.write_heartbeat(landed.settings, landed.second)
        status = health.scheduler_heartbeat(landed.settings.serving_dir)
        assert status["state"] == "running"
        assert status["last_run_id"] == landed.second.run_id
        assert status["every_minutes"] == landed.settings.ingest_every_minutes
