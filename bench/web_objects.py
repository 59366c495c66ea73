"""Whether a web process keeps anything per order: its live Python objects and RSS against orders.

    python -m bench.web_objects [--checkpoints 1000,3000,6000,9000] [--clients 6]

`bench.throughput --soak` shows the web's RSS over a long run, but RSS alone cannot tell a leak
(objects kept per order, which grows without end) from the allocator holding freed memory (which
levels off). This runs `manage.py runsystem` (its worker and beat do the stages; its own web
stays idle) on a throwaway database, and beside it one web process as runsystem runs it
(gunicorn, one uvicorn worker, serverlesspresso.asgi) with bench/web_objects_conf.py, which
counts the worker's live objects at each checkpoint. boto3 clients drive the seed's lifecycle
through that process only. Prints, at each checkpoint, the orders completed, the worker's RSS, the
interpreter's allocated blocks, the objects the collector tracks, and the types that grew most
since the first checkpoint; writes a JSON. Asserts nothing.
"""

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import psutil

from bench import report, stores, system
from bench.clients import STATE_MACHINE_ARN, ClientPool, Target
from bench.report import say

CHUNK_SECONDS = 20


def _web_start(running: system.System, directory: Path) -> tuple[system.Processes, str]:
    """One web process as runsystem runs it, with the counting hook; its endpoint once up."""
    env = {**running.env, "WEB_OBJECTS_DIR": str(directory)}
    processes = system.Processes(env, directory)
    url = processes.gunicorn(
        "web", app="serverlesspresso.asgi", workers=1,
        options=("--worker-class", "uvicorn_worker.UvicornWorker", "--access-logfile", "-",
                 "--config", str(system.REPO / "bench" / "web_objects_conf.py")),
    )  # fmt: skip
    return processes, f"{url}/sfn/"


def _counts(directory: Path, pid: int, number: int) -> dict:
    path = directory / f"objects-{pid}-{number}.json"
    (directory / f"checkpoint-{number}").touch()
    deadline = time.time() + 120
    while not path.exists():
        if time.time() > deadline:
            raise RuntimeError(f"no counts from the web worker at checkpoint {number}")
        time.sleep(0.5)
    return json.loads(path.read_text())


def measure(checkpoints: list[int], clients: int, database: str) -> dict:
    directory = Path(tempfile.mkdtemp(prefix="sp-web-objects-"))
    results: dict = {"commit": report.commit(), "clients": clients, "checkpoints": []}
    with stores.throwaway_database(database), system.running_system(database) as running:
        system.django_setup(running.env)
        system.shop_make_room()
        vacuum = not stores.autovacuum_on()
        web, endpoint = _web_start(running, directory)
        worker = psutil.Process(web.running["web"].pid).children()[0]
        say(f"web worker {worker.pid} up; logs and counts in {directory}")
        pool = ClientPool(
            Target(endpoint, running.access_key_id, running.secret_access_key, STATE_MACHINE_ARN),
            min(clients, 4),
        )
        done, first, chunk = 0, None, 0
        try:
            pool.run(1, "warm", duration=30, max_count=2)
            for number, target in enumerate(checkpoints, start=1):
                while done < target:
                    # A tag of its own each time: the executions' names derive from it.
                    run = pool.run(clients, f"chunk{chunk}", duration=CHUNK_SECONDS)
                    chunk += 1
                    done += sum(1 for record in run["records"] if not record[3])
                    if vacuum:  # as autovacuum would (see bench.throughput --soak)
                        stores.database_vacuum(database)
                counts = _counts(directory, worker.pid, number)
                point = {
                    "orders": done,
                    "RSS MiB": round(worker.memory_info().rss / 2**20, 1),
                    "allocated blocks": counts["allocated blocks"],
                    "objects": counts["objects"],
                    "threads": counts["threads"],
                }
                first = first or counts
                grown = collections.Counter(counts["by type"])
                grown.subtract(first["by type"])
                point["grown since the first checkpoint"] = {
                    name: count for name, count in grown.most_common(8) if count > 0
                }
                results["checkpoints"].append(point)
                say(json.dumps(point))
        finally:
            pool.close()
            web.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default="1000,3000,6000,9000",
                        help="orders completed at which to count, comma-separated")  # fmt: skip
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--database", default="wtbench_objects")
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    checkpoints = sorted(int(value) for value in options.checkpoints.split(","))
    results = measure(checkpoints, options.clients, options.database)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = options.out or system.REPO / "var" / "bench" / f"web-objects-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    say(f"written to {out}")


if __name__ == "__main__":
    main()
