"""Liveness and readiness: what each dependency says right now.

Liveness is "this process answers" and checks nothing else, so a restart never follows a
database outage. Readiness checks the database, Redis, that a worker of the stages and a worker of
the Task states' Celery tasks (STEPFUNCTIONS_TASK_QUEUE) wrote a heartbeat recently and that beat
ticked recently; each check is bounded by short timeouts.
"""

from collections.abc import Callable, Iterable

import redis
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from serverlesspresso.operations.heartbeats import (
    BEAT,
    TASKS_WORKER,
    WORKER,
    heartbeat_ages,
    newest_age,
    redis_client,
)

CHECKS = ("database", "redis", WORKER, TASKS_WORKER, "beat")


def _database() -> dict:
    # One row of the engine's executions table, not SELECT 1: a table a migration holds locked
    # cannot serve the engine, and the probe says so within its bound instead of waiting too.
    table = apps.get_model("stepfunctions", "Execution")._meta.db_table
    probe = f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1"  # noqa: S608 (a model's table)
    try:
        if connection.vendor == "postgresql":
            bound = str(int(settings.HEALTH_DATABASE_TIMEOUT_SECONDS * 1000))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true),"
                    " set_config('statement_timeout', %s, true)",
                    [bound, bound],
                )
                cursor.execute(probe)
        else:
            with connection.cursor() as cursor:
                cursor.execute(probe)
    except DatabaseError as error:
        # A broken connection must not stay cached for the next request.
        connection.close_if_unusable_or_obsolete()
        return {"ok": False, "error": _first_line(error)}
    return {"ok": True}


def _redis() -> dict:
    try:
        redis_client().ping()
    except redis.RedisError as error:
        return {"ok": False, "error": _first_line(error)}
    return {"ok": True}


def _heartbeat(kind: str, max_age: float, name: str | None = None) -> dict:
    try:
        ages = heartbeat_ages()
        if name and (f"{kind}:{name}" in ages or not _writes_any(ages, name)):
            age = ages.get(f"{kind}:{name}")
        else:
            # No name, or a worker of the other kind: any worker of this kind will do.
            age = newest_age(ages, kind=kind)
    except redis.RedisError as error:
        return {"ok": False, "error": f"Redis: {_first_line(error)}"}
    if age is None:
        return {"ok": False, "error": f"no {name or kind} heartbeat yet"}
    ok = age <= max_age
    result = {"ok": ok, "age_seconds": round(age, 1)}
    if not ok:
        result["error"] = f"last {kind} heartbeat {age:.0f}s ago (limit {max_age:.0f}s)"
    return result


def _writes_any(ages: dict[str, float], name: str) -> bool:
    return any(f"{kind}:{name}" in ages for kind in (WORKER, TASKS_WORKER))


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]


_RUNNERS: dict[str, Callable[[str | None], dict]] = {
    "database": lambda worker: _database(),
    "redis": lambda worker: _redis(),
    WORKER: lambda worker: _heartbeat(WORKER, settings.HEALTH_WORKER_MAX_AGE_SECONDS, worker),
    TASKS_WORKER: lambda worker: _heartbeat(
        TASKS_WORKER, settings.HEALTH_WORKER_MAX_AGE_SECONDS, worker
    ),
    "beat": lambda worker: _heartbeat(BEAT, settings.HEALTH_BEAT_MAX_AGE_SECONDS),
}


def health_report(*, checks: Iterable[str] = CHECKS, worker: str | None = None) -> dict:
    """{"ok": bool, "checks": {name: {"ok": bool, ...}}} for the named checks (unknown: ValueError).

    The worker (and tasks-worker) check passes on any such worker's recent heartbeat, or on
    `worker`'s (its Celery hostname, e.g. "celery@web-1") when given: a container's own health
    check. A `worker` of the one kind leaves the other kind's check to any worker of that kind."""
    names = list(dict.fromkeys(checks))
    unknown = [name for name in names if name not in _RUNNERS]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; known: {', '.join(CHECKS)}")
    results = {name: _RUNNERS[name](worker) for name in names}
    return {"ok": all(result["ok"] for result in results.values()), "checks": results}
