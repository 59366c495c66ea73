"""Log lines: JSON in production, readable text in development, the same fields in both.

A stage's or a callback's line carries `execution_id`, `execution_name` and the coffee bar's
`order_id` (passed as `extra`: stepfunctions.observability, hooks.on_log_fields), and at
most a token's fingerprint (`token_ref`), never the token: a token in a log file is a key to the
customer's order. The routine sweeps' Celery lines are filtered out; the sweeps log themselves
when they changed something.
"""

import json
import logging
from datetime import UTC, datetime

from stepfunctions.observability import execution_log_ids, token_ref

# The fields a line may carry besides the message; each is shown when present.
CONTEXT_FIELDS = (
    "execution_id",
    "execution_name",
    "order_id",
    "state",
    "outcome",
    "token_ref",
    "count",
    "duration_ms",
)
# Run by beat every few seconds (every task of CELERY_BEAT_SCHEDULE): their "sending",
# "received" and "succeeded" lines say nothing, so an idle system logs nothing at INFO. Each sweep
# logs a line of its own when it changed something, and a failure passes the filter.
ROUTINE_TASKS = (
    "stepfunctions.tasks.expire_tokens",
    "stepfunctions.tasks.time_out_executions",
    "stepfunctions.tasks.relay_due_stages",
    "stepfunctions.tasks.recover_stalled",
    "stepfunctions.tasks.resend_task_messages",
    "stepfunctions.tasks.purge_closed_executions",
)
__all__ = ["execution_log_ids", "token_ref"]
_CELERY_ROUTINE_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "celery.beat")


def _context(record: logging.LogRecord) -> dict:
    return {
        field: getattr(record, field)
        for field in CONTEXT_FIELDS
        if getattr(record, field, None) is not None
    }


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        text = super().formatMessage(record)
        context = " ".join(f"{key}={value}" for key, value in _context(record).items())
        return f"{text} {context}" if context else text


class RoutineTaskFilter(logging.Filter):
    """Drops Celery's received/succeeded/sending lines of the routine sweeps (warnings pass)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not record.name.startswith(_CELERY_ROUTINE_LOGGERS):
            return True
        message = record.getMessage()
        return not any(task in message for task in ROUTINE_TASKS)
