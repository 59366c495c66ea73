"""bench.timers with tiny numbers, on a real worker and beat on the test database and the
session's Redis, so the benchmark cannot rot: every timer fires, and its figures have their
shape."""

import pytest

from bench.timers import KINDS, measure
from tests.operations.test_timers_on_time import session_processes

pytestmark = pytest.mark.integration


def test_the_benchmark_measures_each_kind_of_timer(transactional_db, redis_url, tmp_path):
    with session_processes(redis_url, tmp_path) as processes:
        results = measure(processes, timers=9, seconds=1, delay=1, concurrency=1)
    assert "still running" not in results
    lateness = results["lateness"]
    for kind in KINDS:
        assert lateness[kind]["count"] == 3
        assert 0 <= lateness[kind]["p50_ms"] <= lateness[kind]["max_ms"]
    assert lateness["token closed"]["count"] == 3
    assert lateness["all"]["count"] == 9
    assert results["early"] == 0
