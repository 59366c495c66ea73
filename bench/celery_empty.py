"""An empty Celery task for the yardstick: Celery's own round trip through the benchmark's Redis
(`celery -A bench.celery_empty worker`), with nothing of the project in it."""

import os

from celery import Celery

_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
app = Celery("bench_empty", broker=_URL, backend=_URL)
app.conf.update(task_default_queue="bench-empty", worker_prefetch_multiplier=4,
                broker_connection_retry_on_startup=True)  # fmt: skip


@app.task(name="bench.empty")
def empty() -> None:
    return None
