"""Streaming a CSV export in pieces gives exactly the text of the one-piece writer."""

from __future__ import annotations

from datetime import date

from control_tower.export import csv_chunks, csv_text


def test_pieces_join_to_the_same_text_as_one_piece():
    rows = [
        {"id": n, "day": date(2026, 3, n), "note": 'a, "quoted"' if n == 2 else None}
        for n in range(1, 8)
    ]
    pieces = list(csv_chunks(rows, ("id", "day", "note"), rows_per_chunk=3))
    assert len(pieces) == 3  # 3 + 3 rows, then the last row
    assert "".join(pieces) == csv_text(rows, ("id", "day", "note"))
    assert pieces[0].startswith("id,day,note\r\n1,2026-03-01,\r\n")


def test_no_rows_is_the_header_alone():
    assert list(csv_chunks([], ("id",))) == ["id\r\n"]
