"""The project's Celery app for bench.lifecycle's worker (`celery -A bench.lifecycle_worker worker`,
started by bench.system.Processes.worker): a worker as runsystem starts one, that also counts the
stage messages it takes in Redis (one INCR per message, not per stage: the figure costs the
benchmark nothing it measures).
"""

import redis
from celery.signals import task_prerun

from serverlesspresso.celery import app

__all__ = ["app", "messages_taken"]

MESSAGES_KEY = "bench:lifecycle:messages"
NUDGE = "stepfunctions.tasks.advance_execution"
_clients: list[redis.Redis] = []


def _redis() -> redis.Redis:
    from django.conf import settings

    if not _clients:
        _clients.append(redis.Redis.from_url(settings.REDIS_URL))
    return _clients[0]


@task_prerun.connect(weak=False)
def _count(task=None, **kwargs) -> None:
    if task is not None and task.name == NUDGE:
        _redis().incr(MESSAGES_KEY)


def messages_taken(*, reset: bool = False) -> int:
    """The stage messages the worker has taken since the last reset (on the project's Redis)."""
    if reset:
        _redis().delete(MESSAGES_KEY)
        return 0
    return int(_redis().get(MESSAGES_KEY) or 0)
