"""Field lengths an action may store: one oversized comment must not slow every later read.

Items come from one detection over the DELIVERY of exception_cases; the tests act on the
overdue close task E1|2026-02|T2 (open, version 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.exceptions.workflow import (
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    FieldTooLongError,
    act,
)
from tests.support.exception_cases import detect_at, items, later, store

TASK = "E1|2026-02|T2"


@pytest.fixture
def task(home: Path) -> Iterator[tuple[ExceptionStore, int]]:
    """The store of a detected queue, and the close task's id."""
    detect_at(home)
    with store(home) as st:
        yield st, items(home, "overdue_close_task")[TASK].id


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (
            {"action": "comment", "note": "x" * 20_000_000},
            "the note or comment is 20,000,000 characters long; at most 4,000 are allowed",
        ),
        (
            {"action": "acknowledge", "note": "x" * (MAX_NOTE_LENGTH + 1)},
            "the note or comment is 4,001 characters long",
        ),
        (
            {"action": "assign", "assignee": "b" * (MAX_NAME_LENGTH + 1)},
            "the assignee's name is 129 characters long; at most 128 are allowed",
        ),
        (
            {"action": "comment", "note": "hi", "user": "u" * 500},
            "the acting user's name is 500 characters long",
        ),
    ],
)
def test_oversized_fields_are_refused_and_nothing_is_stored(task, arguments, says):
    s, task_id = task
    arguments = {"user": "ann", **arguments}
    action = arguments.pop("action")
    with pytest.raises(FieldTooLongError, match=says):
        act(s, task_id, action, now=later(1), **arguments)
    assert s.get(task_id).version == 1
    assert s.comments(task_id) == []


def test_a_comment_of_the_longest_allowed_length_is_kept_whole(task):
    s, task_id = task
    act(s, task_id, "comment", user="ann", note="y" * MAX_NOTE_LENGTH, now=later(1))
    (comment,) = s.comments(task_id)
    assert comment.body == "y" * MAX_NOTE_LENGTH
