"""An empty Celery task for the yardstick: Celery's own round trip through the benchmark's Redis
(`celery -A bench.celery_empty worker`), with nothing of the project in it."""

import os

from celery import Celery

_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
# Not the current app: the test process that measures it sends its own tasks through current_app,
# which must stay the project's (else they would go to this yardstick's Redis, stopped after it).
app = Celery("bench_empty", broker=_URL, backend=_URL, set_as_current=False)
app.conf.update(task_default_queue="bench-empty", worker_prefetch_multiplier=4,
                broker_connection_retry_on_startup=True)  # fmt: skip


@app.task(name="bench.empty")
def empty() -> None:
    return None
