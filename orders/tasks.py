"""Celery tasks: thin callers of services, each safe to run twice."""

from celery import shared_task

from orders import services
from orders.services.retention import executions_purge


@shared_task(name="orders.tasks.advance_execution")
def advance_execution(execution_id: str) -> bool:
    """Runs the execution's due stage; a redelivered message finds it already run."""
    return services.execution_advance(execution_id=execution_id)


@shared_task(name="orders.tasks.expire_tokens")
def expire_tokens() -> int:
    return services.tokens_expire()


@shared_task(name="orders.tasks.recover_stalled")
def recover_stalled() -> int:
    return services.executions_recover()


@shared_task(name="orders.tasks.purge_closed_executions")
def purge_closed_executions() -> int:
    return executions_purge()
