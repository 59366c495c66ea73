"""Extension points: how an app that uses the engine follows it without the engine importing it.

An app registers its handlers once, in its AppConfig.ready(). Handlers run inside the transaction
that made the change, so what they write commits (or rolls back) with it, and they must not call
out to other systems (publish after commit instead). Registering the same handler twice keeps one.

- `on_events(handler)`: handler(events) gets the Event rows a stage (or `events_save`) just wrote.
- `on_execution_closed(handler)`: handler(execution, how) runs on every way an execution ends:
  how is the final status (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) or DELETED when its state
  machine is deleted with it (called before the rows go).
- `on_event_topics(topics)`: topics(event) names the live channels an event is published on
  after commit; the engine publishes on the union of what the registered functions name.
- `on_log_fields(fields)`: fields(execution_name) gives the fields ({name: text}) an app adds to
  the engine's log lines about that execution (a stage's, a callback's), beside `execution_id`
  and `execution_name`: the coffee bar names the order an `order-<id>` execution runs. Called
  for each line, so it must be cheap and must not query.
- `on_redrive_refusal(refusal)`: refusal(execution) gives why an ended execution must not be
  redriven (an app's reason, as ExecutionNotRedrivable's message and DescribeExecution's
  redriveStatusReason), or None. Asked only once AWS's own reasons allow the redrive (an
  execution that ended without success), so one indexed query is fine: the coffee bar refuses
  its orders' executions.
"""

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stepfunctions.models import Event, Execution

DELETED = "DELETED"

EventsHandler = Callable[[list["Event"]], None]
ClosedHandler = Callable[["Execution", str], None]
TopicsFunction = Callable[["Event"], Iterable[str]]
LogFieldsFunction = Callable[[str], dict[str, str]]
RedriveRefusal = Callable[["Execution"], str | None]

_events_handlers: list[EventsHandler] = []
_closed_handlers: list[ClosedHandler] = []
_topics_functions: list[TopicsFunction] = []
_log_fields_functions: list[LogFieldsFunction] = []
_redrive_refusals: list[RedriveRefusal] = []


def _add(registry: list, handler: Callable) -> Callable:
    if handler not in registry:
        registry.append(handler)
    return handler


def on_events(handler: EventsHandler) -> EventsHandler:
    return _add(_events_handlers, handler)


def on_execution_closed(handler: ClosedHandler) -> ClosedHandler:
    return _add(_closed_handlers, handler)


def on_event_topics(topics: TopicsFunction) -> TopicsFunction:
    return _add(_topics_functions, topics)


def on_log_fields(fields: LogFieldsFunction) -> LogFieldsFunction:
    return _add(_log_fields_functions, fields)


def on_redrive_refusal(refusal: RedriveRefusal) -> RedriveRefusal:
    return _add(_redrive_refusals, refusal)


def events_saved(events: list["Event"]) -> None:
    for handler in _events_handlers:
        handler(events)


def execution_closed(execution: "Execution", how: str) -> None:
    for handler in _closed_handlers:
        handler(execution, how)


def event_topics(event: "Event") -> list[str]:
    topics: list[str] = []
    for function in _topics_functions:
        topics.extend(t for t in function(event) if t not in topics)
    return topics


def log_fields(execution_name: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for function in _log_fields_functions:
        fields.update(function(execution_name))
    return fields


def redrive_refusal(execution: "Execution") -> str | None:
    """The first registered app's reason not to redrive `execution`, or None."""
    for refusal in _redrive_refusals:
        reason = refusal(execution)
        if reason:
            return reason
    return None
