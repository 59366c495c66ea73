"""The resume point: each pausing Outcome's Cursor (stored as the JSON executions in flight were
stored with), and `resume` going on from it."""

import pytest

from stepfunctions.workflow import Cursor, cursor_of, load_definition, resume, start
from stepfunctions.workflow.outcomes import (
    Branching,
    Continue,
    Delayed,
    Finished,
    Sleeping,
    TaskSuccess,
    Waiting,
)
from tests.stepfunctions.test_workflow_interpreter import CONTEXT, FakeHost

CALLBACK = "arn:aws:states:::events:putEvents.waitForTaskToken"


@pytest.mark.parametrize(
    ("outcome", "ids", "stored"),
    [
        (
            Waiting("T", {"a": 1}, "tok", None, None, [1, 0], 4, {"x": 1}),
            {},
            {
                "kind": "task",
                "state": "T",
                "raw_input": {"a": 1},
                "attempts": [1, 0],
                "token_id": None,
                "entered_event_id": 4,
                "variables": {"x": 1},
            },
        ),
        (
            Waiting("T", [1], "tok", 10, 60, [0], None),
            {"token_id": 7},
            {"kind": "task", "state": "T", "raw_input": [1], "attempts": [0], "token_id": 7},
        ),
        (
            Sleeping("T", {"a": 1}, [2], 3.0, 5),
            {},
            {
                "kind": "retry",
                "state": "T",
                "raw_input": {"a": 1},
                "attempts": [2],
                "entered_event_id": 5,
            },
        ),
        (
            Delayed("W", {"id": 3}, 10.0, {"v": [1]}),
            {},
            {"kind": "wait", "state": "W", "input": {"id": 3}, "variables": {"v": [1]}},
        ),
        (
            Continue("Next", {"b": None}),
            {},
            {"kind": "continue", "state": "Next", "input": {"b": None}},
        ),
        (
            Branching("P", {"a": 1}, [{}, {}], [0], 0, 0, 2, {"x": 1}),
            {"group": "3f1c"},
            {
                "kind": "children",
                "state": "P",
                "raw_input": {"a": 1},
                "attempts": [0],
                "entered_event_id": 2,
                "variables": {"x": 1},
                "group": "3f1c",
            },
        ),
    ],
)
def test_each_pause_gives_the_cursor_the_engine_stores(outcome, ids, stored):
    cursor = cursor_of(outcome, **ids)
    assert cursor.to_json() == stored
    assert Cursor.from_json(stored) == cursor


def test_storage_ids_stay_with_their_own_kind():
    sleeping = Sleeping("T", {}, [1], 1.0, 2)
    assert cursor_of(sleeping, token_id=7, group="g") == cursor_of(sleeping)


def test_a_finished_run_has_no_cursor():
    with pytest.raises(TypeError):
        cursor_of(Finished("SUCCEEDED", {}, None, None))


def test_resume_from_start_is_start():
    defn = load_definition({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    first, second = FakeHost({}), FakeHost({})
    started = start(defn, {"a": 1}, context=CONTEXT, host=first)
    resumed = resume(defn, Cursor(Cursor.START), input={"a": 1}, context=CONTEXT, host=second)
    assert resumed == started == Finished("SUCCEEDED", {"a": 1}, None, None)
    assert second.events == first.events


def test_a_cursor_in_a_state_of_another_type_is_refused():
    defn = load_definition({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    for kind in (Cursor.TASK, Cursor.RETRY, Cursor.WAIT, Cursor.CHILDREN):
        with pytest.raises(ValueError, match='state "P" is a Pass state'):
            resume(defn, Cursor(kind, state="P"), context=CONTEXT, host=FakeHost({}))


def test_a_task_cursor_needs_the_tasks_result():
    task = {"Type": "Task", "Resource": CALLBACK, "End": True}
    defn = load_definition({"StartAt": "T", "States": {"T": task}})
    waiting = start(defn, {}, context=CONTEXT, host=FakeHost({}))
    assert isinstance(waiting, Waiting)
    with pytest.raises(ValueError, match="the task's result"):
        resume(defn, cursor_of(waiting), context=CONTEXT, host=FakeHost({}))
    done = resume(
        defn, cursor_of(waiting), task_result=TaskSuccess(1), context=CONTEXT, host=FakeHost({})
    )
    assert done == Finished("SUCCEEDED", 1, None, None)
