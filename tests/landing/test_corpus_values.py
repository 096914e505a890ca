"""The bad-input corpus, part 2: readable files with bad values
(cases and what `land_case` checks: tests/support/corpus_values.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.corpus import Case, land_case
from tests.support.corpus_values import VALUE_CASES


@pytest.mark.parametrize("case", VALUE_CASES, ids=str)
def test_bad_values_are_quarantined_and_good_rows_load(home: Path, case: Case) -> None:
    land_case(home, case)
