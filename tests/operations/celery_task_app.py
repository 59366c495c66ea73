"""The project's Celery app with one task of the tests' own, for a worker started as a real
process (`celery -A tests.operations.celery_task_app worker`): the first run of `slow_once`
works for two minutes (long enough to be killed), every later run answers at once with how many
runs there have been; `counted` always answers at once. Each run writes its process id to the
file CELERY_TASK_RUNS names."""

import os
import time
from pathlib import Path

from serverlesspresso.celery import app

__all__ = ["app", "counted", "slow_once"]


def _run_count() -> int:
    runs = Path(os.environ["CELERY_TASK_RUNS"])
    with runs.open("a") as log:
        log.write(f"{os.getpid()}\n")
    return len(runs.read_text().splitlines())


@app.task(name="tests.operations.counted")
def counted() -> dict:
    return {"runs": _run_count()}


@app.task(name="tests.operations.slow_once")
def slow_once() -> dict:
    count = _run_count()
    if count == 1:
        time.sleep(120)
    return {"runs": count}
