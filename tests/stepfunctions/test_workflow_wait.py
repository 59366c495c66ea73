"""The Wait state in the interpreter, as the ASL reference and Step Functions run it.

Exactly one of Seconds, Timestamp, SecondsPath and TimestampPath; InputPath, OutputPath and
Assign as in a Pass state; WaitStateEntered, then WaitStateExited once the time has come. A time
already past (or 0 seconds) goes straight on. A path to anything else fails the execution with
States.Runtime, its cause worded as AWS words it.
"""

import pytest

from stepfunctions.workflow import (
    DefinitionError,
    Delayed,
    Finished,
    cursor_of,
    load_definition,
    resume,
    start,
)
from tests.stepfunctions.workflow_host import CONTEXT, Host, machine, run

# The fake host's clock reads 2024-05-01T12:00:05Z.
PREFIX = "An error occurred while executing the state 'W' (entered at the event id #2). "


def _wait(data=None, **fields):
    states = {"W": {"Type": "Wait", "Next": "Done"} | fields, "Done": {"Type": "Pass", "End": True}}
    return run(states, {} if data is None else data)


def test_seconds_waits_then_wait_state_exited_goes_on_to_next():
    states = {
        "W": {"Type": "Wait", "Seconds": 10, "InputPath": "$.order", "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    }
    defn = machine(states)
    host = Host()
    delayed = start(defn, {"order": {"id": 7}}, context=CONTEXT, host=host)
    assert delayed == Delayed("W", {"id": 7}, 10.0)
    assert host.types() == ["ExecutionStarted", "WaitStateEntered"]
    assert host.last("WaitStateEntered") == {"name": "W", "input": '{"order":{"id":7}}'}

    later = Host()
    done = resume(defn, cursor_of(delayed), context=CONTEXT, host=later)
    assert done == Finished("SUCCEEDED", {"id": 7}, None, None)
    assert later.types() == [
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert later.last("WaitStateExited") == {"name": "W", "output": '{"id":7}'}


@pytest.mark.parametrize(
    "fields",
    [
        {"Seconds": 0},
        {"Timestamp": "2024-05-01T12:00:05Z"},
        {"Timestamp": "2016-03-14T01:59:00Z"},
        {"SecondsPath": "$.s"},
        {"TimestampPath": "$.t"},
    ],
)
def test_a_time_already_come_goes_straight_on(fields):
    done, host = _wait({"s": 0, "t": "2020-01-01T00:00:00.123+01:00"}, **fields)
    assert done.status == "SUCCEEDED"
    assert host.types()[:3] == ["ExecutionStarted", "WaitStateEntered", "WaitStateExited"]


@pytest.mark.parametrize(
    ("fields", "data", "delay"),
    [
        ({"Timestamp": "2024-05-01T12:01:05Z"}, {}, 60.0),
        ({"Timestamp": "2024-05-01T14:00:05.5+02:00"}, {}, 0.5),
        ({"SecondsPath": "$.wait"}, {"wait": 31_536_000}, 31_536_000.0),
        ({"TimestampPath": "$.at"}, {"at": "2025-05-01T12:00:05Z"}, 365 * 86400.0),
        ({"SecondsPath": "$$.Execution.Input.order"}, {}, 1.0),
    ],
)
def test_timestamp_and_paths_give_the_time_left_from_now(fields, data, delay):
    delayed, _ = _wait(data, **fields)
    assert isinstance(delayed, Delayed) and delayed.delay_seconds == delay


def test_seconds_path_may_name_a_variable_and_a_wait_state_may_assign():
    states = {
        "Set": {"Type": "Pass", "Assign": {"pause": 30}, "Next": "W"},
        "W": {
            "Type": "Wait",
            "SecondsPath": "$pause",
            "Assign": {"waited.$": "$pause"},
            "End": True,
        },
    }
    delayed, _ = run(states, {})
    assert delayed == Delayed("W", {}, 30.0, {"pause": 30, "waited": 30})


@pytest.mark.parametrize(
    ("fields", "data", "cause"),
    [
        (
            {"SecondsPath": "$.s"},
            {},
            "The SecondsPath parameter does not reference an input value: $.s",
        ),
        (
            {"SecondsPath": "$.s"},
            {"s": "ten"},
            "The SecondsPath parameter cannot be parsed as a long value: $.s == ten",
        ),
        (
            {"SecondsPath": "$.s"},
            {"s": 1.5},
            "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5",
        ),
        (
            {"SecondsPath": "$.s"},
            {"s": -1},
            "The SecondsPath parameter references a negative value: $.s == -1",
        ),
        (
            {"SecondsPath": "$.s"},
            {"s": 100_000_000},
            "The SecondsPath parameter references a value larger than 99999999: $.s == 100000000",
        ),
        (
            {"TimestampPath": "$.t"},
            {"t": "2024-05-01 12:00:00"},
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            "date-time format string: $.t == 2024-05-01 12:00:00",
        ),
        (
            {"TimestampPath": "$.t"},
            {"t": 1714564805},
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            "date-time format string: $.t == 1714564805",
        ),
        (
            {"TimestampPath": "$.t"},
            {"t": {"at": 1}},
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            'date-time format string: $.t == {"at":1}',
        ),
    ],
)
def test_a_path_to_anything_but_a_time_fails_with_states_runtime(fields, data, cause):
    done, host = _wait(data, **fields)
    assert (done.status, done.error, done.cause) == ("FAILED", "States.Runtime", PREFIX + cause)
    assert "WaitStateExited" not in host.types()


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({}, "Seconds", "exactly one of Seconds, Timestamp"),
        ({"Seconds": 1, "SecondsPath": "$.s"}, "SecondsPath", "exactly one of"),
        ({"Timestamp": "2016-03-14T01:59:00Z", "TimestampPath": "$.t"}, "TimestampPath", "one"),
        ({"Seconds": -1}, "Seconds", "between 0 and 99999999"),
        ({"Seconds": 1.5}, "Seconds", "between 0 and 99999999"),
        ({"Seconds": True}, "Seconds", "between 0 and 99999999"),
        ({"Seconds": 100_000_000}, "Seconds", "between 0 and 99999999"),
        ({"Timestamp": "tomorrow"}, "Timestamp", "ISO-8601"),
        ({"Timestamp": "2016-03-14T01:59:00"}, "Timestamp", "ISO-8601"),
        ({"Timestamp": "2016-03-14t01:59:00z"}, "Timestamp", "ISO-8601"),
        ({"Timestamp": "2016-13-14T01:59:00Z"}, "Timestamp", "ISO-8601"),
        ({"SecondsPath": 5}, "SecondsPath", "JSONPath"),
        ({"TimestampPath": "$..t"}, "TimestampPath", ""),
        ({"Seconds": 1, "Parameters": {}}, "Parameters", "unknown field"),
    ],
)
def test_a_bad_wait_state_is_refused_on_load_naming_the_field(fields, field, fragment):
    doc = {"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True} | fields}}
    with pytest.raises(DefinitionError) as info:
        load_definition(doc)
    assert (info.value.state, info.value.field) == ("W", field)
    assert fragment in info.value.message


def test_a_wait_state_needs_next_or_end():
    doc = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1}}}
    with pytest.raises(DefinitionError, match="exactly one of Next and End"):
        load_definition(doc)
