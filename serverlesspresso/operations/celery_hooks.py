"""What the Celery processes add for operations, through Celery's own extension points.

- Workers write a heartbeat from a bootstep timer, beat from its scheduler's tick.
- Task signals time the stages and count the sweeps' work, so the engine's tasks stay untouched.
- Celery logs through Django's LOGGING (JSON in production) instead of its own format.

Nothing here imports models or metrics at import time: this module loads with the settings. It is
imported by serverlesspresso.celery and imports nothing that imports that module (the metrics
read the current Celery app).
"""

import logging
import logging.config
import time

import redis
from celery import bootsteps, signals
from celery.beat import PersistentScheduler
from django.conf import settings

from serverlesspresso.operations.heartbeats import (
    BEAT,
    heartbeat_write,
    redis_client,
    worker_kinds,
)

logger = logging.getLogger(__name__)

ADVANCE = "stepfunctions.tasks.advance_execution"
EXPIRE = "stepfunctions.tasks.expire_tokens"
RECOVER = "stepfunctions.tasks.recover_stalled"
_started: dict[str, float] = {}


def _beat_safely(process: str, client: redis.Redis | None = None) -> None:
    try:
        heartbeat_write(process=process, client=client)
    except redis.RedisError as error:
        # Readiness will say so; the worker itself carries on and reconnects.
        logger.warning("Could not write the %s heartbeat: %s", process, error)


def _beat_all(processes: list[str], client: redis.Redis) -> None:
    for process in processes:
        _beat_safely(process, client)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes "worker:<hostname>" (the stages' queue) and/or "tasks-worker:<hostname>" (the Task
    states' queue), as its queues say, every HEALTH_HEARTBEAT_SECONDS from the worker's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_entry = None

    def start(self, worker):
        # The queues `-Q` selected (or the default ones), known since the worker was set up.
        kinds = worker_kinds(
            queues=worker.app.amqp.queues.consume_from,
            default_queue=worker.app.conf.task_default_queue,
        )
        processes = [f"{kind}:{worker.hostname}" for kind in kinds]
        # The Redis of the worker's start: the one its broker and settings were read for.
        client = redis_client()
        _beat_all(processes, client)
        self.timer_entry = worker.timer.call_repeatedly(
            settings.HEALTH_HEARTBEAT_SECONDS, _beat_all, (processes, client)
        )

    def stop(self, worker):
        if self.timer_entry is not None:
            self.timer_entry.cancel()


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, writing beat's heartbeat at most every HEALTH_HEARTBEAT_SECONDS."""

    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_heartbeat >= settings.HEALTH_HEARTBEAT_SECONDS:
            self._last_heartbeat = now
            _beat_safely(BEAT)
        return min(interval, settings.HEALTH_HEARTBEAT_SECONDS)


def _configure_logging(**kwargs) -> None:
    logging.config.dictConfig(settings.LOGGING)


def _task_started(task_id=None, task=None, **kwargs) -> None:
    if task is not None and task.name == ADVANCE:
        _started[task_id] = time.perf_counter()


def _task_finished(task_id=None, task=None, retval=None, **kwargs) -> None:
    if task is None:
        return
    # Not at the top: the metrics open their files in PROMETHEUS_MULTIPROC_DIR as they are made,
    # and this module loads with the settings, before a process has that directory. (The metrics
    # import nothing that imports this module: no circle.)
    from serverlesspresso.operations import metrics

    if task.name == ADVANCE:
        started = _started.pop(task_id, None)
        if started is not None:
            ran = "true" if retval is True else "false"
            metrics.STAGE_SECONDS.labels(ran=ran).observe(time.perf_counter() - started)
    elif task.name == EXPIRE and isinstance(retval, int) and retval > 0:
        metrics.TOKENS_EXPIRED.inc(retval)
        logger.info("Expired %d callback tokens", retval, extra={"count": retval})
    elif task.name == RECOVER and isinstance(retval, int) and retval > 0:
        metrics.EXECUTIONS_REDRIVEN.inc(retval)


def install(app) -> None:
    """Adds the heartbeat bootstep and connects the signals (called once, by serverlesspresso.celery)."""
    app.steps["worker"].add(WorkerHeartbeat)
    signals.setup_logging.connect(_configure_logging, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
