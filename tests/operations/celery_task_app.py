"""The project's Celery app with one task of the tests' own, for a worker started as a real
process (`celery -A tests.operations.celery_task_app worker`): the first run of `slow_once`
works for two minutes (long enough to be killed), every later run answers at once with how many
runs there have been. Each run writes its process id to the file CELERY_TASK_RUNS names."""

import os
import time
from pathlib import Path

from serverlesspresso.celery import app

__all__ = ["app", "slow_once"]


@app.task(name="tests.operations.slow_once")
def slow_once() -> dict:
    runs = Path(os.environ["CELERY_TASK_RUNS"])
    with runs.open("a") as log:
        log.write(f"{os.getpid()}\n")
    count = len(runs.read_text().splitlines())
    if count == 1:
        time.sleep(120)
    return {"runs": count}
