"""The benchmark's arithmetic (bench.stats) and how it counts a client window, its table and plot,
LocalStack's yardstick's skip and history reading (no timing in those), and one real quick run."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from bench import localstack, meters, report, stats, stores
from bench.clients import ABANDONED, BARISTA_WAIT, CUSTOMER_WAIT, scheduled_tokens
from bench.system import REPO
from tests.processes import private_redis


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


# Issue 26: the server's CPU per lifecycle, the engine's alone, and LocalStack as a yardstick.

PROC_STAT = "cpu  1000 20 300 5000 70 5 5 0 40 0\ncpu0 500 10 150 2500 35 3 2 0 20 0\n"


def test_busy_cpu_is_read_from_proc_stat_without_idle_iowait_or_guest_twice():
    # user + nice + system + irq + softirq + steal = 1330 ticks at 100 per second.
    assert stats.proc_stat_busy(PROC_STAT, 100) == pytest.approx(13.3)
    with pytest.raises(ValueError):
        stats.proc_stat_busy("intr 1 2 3\n", 100)


def test_the_server_cpu_is_the_machine_busy_cpu_less_the_clients_per_lifecycle():
    # 13.3 s -> 15.3 s busy: 2 s of CPU in the window, 0.5 s of it the clients': 1.5 s / 30.
    assert stats.server_cpu_ms(13.3, 15.3, 0.5, 30) == 50.0
    assert stats.server_cpu_ms(13.3, 15.3, 0.5, 0) is None
    # Readings a tick apart never make a negative figure.
    assert stats.server_cpu_ms(13.3, 13.3, 0.01, 1) == 0.0
    # More subtracted than the machine spent (others' load at rest fell away): no figure.
    assert stats.server_cpu_ms(10.0, 12.0, 3.0, 10) is None


def test_cpu_figures_give_the_engine_alone_the_machine_and_the_processes_own():
    run = {
        "records": [(str(n), 0, 1, "") for n in range(10)],
        "calls": {"start_execution": 10, "send_task_success": 20, "get_execution_history": 70},
        "client cpu s": 0.2,
    }
    spent = {"web": 0.3, "worker": 0.15, "beat": 0.05}
    machine = {"busy before s": 100.0, "busy after s": 101.5, "driver s": 0.1,
               "postgresql s": 0.2, "window s": 2.0, "busy cores at rest before": 0.25}  # fmt: skip
    figures = stats.cpu_figures(run, spent, machine)
    assert figures["web CPU ms per API call"] == 3.0
    assert figures["engine CPU ms per lifecycle"] == 20.0  # worker + beat, 0.2 s over 10
    # 1.5 s busy less 0.2 s of clients and 0.1 s of this driver, over 10 lifecycles.
    assert figures["server CPU ms per lifecycle (machine less clients)"] == 120.0
    # Less 0.25 cores at rest over the 2 s window too.
    assert figures["server CPU ms per lifecycle (less clients and the load at rest)"] == 70.0
    # web + worker + beat + the database's backends.
    assert figures["server processes' own CPU ms per lifecycle"] == 70.0
    assert "server CPU ms per lifecycle (machine less clients)" not in stats.cpu_figures(run, spent)


def test_the_machine_readings_are_real_and_grow():
    first = meters.machine_busy()
    sum(n * n for n in range(200_000))
    assert meters.machine_busy() >= first > 0
    assert meters.tree_cpu(os.getpid()) > 0


def test_localstack_is_skipped_with_a_note_when_it_cannot_be_installed(tmp_path, capsys):
    missing = tmp_path / "no-python3.13"
    results = localstack.measure([8], 1, 1, 1, venv=tmp_path / "venv", python=str(missing))
    assert results == {"skipped": f"no Python 3.13 at {missing} (set BENCH_LOCALSTACK_PYTHON)"}
    assert "LocalStack skipped: no Python 3.13" in capsys.readouterr().out
    assert not (tmp_path / "venv").exists()
    rows = dict(report.localstack_rows(results))
    assert rows["LocalStack"].startswith("skipped: no Python 3.13")


def test_localstack_callback_gaps_are_read_from_its_history():
    at = datetime(2026, 12, 8, tzinfo=UTC)

    def event(kind: str, ms: int, name: str | None = None) -> dict:
        found = {"type": kind, "timestamp": at + timedelta(milliseconds=ms)}
        if name:
            found["stateEnteredEventDetails"] = {"name": name}
        return found

    events = [
        event("TaskStateEntered", 0, CUSTOMER_WAIT), event("TaskScheduled", 10),
        event("TaskSubmitted", 20), event("TaskSucceeded", 500),
        event("TaskStateEntered", 520, BARISTA_WAIT), event("TaskScheduled", 600),
        event("TaskSucceeded", 900), event("TaskStateEntered", 910, "Emit - Order Finished"),
        event("TaskScheduled", 920), event("TaskSucceeded", 940),
        event("ExecutionSucceeded", 1000),
    ]  # fmt: skip
    assert localstack.history_gaps(events) == [0.1, 0.1]
    assert localstack.history_gaps(events[:5]) == []


def test_a_token_may_wait_for_its_task_to_be_submitted():
    parameters = json.dumps({"Entries": [{"Detail": {"TaskToken": "one"}}]})
    events = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "First"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"parameters": parameters}},
    ]
    assert scheduled_tokens(events, "First") == ["one"]
    assert scheduled_tokens(events, "First", submitted=True) == []
    assert scheduled_tokens([*events, {"type": "TaskSubmitted"}], "First", submitted=True) == [
        "one"
    ]


def _level(rate: float, p99: float, cpu: dict) -> dict:
    return {"lifecycles/s": rate, "whole lifecycles completed/s": rate, "errors": 0,
            "throttled": 0, "server": {"p99_ms": p99}, "cpu": cpu}  # fmt: skip


def test_the_table_and_the_plot_show_the_server_cpu_and_localstack(tmp_path):
    cpu = {"server CPU ms per lifecycle (machine less clients)": 45.0,
           "server CPU ms per lifecycle (less clients and the load at rest)": 40.0,
           "busy cores at rest before": 0.1, "server processes' own CPU ms per lifecycle": 38.0,
           "web CPU ms per API call": 3.1, "engine CPU ms per lifecycle": 12.0,
           "client CPU ms per lifecycle": 15.0, "API calls per lifecycle": 10.0}  # fmt: skip
    ours = {8: _level(30.0, 100.0, cpu), 32: _level(40.0, 150.0, cpu)}
    theirs = {8: _level(3.0, 1500.0, {"server CPU ms per lifecycle": 320.0}),
              32: _level(3.1, 1800.0, {"server CPU ms per lifecycle": 350.0})}  # fmt: skip
    results = {"commit": "tput@abc", "sweep": ours, "localstack": {"server": "LS", "sweep": theirs}}
    table = report.table(results)
    assert re.search(r"8 clients: server CPU per lifecycle +45.0 ms \(machine less clients", table)
    assert "web 3.1 ms per API call, engine 12.0 ms per lifecycle" in table
    assert re.search(
        r"LocalStack 32 clients +3.1 lifecycles/s, callback-to-next-wait p99 1800.0", table
    )
    report.plot([results], tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 10_000


@pytest.mark.integration
def test_a_real_quick_run_reports_the_server_cpu_with_sane_values(tmp_path):
    """bench.throughput itself, one tiny level, no timers and no yardsticks, on a throwaway
    PostgreSQL database of its own and a private Redis."""
    try:
        psycopg.connect(stores.database_url("postgres"), connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"bench.throughput runs on PostgreSQL, not reachable here: {error}")
    out = tmp_path / "run.json"
    with private_redis() as url:
        env = {**os.environ, "BENCH_REDIS_URL": url, "BENCH_DATABASE": f"wtbench_t{os.getpid()}"}
        done = subprocess.run(
            [sys.executable, "-m", "bench.throughput", "--quick", "--no-timers",
             "--skip-yardsticks", "--clients", "2", "--seconds", "3", "--out", str(out)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cpu = json.loads(out.read_text())["sweep"]["2"]["cpu"]
    assert cpu["lifecycles completed"] >= 2
    assert 0 < cpu["web CPU ms per API call"] < 100
    assert 0 < cpu["engine CPU ms per lifecycle"] < 1000
    own = cpu["server processes' own CPU ms per lifecycle"]
    assert cpu["engine CPU ms per lifecycle"] < own < 2000
    assert 0 <= cpu["server CPU ms per lifecycle (machine less clients)"] < 20_000
    assert 0 <= cpu["busy cores at rest before"] <= (os.cpu_count() or 1) + 0.5
    assert re.search(r"2 clients: server CPU per lifecycle +[\d.]+ ms \(machine less", done.stdout)
