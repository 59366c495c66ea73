"""Celery tasks: thin callers of services, each safe to run twice. The services send to them by
name (stepfunctions.services.messages); beat runs the sweeps (settings' CELERY_BEAT_SCHEDULE)."""

from collections.abc import Callable

from celery import Task, shared_task, signals

from stepfunctions import services
from stepfunctions.integrations.celery_tasks import celery_task_run
from stepfunctions.integrations.http import http_call
from stepfunctions.services.deadline_scheduler import deadline_scheduler_start
from stepfunctions.services.retention import executions_purge
from stepfunctions.services.task_messages import task_messages_resend


@shared_task(name="stepfunctions.tasks.advance_execution")
def advance_execution(execution_id: str | None = None, relayed: bool = False) -> bool:
    """Without an id (the nudge): runs every due stage, in batches. With one (a stage due later,
    the relay, the stall sweep): runs that execution's due stage. A redelivered message finds the
    stages already run. Returns whether it ran any."""
    if execution_id is None:
        return services.stages_run_due() > 0
    return services.execution_advance(execution_id=execution_id, skip_locked=relayed)


@shared_task(
    name="stepfunctions.tasks.run_celery_task",
    # Acked once it has run: a worker killed mid-task leaves the message to run again (the state
    # takes the first result only), and the late ack survives the worker's death.
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_celery_task(token: str, task: str, args: list, kwargs: dict) -> str:
    """Runs a Task state's Celery task and closes the state's token with its outcome (on the
    task queue, stepfunctions.integrations.celery_tasks)."""
    return celery_task_run(token=token, task=task, args=args, kwargs=kwargs)


@shared_task(name="stepfunctions.tasks.http_invoke")
def http_invoke(message: dict) -> dict:
    """An HTTP Task's call (stepfunctions.integrations.http), run by `run_celery_task` for the
    state's token: its result or its StatesError closes the token."""
    return http_call(message)


def _sweep_task(name: str, sweep: Callable[[], int]) -> Task:
    """A periodic sweep as the task `stepfunctions.tasks.<name>`, returning how many it moved (the
    operations' task signals count it)."""

    def run() -> int:
        return sweep()

    run.__name__ = run.__qualname__ = name
    return shared_task(name=f"stepfunctions.tasks.{name}")(run)


expire_tokens = _sweep_task("expire_tokens", services.tokens_expire)
time_out_executions = _sweep_task("time_out_executions", services.executions_time_out)
recover_stalled = _sweep_task("recover_stalled", services.executions_recover)
relay_due_stages = _sweep_task("relay_due_stages", services.executions_relay)
resend_task_messages = _sweep_task("resend_task_messages", task_messages_resend)
purge_closed_executions = _sweep_task("purge_closed_executions", executions_purge)


@signals.beat_init.connect(weak=False)
@signals.beat_embedded_init.connect(weak=False)
def _deadline_scheduler_started(**kwargs) -> None:
    """Beat's process also runs the deadline scheduler (services.deadline_scheduler): timers fire
    when due, its periodic sweeps above catching whatever the scheduler missed."""
    deadline_scheduler_start()
