"""Activities (`arn:aws:states:<region>:<account>:activity:<name>`), through the services: create
is idempotent by name, a task goes to one worker with its input and an ActivityStarted naming the
worker, the worker's answer drives the state (Retry and Catch on its error), a vanished worker's
task times out by HeartbeatSeconds, and history reads as AWS writes it."""

import itertools
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from stepfunctions import services
from stepfunctions.errors import (
    ActivityDoesNotExist,
    InvalidArn,
    InvalidName,
    ResourceNotFound,
    TaskTimedOut,
    TooManyTags,
)
from stepfunctions.models import Activity, CallbackToken, Execution, Tag
from stepfunctions.services.activities import (
    activity_create,
    activity_delete,
    activity_get,
    activity_task_claim,
    activity_task_poll,
)
from stepfunctions.services.tags import tags_add, tags_of
from tests.stepfunctions.test_races import _run_together

_names = itertools.count()


def activity_machine(activity: Activity, **task) -> object:
    """A machine of one activity Task state ("Work", its input `{"n.$": "$.n"}`), with `task`'s
    fields on top, and a "Caught" state its Catch may go to."""
    work = {
        "Type": "Task",
        "Resource": activity.arn,
        "Parameters": {"n.$": "$.n"},
        "ResultPath": "$.result",
        "End": True,
        **task,
    }
    definition = {
        "StartAt": "Work",
        "States": {"Work": work, "Caught": {"Type": "Pass", "End": True}},
    }
    return services.state_machine_create(name=f"Activities{next(_names)}", definition=definition)


def history(execution: Execution) -> list[tuple[str, dict]]:
    return [(e.type, e.details) for e in execution.history.order_by("event_id")]


def types(execution: Execution) -> list[str]:
    return [event_type for event_type, _ in history(execution)]


@pytest.fixture
def activity(transactional_db):
    return activity_create(name="resize-images")[0]


def start(machine, n: int = 1) -> Execution:
    return services.execution_start(state_machine=machine, input={"n": n})[0]


def test_create_is_idempotent_by_name_and_describe_delete_follow(transactional_db):
    first, created = activity_create(name="resize", tags=[{"key": "team", "value": "a"}])
    again, created_again = activity_create(name="resize", tags=[{"key": "team", "value": "b"}])
    assert created and not created_again
    assert again.pk == first.pk and again.arn == first.arn
    assert first.arn == "arn:aws:states:us-east-1:123456789012:activity:resize"
    assert tags_list(first.arn) == [("team", "a")]  # as first given
    tags_add(resource_arn=first.arn, tags=[{"key": "stage", "value": "prod"}])  # TagResource
    assert tags_list(first.arn) == [("stage", "prod"), ("team", "a")]
    assert activity_get(arn=first.arn).name == "resize"
    with pytest.raises(InvalidName):
        activity_create(name="has space")
    with pytest.raises(InvalidArn):
        activity_get(arn="arn:aws:states:us-east-1:123456789012:stateMachine:resize")
    activity_delete(arn=first.arn)
    activity_delete(arn=first.arn)  # deleting twice succeeds, as DeleteActivity does
    with pytest.raises(ActivityDoesNotExist):
        activity_get(arn=first.arn)
    assert not Tag.objects.exists()  # its tags went with it
    with pytest.raises(ResourceNotFound):
        tags_add(resource_arn=first.arn, tags=[{"key": "team", "value": "c"}])
    with pytest.raises(TooManyTags):  # AWS's limits, as for a state machine: nothing created
        activity_create(name="tagged", tags=[{"key": f"k{i}", "value": ""} for i in range(51)])
    assert not Activity.objects.filter(name="tagged").exists()


def tags_list(arn: str) -> list[tuple[str, str]]:
    return sorted((tag.key, tag.value) for tag in tags_of(resource_arn=arn))


def test_a_worker_gets_the_task_and_its_answer_ends_the_state(inline_stages, activity):
    execution = start(activity_machine(activity, HeartbeatSeconds=30, TimeoutSeconds=300), n=4)
    scheduled = dict(history(execution))["ActivityScheduled"]
    assert scheduled == {
        "resource": activity.arn,
        "input": '{"n":4}',
        "inputDetails": {"truncated": False},
        "timeoutInSeconds": 300,
        "heartbeatInSeconds": 30,
    }
    task = activity_task_claim(activity=activity, worker_name="worker-1")
    assert task is not None and json.loads(task["input"]) == {"n": 4}
    assert activity_task_claim(activity=activity, worker_name="worker-2") is None  # taken
    assert dict(history(execution))["ActivityStarted"] == {"workerName": "worker-1"}
    services.task_heartbeat(task_token=task["taskToken"])
    services.task_success(task_token=task["taskToken"], output='{"resized": 4}')
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output == {"n": 4, "result": {"resized": 4}}
    assert types(execution) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert dict(history(execution))["ActivitySucceeded"] == {
        "output": '{"resized":4}',
        "outputDetails": {"truncated": False},
    }


def test_a_failure_goes_through_retry_then_catch_by_its_error_name(inline_stages, activity):
    machine = activity_machine(
        activity,
        Retry=[{"ErrorEquals": ["ImageTooLarge"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        Catch=[{"ErrorEquals": ["ImageTooLarge"], "ResultPath": "$.error", "Next": "Caught"}],
    )
    execution = start(machine)
    first = activity_task_claim(activity=activity, worker_name="w")
    services.task_failure(task_token=first["taskToken"], error="ImageTooLarge", cause="9000px")
    # The retry is a new task (a fresh token), scheduled after IntervalSeconds.
    Execution.objects.filter(pk=execution.pk).update(due_at=timezone.now())
    services.stages_run_due()
    second = activity_task_claim(activity=activity, worker_name="w")
    assert second is not None and second["taskToken"] != first["taskToken"]
    services.task_failure(task_token=second["taskToken"], error="ImageTooLarge", cause="9001px")
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output["error"] == {"Error": "ImageTooLarge", "Cause": "9001px"}
    failed = [d for t, d in history(execution) if t == "ActivityFailed"]
    assert failed == [
        {"error": "ImageTooLarge", "cause": "9000px"},
        {"error": "ImageTooLarge", "cause": "9001px"},
    ]
    assert types(execution).count("ActivityScheduled") == 2


def test_a_vanished_workers_task_times_out_by_its_heartbeat(inline_stages, activity):
    machine = activity_machine(
        activity,
        HeartbeatSeconds=10,
        Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Caught"}],
    )
    execution = start(machine)
    task = activity_task_claim(activity=activity, worker_name="gone")
    assert task is not None  # ... and the worker is never heard from again
    assert services.tokens_expire(now=timezone.now() + timedelta(seconds=5)) == 0
    assert services.tokens_expire(now=timezone.now() + timedelta(seconds=11)) == 1
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED  # caught
    timed_out = [d for t, d in history(execution) if t == "ActivityTimedOut"]
    assert timed_out == [{"error": "States.Timeout", "cause": ""}]
    with pytest.raises(TaskTimedOut):  # the worker's late answer is refused
        services.task_success(task_token=task["taskToken"], output="{}")


def test_a_task_no_worker_took_times_out_too_and_is_not_handed_out_after(inline_stages, activity):
    execution = start(activity_machine(activity, TimeoutSeconds=60))
    services.tokens_expire(now=timezone.now() + timedelta(seconds=61))
    assert activity_task_claim(activity=activity) is None
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FAILED and execution.error == "States.Timeout"
    assert "ActivityStarted" not in types(execution)
    assert types(execution)[-2:] == ["ActivityTimedOut", "ExecutionFailed"]


def test_a_missing_activity_fails_the_schedule_and_a_deleted_ones_tasks_wait_out(
    inline_stages, activity
):
    machine = activity_machine(activity, TimeoutSeconds=60)
    pending = start(machine)
    activity_delete(arn=activity.arn)
    # Its task is no longer handed out (a re-created activity is a new one), and times out.
    again, _ = activity_create(name=activity.name)
    assert activity_task_claim(activity=again) is None
    services.tokens_expire(now=timezone.now() + timedelta(seconds=61))
    pending.refresh_from_db()
    assert pending.error == "States.Timeout"
    activity_delete(arn=activity.arn)
    failed = start(machine)
    failed.refresh_from_db()
    assert failed.status == Execution.Status.FAILED and failed.error == "ActivityDoesNotExist"
    schedule_failed = dict(history(failed))["ActivityScheduleFailed"]
    assert schedule_failed["error"] == "ActivityDoesNotExist"


def test_the_poll_answers_empty_after_its_seconds(transactional_db, activity):
    assert activity_task_poll(activity=activity, seconds=0.3) is None


def test_a_task_in_a_parallel_branch_is_started_in_the_top_level_history(inline_stages, activity):
    branch = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity.arn, "End": True}},
    }
    definition = {
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "Branches": [branch], "End": True}},
    }
    machine = services.state_machine_create(name="ActivitiesParallel", definition=definition)
    execution = start(machine)
    services.stages_run_due()
    task = activity_task_claim(activity=activity, worker_name="branch-worker")
    assert task is not None
    assert dict(history(execution))["ActivityStarted"] == {"workerName": "branch-worker"}
    services.task_success(task_token=task["taskToken"], output='"done"')
    services.stages_run_due()
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED and execution.output == ["done"]
    ids = [e.event_id for e in execution.history.order_by("event_id")]
    assert ids == list(range(1, len(ids) + 1))


def test_workers_racing_get_each_task_once(inline_stages, activity):
    machine = activity_machine(activity)
    tasks = 12
    for n in range(tasks):
        start(machine, n)
    claimed: list = []

    def worker(name: str):
        def take():
            mine = []
            while (task := activity_task_claim(activity=activity, worker_name=name)) is not None:
                mine.append(task["taskToken"])
            return mine

        return take

    results = _run_together(*(worker(f"w{i}") for i in range(6)))
    for result in results:
        assert isinstance(result, list), result
        claimed.extend(result)
    assert len(claimed) == tasks and len(set(claimed)) == tasks
    tokens = CallbackToken.objects.filter(activity=activity)
    assert tokens.filter(started_at__isnull=True).count() == 0
    # Each execution's history has exactly one ActivityStarted.
    for execution in Execution.objects.filter(state_machine=machine):
        assert types(execution).count("ActivityStarted") == 1


def test_the_admin_lists_activities_with_their_waiting_tasks(inline_stages, admin_client):
    busy, _ = activity_create(name="busy-activity")
    activity_create(name="quiet-activity")
    machine = activity_machine(busy)
    for n in range(3):
        start(machine, n)
    activity_task_claim(activity=busy, worker_name="w")  # taken: no longer waiting
    page = admin_client.get("/admin/stepfunctions/activity/")
    assert page.status_code == 200
    rows = {
        re.search(r'field-name"><a [^>]*>([^<]+)</a>', row)[1]: row
        for row in page.content.decode().split("<tr")[1:]
        if 'class="field-name"' in row
    }
    assert set(rows) == {"busy-activity", "quiet-activity"}
    assert busy.arn in rows["busy-activity"]
    assert '<td class="field-tasks_waiting">2</td>' in rows["busy-activity"]
    assert '<td class="field-tasks_waiting">0</td>' in rows["quiet-activity"]
    assert admin_client.get("/admin/stepfunctions/activity/add/").status_code == 403


def test_a_task_whose_started_event_cannot_be_written_is_handed_out_all_the_same(
    inline_stages, activity, monkeypatch
):
    from django.db import OperationalError

    execution = start(activity_machine(activity))

    def locked(**kwargs):
        raise OperationalError("canceling statement due to lock timeout")

    monkeypatch.setattr(Execution.objects, "event_ids_reserve", locked)
    task = activity_task_claim(activity=activity, worker_name="w")
    assert task is not None  # taken (the claim committed): the worker gets it
    assert "ActivityStarted" not in types(execution)
    monkeypatch.undo()
    services.task_success(task_token=task["taskToken"], output="{}")
    assert Execution.objects.get().status == Execution.Status.SUCCEEDED
