"""Whether a Celery worker's memory levels off: RSS of its main process and of each pool process
while it takes rounds of the engine's nudge with nothing due.

    python -m bench.celery_memory [--rounds 18] [--per-round 5000] [--database wtbench_celery_memory]

Starts the worker as runsystem does (production settings, 2 prefork processes, no gossip or
mingle) on a throwaway PostgreSQL database and the benchmark's Redis database, sends
`--per-round` `advance_execution` nudges (each one claims nothing and returns), waits until the
queue is empty, then prints the RSS of the main process and of the pool. An empty nudge is the
message the engine sends most, so what grows here grows with every order. Prints figures;
asserts nothing.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis
from celery import Celery

from bench import stores, system
from bench.report import say

DATABASE = "wtbench_celery_memory"
NUDGE = "stepfunctions.tasks.advance_execution"
QUEUE = "celery"  # the project routes nothing elsewhere


def _rss(process: psutil.Process) -> tuple[float, list[float]]:
    """MiB of the process and of each of its children."""
    pool = [round(child.memory_info().rss / 2**20, 1) for child in process.children()]
    return round(process.memory_info().rss / 2**20, 1), pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=18)
    parser.add_argument("--per-round", type=int, default=5000)
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args()

    with stores.throwaway_database(args.database), tempfile.TemporaryDirectory() as var_dir:
        env = system.production_env(args.database, Path(var_dir))
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=system.REPO, env=env, check=True
        )
        processes = system.Processes(env, Path(var_dir))
        worker = processes.worker(
            "worker", "--without-gossip", "--without-mingle", level="warning", concurrency=2
        )
        broker = redis.Redis.from_url(stores.REDIS_URL)
        sender = Celery()
        # Named here: Celery() would take a CELERY_BROKER_URL from the environment instead.
        connection = sender.connection_for_write(stores.REDIS_URL)
        try:
            processes.pool_wait("worker", 2)
            process = psutil.Process(worker.pid)
            time.sleep(2)
            main_rss, pool = _rss(process)
            say(f"start: main {main_rss} MiB, pool {pool} MiB")
            figures = [(0, main_rss)]
            for n in range(1, args.rounds + 1):
                started = time.perf_counter()
                for _ in range(args.per_round):
                    sender.send_task(NUDGE, connection=connection)
                while broker.llen(QUEUE) > 0:
                    time.sleep(0.2)
                time.sleep(1)  # the last messages run
                main_rss, pool = _rss(process)
                tasks = n * args.per_round
                figures.append((tasks, main_rss))
                # Over the round: sending, the queue draining, and the pause above.
                rate = args.per_round / (time.perf_counter() - started)
                say(f"{tasks:>8} tasks: main {main_rss} MiB, pool {pool} MiB ({rate:.0f} tasks/s)")
            half = figures[len(figures) // 2]
            say(
                f"main process: {figures[0][1]} -> {half[1]} MiB over the first {half[0]} tasks, "
                f"{half[1]} -> {figures[-1][1]} MiB over the last {figures[-1][0] - half[0]}"
            )
        finally:
            processes.stop("worker", timeout=30)
            connection.release()
            sender.close()
            broker.close()


if __name__ == "__main__":
    main()
