"""The execution's cursor: a typed value converted to and from its stored JSON in one place."""

import pytest

from stepfunctions.models import Cursor, Execution


@pytest.mark.parametrize(
    ("cursor", "stored"),
    [
        (Cursor(Cursor.START), {"kind": "start"}),
        (
            Cursor(Cursor.TASK, state="Wait", raw_input={"a": 1}, attempts=(1, 0), token_id=7),
            {
                "kind": "task",
                "state": "Wait",
                "raw_input": {"a": 1},
                "attempts": [1, 0],
                "token_id": 7,
            },
        ),
        (
            Cursor(Cursor.RETRY, state="Call", raw_input=[1], attempts=(2,), entered_event_id=5),
            {
                "kind": "retry",
                "state": "Call",
                "raw_input": [1],
                "attempts": [2],
                "entered_event_id": 5,
            },
        ),
        (
            Cursor(Cursor.CONTINUE, state="Next", input={"b": None}),
            {"kind": "continue", "state": "Next", "input": {"b": None}},
        ),
        (
            Cursor(Cursor.WAIT, state="Pause", input={"id": 3}),
            {"kind": "wait", "state": "Pause", "input": {"id": 3}},
        ),
        (
            Cursor(Cursor.CONTINUE, state="Next", input=1, variables={"x": [1]}),
            {"kind": "continue", "state": "Next", "input": 1, "variables": {"x": [1]}},
        ),
    ],
)
def test_each_kind_round_trips_through_the_stored_json(cursor, stored):
    execution = Execution(position=cursor)
    assert execution.cursor == stored
    assert execution.position == cursor
    assert Cursor.from_json(stored) == cursor


def test_a_done_execution_has_no_position():
    execution = Execution(position=Cursor(Cursor.START))
    execution.position = None
    assert (execution.cursor, execution.position) == ({}, None)


@pytest.mark.parametrize("stored", [{"kind": "sleep"}, {"kind": "task", "state": "Wait"}])
def test_an_unknown_or_incomplete_cursor_is_refused(stored):
    with pytest.raises((ValueError, KeyError)):
        Cursor.from_json(stored)
