"""Every Celery message the engine sends, by task name: nothing in services imports the tasks.

The database holds the truth (an execution READY with `due_at` passed); the broker only carries
nudges. A message is sent through the task registered under its name in the current Celery app
(stepfunctions.apps registers them), so an eager app (the unit tests) runs it in place, as it
ran before these sends were made by name.

The nudge: one message that wakes a worker to run every due stage, sent only when none is
pending, so at load one message carries many stages and at rest a stage starts at once. A Redis
flag (SET NX) says one is on its way.

Why no due stage is left without a worker (the ordering argument, tested in
tests/stepfunctions/test_stage_batching.py):

- A producer commits a due stage, THEN calls `stages_nudge_send`: SET NX the flag; it sends a
  message only if it set the flag.
- The worker that takes a message DELETES the flag, THEN claims due stages, and claims again until
  a claim comes back short (stages.stages_run_due).
- If the producer's SET found the flag set, some message was sent after that SET and its worker
  has not yet deleted the flag: that worker deletes it after the producer's commit, so its claims
  begin after the commit and see the stage. If the SET found no flag, the producer sends a message
  of its own. Either way a claim that starts after the commit is coming.
- Clearing the flag AFTER the claim instead would lose a stage committed between the two: the
  producer's SET would see the flag, and the only worker coming would already have claimed.

A message lost with the broker leaves the flag set for at most NUDGE_TTL_SECONDS, and its stages to
the relay (sweeps.executions_relay), which sends them again once they are due for a few seconds. A
send that fails clears the flag at once, so the next commit tries again. Without Redis the flag
cannot be read: the nudge is sent anyway (more messages, never a lost stage).
"""

import logging
from typing import Any

import redis
from celery import Task, current_app
from django.db import transaction

from stepfunctions.services.events import redis_client

logger = logging.getLogger(__name__)

ADVANCE = "stepfunctions.tasks.advance_execution"
RUN_CELERY_TASK = "stepfunctions.tasks.run_celery_task"
NUDGE_KEY = "stepfunctions:stages-nudge"
# Long enough to cover a busy queue; short enough that a lost message costs little.
NUDGE_TTL_SECONDS = 5


def _task(name: str) -> Task:
    """The task registered under `name`: its apply_async honours task_always_eager, which the
    app's send_task does not."""
    return current_app.tasks[name]


# --- the nudge: every due stage ------------------------------------------------------------------
def stages_nudge_send() -> bool:
    """Sends a nudge unless one is pending (call after commit). Returns whether it sent one."""
    try:
        if not redis_client().set(NUDGE_KEY, 1, nx=True, ex=NUDGE_TTL_SECONDS):
            return False
    except redis.RedisError as error:
        logger.warning("Could not read the nudge flag (%s); nudging anyway", error)
    try:
        _task(ADVANCE).apply_async(args=[])
    except BaseException:
        nudge_flag_clear()  # nothing is on its way: the next commit must send one
        raise
    return True


def stages_nudge() -> None:
    """After the current transaction commits, makes sure a worker is coming for the due stages."""
    transaction.on_commit(stages_nudge_send, robust=True)


def nudge_flag_clear() -> None:
    """Says no nudge is pending: a worker calls it BEFORE it claims (see the module's docstring)."""
    try:
        redis_client().delete(NUDGE_KEY)
    except redis.RedisError as error:
        # The flag expires on its own; until then the relay covers what a nudge would have.
        logger.warning("Could not clear the nudge flag: %s", error)


# --- one execution's stage -----------------------------------------------------------------------
def execution_nudge(execution_id: Any, *, countdown: float | None = None) -> None:
    """Nudges a worker after the current transaction commits; the database holds the truth.

    A stage due now is left to the batch nudge (one message for every stage due, sent only when
    none is pending); a stage due later gets a message of its own, delivered at that time. The
    send never fails the operation that committed: with the broker down it is logged, and the
    relay (sweeps.executions_relay) sends the nudge again once the broker answers.
    """
    if not countdown:
        stages_nudge()
        return

    def send() -> None:
        _task(ADVANCE).apply_async(args=[str(execution_id)], countdown=countdown)

    transaction.on_commit(send, robust=True)


def execution_relay_send(execution_id: Any) -> None:
    """The relay's message for one due stage: it skips the stage if a worker is running it."""
    _task(ADVANCE).apply_async(args=[str(execution_id)], kwargs={"relayed": True})


def execution_redrive_send(execution_id: Any) -> None:
    """The stall sweep's message for one execution whose stage has waited too long."""
    _task(ADVANCE).delay(str(execution_id))


# --- a Task state's Celery task (stepfunctions.integrations.celery_tasks) ------------------------
def stages_queue() -> str:
    """The queue the stages' messages go to (the Celery app's default queue)."""
    return current_app.conf.task_default_queue


def celery_task_send(
    *, task: str, args: list, kwargs: dict, queue: str, task_id: str, token: str | None
) -> None:
    """After the current transaction commits, sends a Task state's Celery task to `queue`.

    With a token (`celery:task.sync`) the message runs the engine's runner, which runs `task`
    and closes the token with its result; without one, `task` itself is sent. Sent after commit,
    so a stage that rolls back sends nothing and the runner never looks for an uncommitted token.
    A send that fails is logged; the state then ends by its TimeoutSeconds (or stays waiting).
    """

    def send() -> None:
        if token is not None:
            message = [token, task, args, kwargs]
            _task(RUN_CELERY_TASK).apply_async(args=message, queue=queue, task_id=task_id)
        elif task in current_app.tasks:
            _task(task).apply_async(args=args, kwargs=kwargs, queue=queue, task_id=task_id)
        else:  # a task only other workers know
            current_app.send_task(task, args=args, kwargs=kwargs, queue=queue, task_id=task_id)

    transaction.on_commit(send, robust=True)


def queue_length(app: Any = None, *, queue: str | None = None) -> int:
    """Messages waiting in `queue` (by default the stages' queue), not those workers have
    reserved."""
    app = app or current_app
    with app.connection_or_acquire() as connection:  # from the pool: this runs every second
        try:
            _, count, _ = connection.default_channel.queue_declare(
                queue=queue or app.conf.task_default_queue, passive=True
            )
        except connection.channel_errors:
            return 0  # not declared yet: nothing waits in it
    return count
