"""The bad-input corpus, part 1: whole-file defects and unusual but valid file shapes
(cases and what `land_case` checks: tests/support/corpus_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.corpus import Case, land_case
from tests.support.corpus_files import LOADS_WHOLE, REJECTED


@pytest.mark.parametrize("case", LOADS_WHOLE, ids=str)
def test_unusual_but_valid_file_loads_whole(home: Path, case: Case) -> None:
    land_case(home, case)


@pytest.mark.parametrize("case", REJECTED, ids=str)
def test_unreadable_file_is_rejected_whole_and_changes_nothing(home: Path, case: Case) -> None:
    land_case(home, case)
