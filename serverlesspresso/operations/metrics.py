"""Prometheus metrics: counters and histograms the processes record, gauges read at scrape time.

Counters and histograms live in each process (web, Celery pool processes, beat). Under gunicorn
and Celery's prefork pool they are shared through files in PROMETHEUS_MULTIPROC_DIR, which must be
set (and emptied at each deploy) before any process starts; the scrape of any web process then
sums all of them. The gauges (executions by status, waits by state, the sweep's lag, the queue
depth, heartbeat ages) are read from PostgreSQL and Redis by whichever process is scraped, so
they are right however many processes run.
"""

import os

import redis
from celery import current_app
from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from serverlesspresso.operations.heartbeats import heartbeat_ages
from stepfunctions.observability import CALLBACK_SECONDS, CALLBACKS, LATENCY_BUCKETS, PREFIX

__all__ = ["CALLBACKS", "CALLBACK_SECONDS"]

STAGE_SECONDS = Histogram(
    f"{PREFIX}_stage_duration_seconds",
    "Time a worker spent on one advance_execution task (ran: whether a stage was due).",
    ["ran"],
    buckets=LATENCY_BUCKETS,
)
TOKENS_EXPIRED = Counter(
    f"{PREFIX}_tokens_expired", "Callback tokens the sweep moved into their timeout."
)
EXECUTIONS_REDRIVEN = Counter(
    f"{PREFIX}_executions_redriven", "Stalled executions the recovery sweep re-enqueued."
)
EXECUTIONS_PURGED = Counter(
    f"{PREFIX}_executions_purged", "Closed executions deleted by the retention purge."
)


class StateCollector:
    """Gauges computed from the database and Redis when scraped; a dead dependency shows as
    stepfunctions_scrape_error{source=...} 1 instead of failing the scrape."""

    def collect(self):
        errors = GaugeMetricFamily(
            f"{PREFIX}_scrape_error",
            "1 if a source could not be read at this scrape.",
            labels=["source"],
        )
        for source, read in (
            ("database", self._database),
            ("broker", self._broker),
            ("redis", self._heartbeats),
        ):
            try:
                yield from read()
                errors.add_metric([source], 0)
            except (DatabaseError, redis.RedisError, OSError):
                errors.add_metric([source], 1)
        yield errors

    def _database(self):
        from stepfunctions.models import CallbackToken, Execution

        now = timezone.now()
        executions = GaugeMetricFamily(
            f"{PREFIX}_executions", "Executions in the database by status.", labels=["status"]
        )
        counts = dict(Execution.objects.order_by().values_list("status").annotate(n=Count("pk")))
        for status in Execution.Status.values:
            executions.add_metric([status], counts.get(status, 0))
        yield executions

        waits = GaugeMetricFamily(
            f"{PREFIX}_waiting_tokens",
            "Open callback tokens by the state that waits.",
            labels=["state"],
        )
        open_tokens = CallbackToken.objects.filter(status=CallbackToken.Status.OPEN).order_by()
        for state, n in open_tokens.values_list("state_name").annotate(n=Count("pk")):
            waits.add_metric([state], n)
        yield waits

        oldest = open_tokens.filter(deadline__lte=now).aggregate(oldest=Min("deadline"))["oldest"]
        yield GaugeMetricFamily(
            f"{PREFIX}_sweep_lag_seconds",
            "Age of the oldest open token past its deadline (0 when the sweep is up to date).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        due = Execution.objects.filter(stage=Execution.Stage.READY, due_at__lte=now).order_by()
        stats = due.aggregate(n=Count("pk"), oldest=Min("due_at"))
        yield GaugeMetricFamily(
            f"{PREFIX}_stages_due", "Automatic stages due now and not yet run.", value=stats["n"]
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_stage_lag_seconds",
            "How long the oldest due stage has waited for a worker.",
            value=(now - stats["oldest"]).total_seconds() if stats["oldest"] else 0.0,
        )

    def _broker(self):
        # The process's Celery app (serverlesspresso.celery made it current), not an import of
        # that module: it loads this one's hooks.
        app = current_app
        depth = GaugeMetricFamily(
            f"{PREFIX}_celery_queue_depth",
            "Messages waiting in the broker's queue.",
            labels=["queue"],
        )
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            client = channel.client
            queue = app.conf.task_default_queue
            # kombu's Redis transport keeps one list per priority step.
            keys = {channel._q_for_pri(queue, step) for step in channel.priority_steps}
            depth.add_metric([queue], sum(client.llen(key) for key in keys))
            unacked = client.hlen(channel.unacked_key)
        yield depth
        yield GaugeMetricFamily(
            f"{PREFIX}_celery_unacked",
            "Messages a worker holds and has not acknowledged.",
            value=unacked,
        )

    def _heartbeats(self):
        ages = GaugeMetricFamily(
            f"{PREFIX}_heartbeat_age_seconds",
            "Seconds since each worker's and beat's heartbeat.",
            labels=["process"],
        )
        for process, age in sorted(heartbeat_ages().items()):
            ages.add_metric([process], age)
        yield ages


def metrics_render() -> tuple[bytes, str]:
    """The exposition text of every process's counters plus the scrape-time gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return generate_latest(processes) + generate_latest(state), CONTENT_TYPE_LATEST
