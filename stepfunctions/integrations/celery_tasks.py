"""Celery tasks of the project as Task states, run on a worker queue outside the engine's stages.

- `arn:aws:states:::celery:task.sync`: the state waits for the task to end, as AWS's `.sync`
  integrations wait for their job. The interpreter opens a task token for the wait (as for a
  `.waitForTaskToken` callback or a nested `.sync` execution: no worker and no transaction is
  held while the task runs); after the stage commits, a message to the task queue runs the
  engine's runner (`run_celery_task` in stepfunctions.tasks), which runs the named task in its
  worker and closes the token through the callback services: the task's return value becomes
  the state's result, its exception the state's error (the exception's class name, as Lambda's
  `errorType`; the cause Lambda's JSON, `{"errorMessage", "errorType", "stackTrace"}`; a
  `StatesError` keeps its own error and cause: the HTTP Task's call, integrations/http.py,
  runs through this runner as the task `stepfunctions.tasks.http_invoke`).
- `arn:aws:states:::celery:task`: fire and forget; the result is `{"TaskId"}`.
- `arn:aws:states:::celery:task.waitForTaskToken`: the task is sent as it is, and whoever holds
  the token (`"Kwargs": {"token.$": "$$.Task.Token"}`) answers with SendTaskSuccess / Failure.

Parameters: `Task` (the Celery task's registered name), `Args` (a list), `Kwargs` (an object),
`Queue` (the queue for this state; by default settings.STEPFUNCTIONS_TASK_QUEUE, never the
stages' queue, so a long task never delays another execution's stage).

What the callback services guarantee holds here: a result delivered twice (a redelivered
message) is taken once, a result after the state's TimeoutSeconds or HeartbeatSeconds is
refused as a late callback, and a result larger than 262,144 bytes fails the state with
States.DataLimitExceeded. The runner's message goes through an outbox (services.task_messages):
one lost with the broker before a runner took it is sent again. Once taken, it is acked late and
requeued when its worker dies, so a task whose worker was killed runs again (at least once), and
a redelivered message whose token is already closed runs nothing.

A running task keeps its state alive with `heartbeat()` (for HeartbeatSeconds) and may read its
token with `current_task_token()`.
"""

import contextvars
import json
import logging
import traceback
import uuid
from typing import Any

from celery import current_app
from django.conf import settings

from stepfunctions import resources
from stepfunctions.errors import InvalidOutput, InvalidToken, TaskTimedOut, ValidationException
from stepfunctions.selectors import token_is_open
from stepfunctions.services.callbacks import (
    MAX_CAUSE_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_OUTPUT_BYTES,
    task_failure,
    task_heartbeat,
    task_success,
)
from stepfunctions.services.messages import celery_task_send, stages_queue
from stepfunctions.services.task_messages import task_message_send, task_message_taken
from stepfunctions.workflow import StatesError

CELERY_TASK = "arn:aws:states:::celery:task"
SYNC = ".sync"
DEFAULT_QUEUE = "stepfunctions-tasks"
INVALID = "Celery.InvalidParameters"
DATA_LIMIT = "States.DataLimitExceeded"
# Lambda's errorType for a return value that cannot be sent as JSON.
MARSHAL_ERROR = "Runtime.MarshalError"

logger = logging.getLogger(__name__)
_current_token: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stepfunctions_task_token", default=None
)


def task_queue() -> str:
    """The queue the Task states' Celery tasks go to unless a state names its own."""
    return getattr(settings, "STEPFUNCTIONS_TASK_QUEUE", DEFAULT_QUEUE)


def _parameters_read(parameters: Any) -> tuple[str, list, dict, str]:
    """(task name, args, kwargs, queue) from the state's parameters; errors as the state's."""
    if not isinstance(parameters, dict) or not isinstance(parameters.get("Task"), str):
        raise StatesError(INVALID, "Task (a Celery task's registered name) is required")
    args, kwargs = parameters.get("Args", []), parameters.get("Kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise StatesError(INVALID, "Args must be a list and Kwargs an object")
    queue = parameters.get("Queue", task_queue())
    if not isinstance(queue, str) or not queue:
        raise StatesError(INVALID, "Queue must be a queue's name")
    if queue == stages_queue():
        # A long task there would hold up every execution's stages behind it.
        raise StatesError(INVALID, f"Queue {queue!r} is the queue of the engine's stages")
    return parameters["Task"], args, kwargs, queue


def _send(parameters: Any, invocation: resources.Invocation, *, runner: bool) -> dict:
    task, args, kwargs, queue = _parameters_read(parameters)
    task_id = str(uuid.uuid4())
    message = {"task": task, "args": args, "kwargs": kwargs, "queue": queue, "task_id": task_id}
    if runner:  # through the outbox: sent again if the broker loses it
        task_message_send(execution=invocation.execution, token=invocation.token, **message)
    else:
        celery_task_send(token=None, **message)
    return {"TaskId": task_id}


def _celery_task(parameters: Any, invocation: resources.Invocation) -> dict:
    """Fire and forget, or (.waitForTaskToken) a callback whoever holds the token answers."""
    return _send(parameters, invocation, runner=False)


def _celery_task_sync(parameters: Any, invocation: resources.Invocation) -> dict:
    """The runner runs the task and closes the state's token with its outcome."""
    return _send(parameters, invocation, runner=True)


# --- the runner's side, in the task queue's worker -------------------------------------------------
def current_task_token() -> str | None:
    """The task token of the Task state whose Celery task runs in this context (else None)."""
    return _current_token.get()


def heartbeat() -> None:
    """Restarts the running Task state's HeartbeatSeconds clock. Raises TaskTimedOut when the
    state has already timed out or ended (the task may stop: its result would be refused)."""
    token = _current_token.get()
    if token is None:
        raise RuntimeError("heartbeat() is called from a Celery task a Task state runs")
    task_heartbeat(task_token=token)


def _error_cause(error: BaseException) -> tuple[str, str]:
    """(error, cause) as Lambda reports an exception: the class name, and a JSON cause whose
    stack trace is shortened (oldest frames first) to fit SendTaskFailure's cause."""
    name = type(error).__name__[:MAX_ERROR_LENGTH]
    message = str(error)[: MAX_CAUSE_LENGTH // 2]
    frames = traceback.format_tb(error.__traceback__)
    while True:
        cause = json.dumps({"errorMessage": message, "errorType": name, "stackTrace": frames})
        if len(cause) <= MAX_CAUSE_LENGTH or not frames:
            return name, cause[:MAX_CAUSE_LENGTH]
        frames = frames[1:]


def _marshal_error(reason: str) -> tuple[str, str]:
    cause = {"errorMessage": f"Unable to marshal response: {reason}", "errorType": MARSHAL_ERROR}
    return MARSHAL_ERROR, json.dumps(cause)[:MAX_CAUSE_LENGTH]


def _result_text(result: Any) -> tuple[str | None, tuple[str, str] | None]:
    """(the result's JSON text, None), or (None, (error, cause)) when it cannot be the state's
    result: not JSON, or larger than Step Functions takes."""
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        return None, _marshal_error(str(error))
    if len(text.encode("utf-8", "surrogatepass")) > MAX_OUTPUT_BYTES:
        cause = (
            "The task returned a result with a size exceeding the maximum number of bytes "
            "service limit."
        )
        return None, (DATA_LIMIT, cause)
    return text, None


def celery_task_run(*, token: str, task: str, args: list, kwargs: dict) -> str:
    """Runs the Celery task `task` for the Task state waiting on `token`, and closes the token
    with its outcome. Returns what became of it: "succeeded", "failed", "refused" (the state
    had ended: timed out, stopped, or the result was already taken) or "skipped".

    Safe to run twice: a message redelivered after its result was taken finds the token closed
    and runs nothing; one redelivered while the first run's result is not yet in runs the task
    again, and the callback services take the first result only."""
    task_message_taken(token=token)
    if not token_is_open(token=token):
        logger.info("Celery task %s not run: its state has ended", task)
        return "skipped"
    reset = _current_token.set(token)
    try:
        result = current_app.tasks[task](*args, **kwargs)
    except StatesError as error:
        # A Step Functions error of the engine's own (the HTTP Task's): its name and cause as
        # they are, as a handler's StatesError reaches Retry and Catch in a stage.
        error_name = (error.error or "States.TaskFailed")[:MAX_ERROR_LENGTH]
        outcome, failure = None, (error_name, (error.cause or "")[:MAX_CAUSE_LENGTH])
    except Exception as error:
        outcome, failure = None, _error_cause(error)
    else:
        outcome, failure = _result_text(result)
    finally:
        _current_token.reset(reset)
    try:
        if failure is None:
            try:
                task_success(task_token=token, output=outcome)
                return "succeeded"
            except (InvalidOutput, ValidationException) as error:
                # JSON the callback refuses (a NUL, a lone surrogate, nesting past 100 levels).
                failure = _marshal_error(str(error))
        task_failure(task_token=token, error=failure[0], cause=failure[1])
        return "failed"
    except (TaskTimedOut, InvalidToken):
        return "refused"  # logged by the callback service, as a late callback is


def register() -> None:
    """Registers the `celery:task` Task resources (called once, from stepfunctions.apps)."""
    resources.resource(CELERY_TASK)(_celery_task)
    resources.resource(CELERY_TASK + SYNC)(_celery_task_sync)
