"""gunicorn's config for bench.web_objects: each worker counts its live objects at checkpoints.

The benchmark creates `<WEB_OBJECTS_DIR>/checkpoint-<n>`; within half a second the worker
collects garbage, counts the objects the collector tracks by type, reads the interpreter's
allocated blocks and its thread count, and writes `<WEB_OBJECTS_DIR>/objects-<pid>-<n>.json`.
Nothing else changes in the worker: no tracing, so it serves at its usual cost.
"""

import collections
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path


def _count(directory: Path) -> None:
    number = 1
    while True:
        if (directory / f"checkpoint-{number}").exists():
            gc.collect()
            by_type = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            figures = {
                "allocated blocks": sys.getallocatedblocks(),
                "objects": sum(by_type.values()),
                "threads": threading.active_count(),
                "by type": dict(by_type),
            }
            path = directory / f"objects-{os.getpid()}-{number}.json"
            path.with_suffix(".tmp").write_text(json.dumps(figures))
            path.with_suffix(".tmp").replace(path)  # the benchmark never reads half a file
            number += 1
        time.sleep(0.5)


def post_worker_init(worker) -> None:
    directory = Path(os.environ["WEB_OBJECTS_DIR"])
    threading.Thread(target=_count, args=(directory,), daemon=True, name="web-objects").start()
