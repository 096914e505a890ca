"""The bad-input corpus, part 3: readable files with bad rows
(cases and what `land_case` checks: tests/support/corpus_rows.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.corpus import Case, land_case
from tests.support.corpus_files import LOADS_WHOLE, REJECTED
from tests.support.corpus_rows import ROW_CASES
from tests.support.corpus_values import VALUE_CASES


@pytest.mark.parametrize("case", ROW_CASES, ids=str)
def test_bad_rows_are_quarantined_and_good_rows_load(home: Path, case: Case) -> None:
    land_case(home, case)


def test_corpus_has_at_least_thirty_distinct_defects() -> None:
    names = [c.defect for c in (*LOADS_WHOLE, *REJECTED, *VALUE_CASES, *ROW_CASES)]
    assert len(names) == len(set(names))
    assert len(names) >= 30
