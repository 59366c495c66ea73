"""What the engine tells an operator: a token's fingerprint for log lines, the ids a line carries,
and one decorator per callback service (its latency, its outcome counted, one log line).

The project's metrics endpoint exports these metrics; the engine only records them, under names
of its own (`stepfunctions_...`).

The wrapped service returns the token's row (`execution_id`, `execution_name`, `state_name`) to
the decorator, so the line ties the callback to its execution (and to what the apps name for it:
hooks.on_log_fields) without another query; callers get None, as before. The token itself
appears only as `token_ref`.
"""

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram

from stepfunctions import hooks
from stepfunctions.errors import ServiceError

logger = logging.getLogger("stepfunctions.callbacks")

PREFIX = "stepfunctions"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CALLBACK_SECONDS = Histogram(
    f"{PREFIX}_callback_duration_seconds",
    "Time to answer a task-token callback (success, failure, heartbeat).",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
CALLBACKS = Counter(
    f"{PREFIX}_callbacks",
    "Task-token callbacks by kind and outcome (accepted, or the error's name).",
    ["kind", "outcome"],
)


def token_ref(token: str) -> str:
    """A token's fingerprint: enough to match two log lines, useless as a credential."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def execution_log_ids(execution_id: Any, execution_name: str) -> dict[str, str]:
    """The `extra` that ties a line to its execution: its id and name, and the fields the apps
    add for it (hooks.on_log_fields)."""
    return {
        "execution_id": str(execution_id),
        "execution_name": execution_name,
        **hooks.log_fields(execution_name),
    }


def callback_observed(kind: str) -> Callable:
    """Wraps task_success / task_failure / task_heartbeat (`kind`: success, failure, heartbeat)."""

    def decorate(service: Callable[..., dict]) -> Callable[..., None]:
        @functools.wraps(service)
        def observed(*, task_token: str, **kwargs: Any) -> None:
            started = time.perf_counter()
            outcome = "error"  # anything but a refusal: a bug or the database, logged by the caller
            fields = {"token_ref": token_ref(task_token) if isinstance(task_token, str) else None}
            try:
                row = service(task_token=task_token, **kwargs)
            except ServiceError as error:
                outcome = error.code
                raise
            else:
                outcome = "accepted"
                fields.update(
                    execution_log_ids(row["execution_id"], row["execution_name"]),
                    state=row.get("state_name"),
                )
            finally:
                seconds = time.perf_counter() - started
                CALLBACK_SECONDS.labels(kind=kind).observe(seconds)
                CALLBACKS.labels(kind=kind, outcome=outcome).inc()
                logger.info(
                    "Callback %s: %s",
                    kind,
                    outcome,
                    extra={**fields, "outcome": outcome, "duration_ms": round(seconds * 1000, 1)},
                )

        return observed

    return decorate
