"""Celery tasks as Task states (`arn:aws:states:::celery:task.sync`): the execution waits on a
task token while the task runs on the task queue; its return value is the state's result, its
exception the state's error; heartbeats, timeouts, late and repeated results as for callbacks."""

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from celery import shared_task
from django.utils import timezone

from serverlesspresso import celery_app
from stepfunctions import services
from stepfunctions.errors import TaskTimedOut
from stepfunctions.integrations.celery_tasks import (
    CELERY_TASK,
    celery_task_run,
    current_task_token,
    heartbeat,
)
from stepfunctions.models import CallbackToken, Execution, TaskMessage
from stepfunctions.services.messages import RUN_CELERY_TASK, queue_length
from stepfunctions.services.task_messages import task_message_taken, task_messages_resend
from tests.conftest import open_token

SYNC = CELERY_TASK + ".sync"
WORK = "Work"
calls: list = []
_machines = itertools.count()
clocks: list = []


class PaymentDeclined(Exception):
    pass


@shared_task(name="tests.celery_tasks.add")
def add(a: int, b: int, *, scale: int = 1) -> dict:
    calls.append("add")
    return {"sum": (a + b) * scale}


@shared_task(name="tests.celery_tasks.decline")
def decline(amount: int) -> None:
    raise PaymentDeclined(f"card declined for {amount}")


@shared_task(name="tests.celery_tasks.flaky")
def flaky() -> str:
    calls.append("flaky")
    if len(calls) < 3:
        raise ConnectionError("try again")
    return "done"


@shared_task(name="tests.celery_tasks.large")
def large() -> str:
    return "x" * 300_000


@shared_task(name="tests.celery_tasks.not_json")
def not_json() -> object:
    return object()


@shared_task(name="tests.celery_tasks.nul")
def nul() -> str:
    return "a\x00b"  # JSON, but not what a callback's output may hold (nor PostgreSQL store)


@shared_task(name="tests.celery_tasks.beating")
def beating(start: float) -> str:
    """Works for 24 seconds of a 10-second HeartbeatSeconds, beating every 8 (the clock is left
    at the end of its work, in `clocks`, for the runner's result)."""
    begun = datetime.fromtimestamp(start, tz=UTC)
    for seconds in (8, 16, 24):
        clocks.append(time_machine.travel(begun + timedelta(seconds=seconds), tick=False))
        clocks[-1].start()
        heartbeat()
        assert services.tokens_expire() == 0
    return "alive"


@shared_task(name="tests.celery_tasks.redelivered")
def redelivered() -> str:
    """The first run's message is delivered again while it runs (a worker lost the ack): the
    second run answers first; the first run's own result then comes too late."""
    calls.append("run")
    if len(calls) == 1:
        assert celery_task_run(
            token=current_task_token(), task=redelivered.name, args=[], kwargs={}
        ) == ("succeeded")
        return "first"
    return "second"


def definition(parameters: dict, **fields) -> dict:
    task = {"Type": "Task", "Resource": SYNC, "Parameters": parameters, "End": True}
    return {"StartAt": WORK, "States": {WORK: task | fields}}


def caught(*errors: str) -> dict:
    """Catch for `errors`, the error output in $.error, then a Pass state that ends."""
    return {"Catch": [{"ErrorEquals": list(errors), "ResultPath": "$.error", "Next": "Caught"}]}


def start(document: dict, data: dict | None = None) -> Execution:
    if "Catch" in document["States"][WORK]:
        document["States"][WORK].pop("End")
        document["States"][WORK]["Next"] = "Done"
        document["States"]["Done"] = {"Type": "Pass", "End": True}
        document["States"]["Caught"] = {"Type": "Pass", "End": True}
    name = f"CeleryTask{next(_machines)}"
    machine = services.state_machine_create(name=name, definition=document)
    execution, _ = services.execution_start(state_machine=machine, input=data or {})
    execution.refresh_from_db()
    return execution


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()


@pytest.fixture
def sent(inline_stages, monkeypatch):
    """The runner's messages, kept rather than run: the test delivers them when it chooses."""
    messages: list[dict] = []

    def keep(args, **options):
        messages.append({"args": args, **options})

    monkeypatch.setattr(celery_app.tasks[RUN_CELERY_TASK], "apply_async", keep)
    return messages


def deliver(message: dict) -> str:
    token, task, args, kwargs = message["args"]
    return celery_task_run(token=token, task=task, args=args, kwargs=kwargs)


def test_the_return_value_is_the_state_result(inline_stages):
    parameters = {"Task": add.name, "Args.$": "$.numbers", "Kwargs": {"scale": 10}}
    execution = start(definition(parameters, ResultPath="$.result"), {"numbers": [2, 3]})
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"numbers": [2, 3], "result": {"sum": 50}}
    types = list(execution.history.order_by("event_id").values_list("type", flat=True))
    assert types[1:6] == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]
    submitted = execution.history.get(type="TaskSubmitted").details
    assert (submitted["resourceType"], submitted["resource"]) == ("celery", "task.sync")
    assert set(json.loads(submitted["output"])) == {"TaskId"}


def test_the_execution_waits_while_the_task_is_on_the_queue(sent, settings):
    execution = start(definition({"Task": add.name, "Args": [1, 2]}))
    assert execution.status == "RUNNING" and execution.stage == Execution.Stage.WAITING
    assert calls == []  # nothing ran in the stage
    [message] = sent
    assert message["queue"] == settings.STEPFUNCTIONS_TASK_QUEUE == "stepfunctions-tasks"
    assert message["queue"] != celery_app.conf.task_default_queue  # the stages' queue
    submitted = json.loads(execution.history.get(type="TaskSubmitted").details["output"])
    assert message["task_id"] == submitted["TaskId"]
    assert deliver(message) == "succeeded"
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"sum": 3})


def test_a_state_names_its_own_queue_but_never_the_stages_queue(sent):
    start(definition({"Task": add.name, "Args": [1, 2], "Queue": "reports"}))
    assert [message["queue"] for message in sent] == ["reports"]
    stages = {"Task": add.name, "Queue": celery_app.conf.task_default_queue}
    execution = start(definition(stages, **caught("Celery.InvalidParameters")))
    assert execution.output["error"]["Error"] == "Celery.InvalidParameters"
    assert len(sent) == 1


def test_an_exception_is_caught_by_its_class_name_with_lambdas_cause(inline_stages):
    execution = start(definition({"Task": decline.name, "Args": [12]}, **caught("PaymentDeclined")))
    assert execution.status == "SUCCEEDED"
    error = execution.output["error"]
    assert error["Error"] == "PaymentDeclined"
    cause = json.loads(error["Cause"])
    assert cause["errorType"] == "PaymentDeclined"
    assert cause["errorMessage"] == "card declined for 12"
    assert any("raise PaymentDeclined" in frame for frame in cause["stackTrace"])
    failed = execution.history.get(type="TaskFailed").details
    assert failed["error"] == "PaymentDeclined"


def test_an_exception_is_retried_by_its_class_name(sent):
    retry = [{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": 1, "MaxAttempts": 3}]
    execution = start(definition({"Task": flaky.name}, Retry=retry))
    for attempt in range(3):
        assert deliver(sent[attempt]) == ("succeeded" if attempt == 2 else "failed")
        if attempt < 2:
            with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
                services.executions_relay()
    execution.refresh_from_db()
    assert (execution.status, execution.output, len(calls)) == ("SUCCEEDED", "done", 3)


def test_an_unknown_task_is_the_states_error(inline_stages):
    execution = start(definition({"Task": "tests.celery_tasks.missing"}, **caught("States.ALL")))
    assert execution.output["error"]["Error"] == "NotRegistered"


def test_a_result_over_256_kib_fails_the_state_as_aws_does(inline_stages):
    execution = start(definition({"Task": large.name}, **caught("States.DataLimitExceeded")))
    assert execution.output["error"]["Error"] == "States.DataLimitExceeded"


def test_a_result_that_is_not_json_is_lambdas_marshal_error(inline_stages):
    execution = start(definition({"Task": not_json.name}, **caught("Runtime.MarshalError")))
    assert execution.output["error"]["Error"] == "Runtime.MarshalError"
    execution = start(definition({"Task": nul.name}, **caught("Runtime.MarshalError")))
    assert execution.output["error"]["Error"] == "Runtime.MarshalError"


def test_a_missed_heartbeat_times_the_state_out_and_the_late_task_never_runs(sent):
    execution = start(
        definition({"Task": add.name, "Args": [1, 2]}, HeartbeatSeconds=10, TimeoutSeconds=60)
    )
    with time_machine.travel(timezone.now() + timedelta(seconds=11), tick=False):
        assert services.tokens_expire() == 1
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Timeout")
    assert execution.history.get(type="TaskTimedOut").details["error"] == "States.Timeout"
    assert deliver(sent[0]) == "skipped"  # delivered after the timeout: runs nothing
    assert calls == []


def test_heartbeats_keep_a_long_task_alive(sent):
    begun = timezone.now()
    parameters = {"Task": beating.name, "Args": [begun.timestamp()]}
    execution = start(definition(parameters, HeartbeatSeconds=10, TimeoutSeconds=60))
    try:
        assert deliver(sent[0]) == "succeeded"
    finally:
        while clocks:
            clocks.pop().stop()
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", "alive")


def test_a_result_after_the_deadline_is_refused_as_a_late_callback(sent):
    execution = start(definition({"Task": add.name, "Args": [1, 2]}, TimeoutSeconds=5))
    token = open_token(execution, WORK)
    with time_machine.travel(timezone.now() + timedelta(seconds=6), tick=False):
        # The deadline has passed, the sweep has not come yet: the task runs, its result is late.
        assert deliver(sent[0]) == "refused"
        with pytest.raises(TaskTimedOut):
            services.task_success(task_token=token, output="{}")
        assert services.tokens_expire() == 1
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Timeout")
    assert calls == ["add"]


def test_a_result_delivered_twice_is_taken_once(sent):
    execution = start(definition({"Task": redelivered.name}))
    assert deliver(sent[0]) == "refused"  # the redelivered run answered while this one ran
    execution.refresh_from_db()
    assert (execution.status, execution.output, calls) == ("SUCCEEDED", "second", ["run", "run"])
    assert deliver(sent[0]) == "skipped"  # and once more, after the result: runs nothing
    assert len(calls) == 2
    assert CallbackToken.objects.get(execution=execution).status == "SUCCEEDED"


def test_heartbeat_outside_a_task_state_is_refused():
    with pytest.raises(RuntimeError):
        heartbeat()


def test_fire_and_forget_sends_the_task_itself(inline_stages):
    document = definition({"Task": add.name, "Args": [4, 5]})
    document["States"][WORK]["Resource"] = CELERY_TASK
    execution = start(document)
    assert execution.status == "SUCCEEDED"
    assert set(execution.output) == {"TaskId"}
    assert calls == ["add"]  # eager here: the task ran as it was sent


def test_the_callback_form_hands_the_task_its_token(inline_stages, monkeypatch):
    received = []
    monkeypatch.setattr(add, "apply_async", lambda **options: received.append(options))
    document = definition({"Task": add.name, "Kwargs": {"token.$": "$$.Task.Token"}})
    document["States"][WORK]["Resource"] = CELERY_TASK + ".waitForTaskToken"
    execution = start(document)
    [message] = received
    assert message["queue"] == "stepfunctions-tasks"
    token = message["kwargs"]["token"]
    assert token == open_token(execution, WORK)
    services.task_success(task_token=token, output='{"answered": true}')
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"answered": True})


def _readme_block(language: str, containing: str) -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)
    [block] = [block for block in blocks if containing in block]
    return block


def test_the_readmes_example_runs_as_written(inline_stages):
    exec(
        _readme_block("python", '"reports.build"'), {}
    )  # registers the task, as autodiscovery would
    document = json.loads(_readme_block("json", "celery:task.sync"))
    machine = services.state_machine_create(name="MonthlyReport", definition=document)
    data = {"customerId": 7, "month": "2026-11"}
    execution, _ = services.execution_start(state_machine=machine, input=data)
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output == data | {
        "report": {"customerId": 7, "month": "2026-11", "rows": 10000}
    }


# --- the outbox: a runner's message lost with the broker is sent again ---------------------------
def _sweep_after(seconds: float) -> int:
    with time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False):
        return task_messages_resend()


def test_a_message_lost_before_a_runner_took_it_is_sent_again(sent, settings):
    execution = start(definition({"Task": add.name, "Args": [1, 2]}))
    [lost] = sent  # the broker lost it: no runner will take it
    assert TaskMessage.objects.filter(execution=execution).count() == 1
    assert _sweep_after(settings.WORKFLOW_STALL_SECONDS - 1) == 0  # not yet: it may be on its way
    assert _sweep_after(settings.WORKFLOW_STALL_SECONDS + 1) == 1
    [_, again] = sent
    assert (again["args"], again["queue"], again["task_id"]) == (
        lost["args"],
        lost["queue"],
        lost["task_id"],
    )
    assert _sweep_after(settings.WORKFLOW_STALL_SECONDS + 2) == 0  # sent just now: not again
    assert deliver(again) == "succeeded"
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"sum": 3})
    assert not TaskMessage.objects.exists()  # taken: the broker's late ack covers it from here
    assert _sweep_after(3 * settings.WORKFLOW_STALL_SECONDS) == 0
    assert calls == ["add"]


def test_a_taken_message_is_not_sent_again_while_its_task_runs(sent, settings):
    execution = start(definition({"Task": add.name, "Args": [1, 2]}))
    [message] = sent
    token = message["args"][0]
    task_message_taken(token=token)  # what the runner does first, before the task's long work
    assert _sweep_after(settings.WORKFLOW_STALL_SECONDS + 1) == 0
    assert len(sent) == 1
    execution.refresh_from_db()
    assert execution.status == "RUNNING"


def test_the_message_of_a_state_that_ended_is_dropped_not_sent(sent, settings):
    execution = start(definition({"Task": add.name, "Args": [1, 2]}))
    services.execution_stop(execution=execution)
    assert _sweep_after(settings.WORKFLOW_STALL_SECONDS + 1) == 0
    assert len(sent) == 1 and not TaskMessage.objects.exists()


@pytest.mark.filterwarnings(
    "ignore::celery.exceptions.AlwaysEagerIgnored"
)  # send_task: a real message
def test_nothing_is_sent_again_while_messages_wait_in_the_queue(sent, settings):
    # A message in line is not lost: sending it again would only run the task twice.
    start(definition({"Task": add.name, "Args": [1, 2]}))
    queue = settings.STEPFUNCTIONS_TASK_QUEUE
    celery_app.send_task("tests.celery_tasks.waiting_in_line", queue=queue)
    try:
        assert queue_length(queue=queue) == 1
        assert _sweep_after(settings.WORKFLOW_STALL_SECONDS + 1) == 0
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
    assert _sweep_after(settings.WORKFLOW_STALL_SECONDS + 1) == 1


def test_two_sweeps_send_a_message_once(sent, settings):
    start(definition({"Task": add.name, "Args": [1, 2]}))
    [record] = TaskMessage.objects.all()
    now = timezone.now()
    assert TaskMessage.objects.resent(record, now=now) is True
    assert TaskMessage.objects.resent(record, now=now) is False  # the second beat's sweep
