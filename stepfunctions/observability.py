"""What the engine tells an operator: a token's fingerprint for log lines, the ids a line carries,
and one decorator per callback service (its latency, its outcome counted, one log line).

The project's metrics endpoint (serverlesspresso.operations.metrics) exports these metrics; the
engine only records them.

The wrapped service returns the token's row (`execution_id`, `order_id`, `state_name`) to the
decorator, so the line ties the callback to its order without another query; callers get None,
as before. The token itself appears only as `token_ref`.
"""

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram

from stepfunctions.errors import ServiceError

logger = logging.getLogger("serverlesspresso.callbacks")

PREFIX = "serverlesspresso"
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


def execution_log_ids(execution_id: Any, execution_input: Any) -> dict:
    """The `extra` that ties a line to its execution and, where the input carries one in
    `detail.orderId` (the seed's input shape), the order it runs."""
    detail = execution_input.get("detail") if isinstance(execution_input, dict) else None
    order_id = detail.get("orderId") if isinstance(detail, dict) else None
    return {
        "execution_id": str(execution_id),
        "order_id": None if order_id is None else str(order_id),
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
                    execution_id=str(row["execution_id"]),
                    order_id=None if row.get("order_id") is None else str(row["order_id"]),
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
