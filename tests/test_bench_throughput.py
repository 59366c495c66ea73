"""The benchmark's arithmetic (bench.stats) and how it counts a client window: no timing here."""

import json

import pytest

from bench import stats
from bench.clients import ABANDONED, scheduled_tokens


def test_percentile_is_a_measured_value_by_nearest_rank():
    values = [0.010 * n for n in range(1, 101)]  # 10 ms .. 1000 ms
    assert stats.percentile(values, 0.99) == pytest.approx(0.99)
    assert stats.percentile(values, 0.50) == pytest.approx(0.50)
    assert stats.percentile([3.0, 1.0, 2.0], 1.0) == 3.0
    # Two values: p99 is the larger one, not a blend of both.
    assert stats.percentile([0.001, 1.0], 0.99) == 1.0
    assert stats.percentile([], 0.99) is None
    with pytest.raises(ValueError):
        stats.percentile([1.0], 0)


def test_summary_in_milliseconds():
    assert stats.summary_ms([0.002, 0.004, 0.1]) == {
        "count": 3, "p50_ms": 4.0, "p99_ms": 100.0, "max_ms": 100.0,
    }  # fmt: skip
    assert stats.summary_ms([])["p99_ms"] is None


def test_peak_and_ratios():
    assert stats.sweep_peak({1: 10.0, 4: 30.0, 16: 30.0, 64: 12.0}) == (4, 30.0)
    assert stats.ratio(27.0, 30.0) == 0.9
    assert stats.ratio(None, 30.0) is None
    assert stats.ratio(5.0, 0) is None
    with pytest.raises(ValueError):
        stats.sweep_peak({})


def test_memory_slope():
    assert stats.slope([(0, 100.0), (1000, 110.0), (2000, 120.0)]) == pytest.approx(0.01)
    assert stats.slope([(5, 100.0), (5, 200.0)]) is None


def test_a_window_counts_completions_after_its_ramp_and_sets_abandoned_apart():
    go = 1000.0
    run = {
        "go": go, "duration": 10.0, "ramp": 2.0, "throttled": 3,
        "records": [
            ("a", go, go + 1.5, ""),  # done during the ramp: not counted
            ("b", go, go + 4.0, ""),
            ("c", go + 4.0, go + 9.0, ""),
            ("d", go + 9.0, go + 11.0, ""),  # done after the window: not counted
            ("e", go + 9.5, go + 15.0, ABANDONED),
            ("f", go + 1.0, go + 2.0, "ClientError: boom"),
        ],
    }  # fmt: skip
    figures = stats.level_figures(run)
    assert figures["completed in window"] == 2
    assert figures["lifecycles/s"] == 0.25  # 2 in the 8 s after the ramp
    assert figures["abandoned at the end"] == 1
    assert figures["errors"] == 1
    assert figures["first error"] == "ClientError: boom"
    assert figures["throttled"] == 3


def test_tokens_are_read_from_the_history_as_the_seed_reads_them():
    def scheduled(token: str) -> dict:
        parameters = {"Entries": [{"Detail": {"TaskToken": token}}]}
        return {"type": "TaskScheduled",
                "taskScheduledEventDetails": {"parameters": json.dumps(parameters)}}  # fmt: skip

    events = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "First"}},
        scheduled("one"),
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Second"}},
        scheduled("two"),
    ]
    assert scheduled_tokens(events, "First") == ["one"]
    assert scheduled_tokens(events, "Second") == ["two"]
    assert scheduled_tokens(events, "Third") == []


def test_cpu_per_lifecycle_and_per_call_and_the_clients_ceiling():
    run = {
        "records": [("a", 0, 1, ""), ("b", 0, 1, ""), ("c", 0, 1, ABANDONED)],
        "calls": {"start_execution": 3, "get_execution_history": 9},
        "client cpu s": 0.05,
    }
    spent = stats.cpu_spent(
        {"web": 1.0, "worker": 2.0}, {"web": 1.12, "worker": 2.04, "beat": 0.002}
    )
    figures = stats.cpu_figures(run, spent)
    assert figures["lifecycles completed"] == 2
    assert figures["API calls per lifecycle"] == 6.0
    assert figures["client CPU ms per lifecycle"] == 25.0
    assert figures["web CPU ms per API call"] == 10.0
    assert figures["server CPU ms per lifecycle"] == {"web": 60.0, "worker": 20.0, "beat": 1.0}
    sweep = {1: {"cpu": figures}, 4: {"cpu": {}}}
    ceiling = stats.client_yardstick(sweep)
    cores = ceiling["cores"]
    assert ceiling["clients alone at most, lifecycles/s"] == round(cores * 1000 / 25.0, 1)
    assert "25.0 ms" in ceiling["says"]
    # Nothing completed: no figure rather than a division by zero.
    assert stats.cpu_figures({**run, "records": []}, spent) == {}
    assert stats.client_yardstick({1: {"cpu": {}}}) == {}
