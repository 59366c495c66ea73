"""Nested executions: a Task state that starts an execution of a state machine on this engine.

- `arn:aws:states:::states:startExecution`: fire and forget; the task's result is StartExecution's
  response (`ExecutionArn`, `StartDate`).
- `.waitForTaskToken`: the same start; the parent waits on its task token like any callback (the
  child is given the token in its input by the definition, `"TaskToken.$": "$$.Task.Token"`).
- `.sync` / `.sync:2`: the parent waits for the child to end. The interpreter opens a task token
  for the wait as for a callback (never shown to anyone); the child keeps it (Execution.
  parent_token), and the transaction that ends the child closes it, waking the parent, with one
  conditional statement (CallbackToken.objects.close_and_wake: the parent's row, then the
  token's, as every callback takes them). The result is DescribeExecution's shape: `Input` and
  `Output` as JSON text for `.sync`, as JSON for `.sync:2`. A child that does not succeed fails
  the task with States.TaskFailed, the same shape (with `Error` and `Cause`) as its cause.

The child starts in the parent's stage transaction, so a stage that rolls back (and runs again)
starts no orphan. The child is an ordinary execution: listed, described and stoppable through
the API; stopping the parent leaves it running, as on AWS.

A plug-in on the services: `register()` (from stepfunctions.apps) adds the Task resources and
hears every execution's end through hooks.on_execution_closed; the services never name it.
"""

import json
from datetime import datetime
from typing import Any

from stepfunctions import hooks, resources
from stepfunctions.errors import (
    ExecutionAlreadyExists,
    InvalidExecutionInput,
    InvalidName,
    StateMachineDoesNotExist,
)
from stepfunctions.models import CallbackToken, Execution
from stepfunctions.services.children import definition_of
from stepfunctions.services.executions import execution_start
from stepfunctions.services.messages import stages_nudge
from stepfunctions.services.state_machines import state_machine_get
from stepfunctions.services.versions import start_target
from stepfunctions.workflow import StatesError

START_EXECUTION = "arn:aws:states:::states:startExecution"
SYNC, SYNC_JSON = ".sync", ".sync:2"
TASK_FAILED = "States.TaskFailed"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _child_start(parameters: Any, *, parent_token: str = "") -> Execution:
    """Starts the execution StartExecution's parameters name; refusals are the task's errors,
    named as the integration names them on AWS (`StepFunctions.<Exception>`)."""
    if not isinstance(parameters, dict) or not isinstance(parameters.get("StateMachineArn"), str):
        raise StatesError("StepFunctions.InvalidArn", "StateMachineArn is required")
    data = parameters.get("Input", {})
    try:
        named = parameters["StateMachineArn"]
        if named.startswith("arn:"):  # a version's or an alias's ARN starts that version
            machine, version, qualifier = start_target(arn=named)
        else:
            machine, version, qualifier = state_machine_get(arn_or_name=named), None, ""
        execution, created = execution_start(
            state_machine=machine,
            input=data,
            name=parameters.get("Name"),
            version=version,
            qualifier=qualifier,
        )
    except (
        StateMachineDoesNotExist,
        ExecutionAlreadyExists,
        InvalidExecutionInput,
        InvalidName,
    ) as error:
        raise StatesError(f"StepFunctions.{type(error).__name__}Exception", str(error)) from None
    if parent_token:
        if not created:  # a running twin already has its own waiter (or none)
            message = f"Execution Already Exists: '{execution.name}'"
            raise StatesError("StepFunctions.ExecutionAlreadyExistsException", message)
        Execution.objects.filter(pk=execution.pk).update(parent_token=parent_token)
    return execution


def _started(execution: Execution) -> dict:
    return {"ExecutionArn": execution.arn, "StartDate": _millis(execution.start_date)}


def _start_execution(parameters: Any, invocation: resources.Invocation) -> dict:
    """Fire and forget, or (with .waitForTaskToken) a callback the child answers."""
    return _started(_child_start(parameters))


def _start_execution_sync(parameters: Any, invocation: resources.Invocation) -> dict:
    return _started(_child_start(parameters, parent_token=invocation.token or ""))


def described(execution: Execution, *, as_json: bool) -> dict:
    """The child as DescribeExecution gives it, the shape a `.sync` task's result (or, for a
    failure, its cause) takes: dates in epoch milliseconds; Input and Output as JSON text, or
    (`.sync:2`) as JSON."""

    def data(value: Any) -> Any:
        return value if as_json else _compact(value)

    shape = {
        "ExecutionArn": execution.arn,
        "Input": data(execution.input),
        "InputDetails": {"Included": True},
        "Name": execution.name,
        "RedriveCount": execution.redrive_count,
        "StartDate": _millis(execution.start_date),
        "StateMachineArn": execution.state_machine.arn,
        "Status": execution.status,
        "StopDate": _millis(execution.stop_date),
    }
    if execution.status == Execution.Status.SUCCEEDED:
        shape |= {"Output": data(execution.output), "OutputDetails": {"Included": True}}
    else:
        shape |= {
            key: value
            for key, value in (("Error", execution.error), ("Cause", execution.cause))
            if value
        }
    return shape


def child_closed(execution: Execution, how: str) -> None:
    """An execution a `.sync` task waits for has ended, however it ended (its last stage, a stop,
    its TimeoutSeconds, a poisoned stage: hooks.on_execution_closed, in the caller's transaction,
    its row locked): the task's token closes with its result and the parent is due; once only (a
    parent stopped or timed out meanwhile keeps its closed token). A child deleted with its state
    machine wakes nobody."""
    if not execution.parent_token or how == hooks.DELETED:
        return
    now = execution.stop_date
    waiting = (
        CallbackToken.objects.select_related("execution__version", "execution__group")
        .filter(token=execution.parent_token)
        .first()
    )
    if waiting is None:
        return
    resource = definition_of(waiting.execution).state(waiting.state_name).resource or ""
    shape = described(execution, as_json=resource.endswith(SYNC_JSON))
    if execution.status == Execution.Status.SUCCEEDED:
        status, outcome = CallbackToken.Status.SUCCEEDED, {"output": shape}
    else:
        status = CallbackToken.Status.FAILED
        outcome = {"error": TASK_FAILED, "cause": _compact(shape)}
    closed = CallbackToken.objects.close_and_wake(
        execution.parent_token, status=status, outcome=outcome, now=now
    )
    if closed is not None:
        stages_nudge()


def register() -> None:
    """Registers the `states:startExecution` Task resources and the `.sync` tasks' waiter
    (called once, from stepfunctions.apps)."""
    resources.resource(START_EXECUTION)(_start_execution)
    resources.resource(START_EXECUTION + SYNC)(_start_execution_sync)
    resources.resource(START_EXECUTION + SYNC_JSON)(_start_execution_sync)
    hooks.on_execution_closed(child_closed)
