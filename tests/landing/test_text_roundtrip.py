"""Property: any text a CSV writer can quote lands exactly as written (values are trimmed).

Names mix delimiters, quotes, apostrophes, accents, emoji and line breaks;
the file uses a random delimiter and encoding. Landing goes straight through
`land_inbox` on one connection to keep each example fast.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from control_tower.landing import land_inbox
from control_tower.storage.schema import connect_writer
from tests.support.baseline import BASELINE, TS

NAME = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from([",", ";", "|", "\t", '"', "'", "\n", "é", "€", "😀", " "]),
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip(" \t\n") == s and s != "")


def test_any_quoted_text_lands_exactly(tmp_path: Path) -> None:
    con = connect_writer(tmp_path / "warehouse.duckdb")
    inbox, archive, rejected = tmp_path / "inbox", tmp_path / "archive", tmp_path / "rejected"
    (inbox / "erp").mkdir(parents=True)
    counter = itertools.count()

    @settings(max_examples=25, deadline=None, database=None)
    @given(
        names=st.lists(NAME, min_size=1, max_size=4),
        delimiter=st.sampled_from([",", ";", "\t", "|"]),
        encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
    )
    def check(names: list[str], delimiter: str, encoding: str) -> None:
        n = next(counter)
        ids = [f"H{n}_{i}" for i in range(len(names))]
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
        writer.writerow(BASELINE["customers"][0])
        for customer_id, name in zip(ids, names, strict=True):
            writer.writerow([customer_id, name, "Retail", "1", "EU", TS])
        (inbox / "erp" / f"customers_{n}.csv").write_bytes(buf.getvalue().encode(encoding))
        report = land_inbox(con, inbox, run_id=f"r{n}", archive=archive, rejected=rejected)
        (b,) = report.batches
        assert (b.status, b.rows_quarantined, b.counts.inserted) == ("loaded", 0, len(names)), (
            b.error,
            con.execute("SELECT source_line, reason, record FROM ops.quarantine").fetchall(),
        )
        got = dict(
            con.execute(
                "SELECT customer_id, name FROM customers WHERE _batch_id = ?", [b.batch_id]
            ).fetchall()
        )
        assert got == dict(zip(ids, names, strict=True))

    try:
        check()
    finally:
        con.close()
