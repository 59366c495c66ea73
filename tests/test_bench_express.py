"""bench.express with tiny numbers, on real processes (gunicorn and the stages' worker) on the
test database and a private Redis, so the benchmark cannot rot: every figure it reports is
measured and of the expected shape."""

import pytest

from bench.express import measure
from tests.processes import private_redis, production_processes

pytestmark = pytest.mark.integration


def test_the_benchmark_measures_standard_and_express_runs(tmp_path, sfn_key):
    with private_redis() as url, production_processes(url, tmp_path) as processes:
        results = measure(processes, sfn_key, runs=6, database=None)
    standard = results["Standard (StartExecution)"]
    sync = results["Express, synchronous (StartSyncExecution)"]
    express = results["Express, asynchronous (StartExecution)"]
    for figures in (standard, sync, express):
        assert figures["runs"] == 6 and figures["runs/s"] > 0
        assert figures["CPU ms per run"]["total"] > 0
    # Every event of a Standard run is kept; an Express run (logging OFF) keeps none.
    assert standard["history rows per run"] >= 8
    assert sync["history rows per run"] == express["history rows per run"] == 0
    # A synchronous run never reaches the worker.
    assert sync["CPU ms per run"]["web"] > 0
    assert results["Express, synchronous (StartSyncExecution) CPU / Standard CPU"] > 0
