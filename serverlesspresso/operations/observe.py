"""One decorator per callback service: its latency, its outcome counted, one log line.

The wrapped service returns the token's row (`execution_id`, `order_id`, `state_name`) to the
decorator, so the line ties the callback to its order without another query; callers get None,
as before. The token itself appears only as `token_ref`.
"""

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from orders.errors import ServiceError
from serverlesspresso.operations.logs import token_ref

logger = logging.getLogger("serverlesspresso.callbacks")


def callback_observed(kind: str) -> Callable:
    """Wraps task_success / task_failure / task_heartbeat (`kind`: success, failure, heartbeat)."""

    def decorate(service: Callable[..., dict]) -> Callable[..., None]:
        @functools.wraps(service)
        def observed(*, task_token: str, **kwargs: Any) -> None:
            from serverlesspresso.operations import metrics

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
                metrics.CALLBACK_SECONDS.labels(kind=kind).observe(seconds)
                metrics.CALLBACKS.labels(kind=kind, outcome=outcome).inc()
                logger.info(
                    "Callback %s: %s",
                    kind,
                    outcome,
                    extra={**fields, "outcome": outcome, "duration_ms": round(seconds * 1000, 1)},
                )

        return observed

    return decorate
