"""Runs `manage.py runsystem` for a test: its own var/ dir, the embedded defaults, clean shutdown.

The harness is the benchmark's own (bench.system): tests may import from bench, never the other
way round."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

# Re-exported: the system tests read tokens, pick ports and wait as the benchmark does.
from bench.clients import scheduled_tokens as scheduled_tokens
from bench.system import REPO as REPO
from bench.system import System, local_env, runsystem
from bench.system import answers_200 as answers_200
from bench.system import free_port as free_port


@contextlib.contextmanager
def running_system(
    var_dir: Path,
    *args: str,
    services: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[System]:
    """Starts runsystem with `args` on the embedded defaults (no service URLs, no AWS variables
    inherited), or on `services` (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL) when given, with
    `env` on top; on the way out prints its log (pytest shows it for a failed test) and stops
    whatever runs."""
    environment = {**local_env(services), **(env or {})}
    with runsystem(environment, var_dir, *args, stop_timeout=30, show_log=True) as system:
        yield system
