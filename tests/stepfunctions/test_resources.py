"""The engine's Task resources: `events:putEvents` checks each entry as EventBridge does.

EventBridge answers a failed entry with an ErrorCode and ErrorMessage in its place in the
response; Step Functions' optimized integration then fails the task with
EventBridge.FailedEntry, the response's JSON as the cause (connect-eventbridge in the Step
Functions guide; PutEventsResultEntry in the EventBridge API reference).
"""

import json

import pytest

from stepfunctions import resources, services
from stepfunctions.models import Event, Execution
from stepfunctions.workflow import StatesError

GOOD = {"Source": "test", "DetailType": "Tested", "Detail": {"a": 1}}


def _put(entries):
    """Runs the putEvents handler; returns (its answer or StatesError, the entries it put)."""
    put = []

    def emit(accepted):
        put.extend(accepted)
        return [f"id-{len(put) - len(accepted) + i}" for i in range(len(accepted))]

    invocation = resources.Invocation(None, "Emit", None, emit)
    try:
        return resources.invoke(resources.PUT_EVENTS, {"Entries": entries}, invocation), put
    except StatesError as error:
        return error, put


def test_valid_entries_are_put_and_answered_with_their_event_ids():
    answer, put = _put([GOOD, {**GOOD, "Detail": '{"b": [1]}'}])
    assert answer == {"Entries": [{"EventId": "id-0"}, {"EventId": "id-1"}], "FailedEntryCount": 0}
    assert [entry["Detail"] for entry in put] == [{"a": 1}, {"b": [1]}]


@pytest.mark.parametrize("member", ["Source", "DetailType", "Detail"])
@pytest.mark.parametrize("absent", ["missing", "empty"])
def test_an_entry_without_source_detail_type_or_detail_is_invalid_argument(member, absent):
    entry = {k: v for k, v in GOOD.items() if k != member}
    if absent == "empty":
        entry[member] = ""
    error, _ = _put([entry])
    assert isinstance(error, StatesError) and error.error == "EventBridge.FailedEntry"
    message = f"Parameter {member} is not valid. Reason: {member} is a required argument."
    assert json.loads(error.cause) == {
        "Entries": [{"ErrorCode": "InvalidArgument", "ErrorMessage": message}],
        "FailedEntryCount": 1,
    }


@pytest.mark.parametrize("detail", ["not json", "[1, 2]", '"text"', "7", [1, 2], 7, True])
def test_a_detail_that_is_not_a_json_object_is_malformed_detail(detail):
    error, put = _put([{**GOOD, "Detail": detail}])
    assert error.error == "EventBridge.FailedEntry"
    assert json.loads(error.cause)["Entries"] == [
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    ]
    assert put == []


def test_the_valid_entries_of_a_request_with_a_failed_one_are_still_put_as_eventbridge_does():
    error, put = _put([GOOD, {**GOOD, "Detail": "{"}, {"Source": "test", "Detail": {}}])
    assert error.error == "EventBridge.FailedEntry"
    assert json.loads(error.cause) == {
        "Entries": [
            {"EventId": "id-0"},
            {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."},
            {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": "Parameter DetailType is not valid. Reason: DetailType is a "
                "required argument.",
            },
        ],
        "FailedEntryCount": 2,
    }
    assert put == [GOOD]


@pytest.mark.parametrize(
    ("entry", "member"),
    [
        ("not an object", "Entry"),
        ({**GOOD, "Source": 5}, "Source"),
        ({**GOOD, "DetailType": "t" * 129}, "DetailType"),
        ({**GOOD, "EventBusName": ["bus"]}, "EventBusName"),
    ],
)
def test_an_entry_the_event_store_cannot_hold_is_invalid_argument(entry, member):
    error, _ = _put([entry])
    failed = json.loads(error.cause)["Entries"][0]
    assert failed["ErrorCode"] == "InvalidArgument"
    assert failed["ErrorMessage"].startswith(f"Parameter {member} is not valid. Reason: ")


def test_a_failed_entry_fails_the_task_with_eventbridge_failed_entry_in_a_real_stage(
    inline_stages,
):
    emit = {
        "Type": "Task",
        "Resource": resources.PUT_EVENTS,
        "Parameters": {"Entries": [GOOD, {"DetailType": "NoSource", "Detail": {}}]},
        "Catch": [{"ErrorEquals": ["EventBridge.FailedEntry"], "Next": "Caught"}],
        "End": True,
    }
    states = {"Emit": emit, "Caught": {"Type": "Pass", "End": True}}
    machine = services.state_machine_create(
        name="PutEventsEntries", definition={"StartAt": "Emit", "States": states}
    )
    execution, _ = services.execution_start(state_machine=machine, input={})
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    failed = execution.history.get(type="TaskFailed").details
    assert failed["error"] == "EventBridge.FailedEntry"
    response = json.loads(failed["cause"])
    assert response["FailedEntryCount"] == 1
    assert response["Entries"][1]["ErrorCode"] == "InvalidArgument"
    assert execution.output == {"Error": "EventBridge.FailedEntry", "Cause": failed["cause"]}
    # The valid entry is on the bus, as EventBridge puts it; its id is the one answered.
    event = Event.objects.get(execution=execution)
    assert (event.source, event.detail) == ("test", {"a": 1})
    assert response["Entries"][0] == {"EventId": str(event.id)}
