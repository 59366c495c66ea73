"""bench.celery_tasks with tiny numbers, on real processes (the stages' worker, the task queue's
worker, Celery's bare empty-task worker) on the test database and a private Redis, so the
benchmark cannot rot: every figure it reports is measured and of the expected shape."""

import pytest

from bench.celery_tasks import measure
from tests.processes import private_redis, production_processes

pytestmark = pytest.mark.integration


def test_the_benchmark_measures_both_figures(tmp_path, sfn_key):
    with private_redis() as url, production_processes(url, tmp_path) as processes:
        results = measure(processes, sfn_key, redis_url=url, tasks=10, long=2, long_seconds=3,
                          callbacks=3, concurrency=1)  # fmt: skip
    bare = results["bare empty Celery task"]
    workflow = results["workflow of one Task state running the empty task"]
    assert bare["tasks"] == 10 and bare["tasks/s"] > 0
    assert (workflow["executions"], workflow["failed"]) == (10, 0)
    assert workflow["executions/s"] > 0
    assert results["workflow rate / bare task rate"] == round(
        workflow["executions/s"] / bare["tasks/s"], 3
    )
    gaps = results["callback to next wait or end"]
    quiet, busy = gaps["quiet"], gaps["while 2 executions run a 3 s Celery task"]
    # Three executions, two callbacks each: to the second wait, then to the end.
    assert quiet["count"] == busy["count"] == 6
    assert 0 < quiet["p50_ms"] <= quiet["max_ms"] and 0 < busy["p50_ms"] <= busy["max_ms"]
    # With one task worker process, the second 3-second task was still queued or running.
    assert gaps["long tasks still running at the end"] >= 1
