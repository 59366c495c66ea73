"""Celery tasks: thin callers of services, each safe to run twice."""

from celery import shared_task

from stepfunctions import services
from stepfunctions.services.retention import executions_purge


@shared_task(name="stepfunctions.tasks.advance_execution")
def advance_execution(execution_id: str | None = None, relayed: bool = False) -> bool:
    """Without an id (the nudge): runs every due stage, in batches. With one (a stage due later,
    the relay, the stall sweep): runs that execution's due stage. A redelivered message finds the
    stages already run. Returns whether it ran any."""
    if execution_id is None:
        return services.stages_run_due() > 0
    return services.execution_advance(execution_id=execution_id, skip_locked=relayed)


@shared_task(name="stepfunctions.tasks.expire_tokens")
def expire_tokens() -> int:
    return services.tokens_expire()


@shared_task(name="stepfunctions.tasks.time_out_executions")
def time_out_executions() -> int:
    return services.executions_time_out()


@shared_task(name="stepfunctions.tasks.recover_stalled")
def recover_stalled() -> int:
    return services.executions_recover()


@shared_task(name="stepfunctions.tasks.relay_due_stages")
def relay_due_stages() -> int:
    return services.executions_relay()


@shared_task(name="stepfunctions.tasks.purge_closed_executions")
def purge_closed_executions() -> int:
    return executions_purge()
