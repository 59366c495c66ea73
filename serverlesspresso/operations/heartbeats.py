"""Heartbeats: each Celery worker and beat write "alive at <time>" to one Redis hash.

A worker of the stages writes "worker:<hostname>", a worker of the Task states' Celery tasks
(STEPFUNCTIONS_TASK_QUEUE) "tasks-worker:<hostname>": each kind is checked on its own, so a task
worker alive never hides that no worker runs the stages.

Readiness (health.py) and the metrics read their ages. Redis is the right place: a worker that
cannot reach Redis cannot take stages either, so its heartbeat stopping is the truth.
"""

import time
from collections.abc import Iterable

import redis
from django.conf import settings

HEARTBEATS_KEY = "serverlesspresso:heartbeats"
BEAT = "beat"
WORKER = "worker"
TASKS_WORKER = "tasks-worker"
# A worker gone for a day (scaled down, renamed host) is dropped from the hash when read.
FORGET_AFTER_SECONDS = 24 * 3600
_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """The REDIS_URL's client with short timeouts, so a dead Redis fails a check, not hangs it."""
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _clients[url]


def heartbeat_write(*, process: str, client: redis.Redis | None = None) -> None:
    """Records that `process` ("beat", "worker:<hostname>" or "tasks-worker:<hostname>") is alive
    now."""
    (client or redis_client()).hset(HEARTBEATS_KEY, process, repr(time.time()))


def heartbeat_ages() -> dict[str, float]:
    """Seconds since each process's last heartbeat; raises redis.RedisError if Redis is down."""
    now = time.time()
    ages = {}
    forgotten = []
    for name, value in redis_client().hgetall(HEARTBEATS_KEY).items():
        age = max(now - float(value), 0.0)
        if age > FORGET_AFTER_SECONDS:
            forgotten.append(name)
        else:
            ages[name.decode()] = age
    if forgotten:
        redis_client().hdel(HEARTBEATS_KEY, *forgotten)
    return ages


def worker_kinds(*, queues: Iterable[str], default_queue: str) -> list[str]:
    """The heartbeat kinds of a worker consuming `queues`: "tasks-worker" if it takes the Task
    states' queue, "worker" if it takes the stages' (default) queue or no task queue at all."""
    queues = set(queues)
    kinds = []
    if default_queue in queues or settings.STEPFUNCTIONS_TASK_QUEUE not in queues:
        kinds.append(WORKER)
    if settings.STEPFUNCTIONS_TASK_QUEUE in queues:
        kinds.append(TASKS_WORKER)
    return kinds


def newest_age(ages: dict[str, float], *, kind: str) -> float | None:
    """The youngest heartbeat of a kind ("worker", "tasks-worker" or "beat"), or None if there is
    none."""
    matching = [
        age
        for name, age in ages.items()
        if (name == BEAT if kind == BEAT else name.startswith(kind + ":"))
    ]
    return min(matching) if matching else None
