"""A validated Amazon States Language definition as immutable objects: the state types and the
limits the interpreter reads. `load_definition` (in loader) builds one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .paths import Path


@dataclass(frozen=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter_strategy: str = "NONE"


@dataclass(frozen=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: Path | None  # None is ResultPath null; absent means `$`
    assign: Mapping[str, Any] | None = None
    output: Any = None  # a JSONata catcher's Output (None: the error output as it is)


# An Activity's ARN, as a Task state's Resource names it.
ACTIVITY_ARN = re.compile(r"^arn:aws:states:[a-z0-9-]+:\d{12}:activity:[^:]+$")


@dataclass(frozen=True)
class DistributedMap:
    """A Map state in DISTRIBUTED mode (workflow.distributed reads it): each item, or each
    batch of items with an ItemBatcher, runs as a child execution of its own in a map run."""

    label: str | None = None  # the map run's ARN part (a UUID when absent)
    execution_type: str = "STANDARD"
    # ItemBatcher: at most this many items / bytes of input per child (None: no such bound).
    max_items_per_batch: int | None = None
    max_input_bytes_per_batch: int | None = None
    batched: bool = False
    batch_input: Any = None  # a template (JSONPath) or expressions (JSONata); None: no BatchInput


@dataclass(frozen=True)
class State:
    """One validated state. Path fields hold None for JSON null (absent fields default to `$`)."""

    name: str
    type: str
    raw: Mapping[str, Any]
    next: str | None = None
    end: bool = False
    input_path: Path | None = None
    output_path: Path | None = None
    result_path: Path | None = None
    resource: str | None = None
    heartbeat_seconds: int | None = None
    timeout_seconds: int | None = None
    heartbeat_seconds_path: Path | None = None
    timeout_seconds_path: Path | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    choices: tuple[dict, ...] = ()
    default: str | None = None
    # A Wait state's one field of Seconds, Timestamp, SecondsPath and TimestampPath.
    wait_seconds: int | None = None
    wait_timestamp: datetime | None = None
    wait_seconds_path: Path | None = None
    wait_timestamp_path: Path | None = None
    # QueryLanguage JSONata: Arguments, Output, Assign and Condition hold `{% %}` expressions.
    jsonata: bool = False
    # A Parallel state's branches, a Map state's item processor (one Definition).
    branches: tuple[Definition, ...] = ()
    # A Map state's ItemsPath, MaxConcurrency (0: unbounded) and tolerated failures.
    items_path: Path | None = None
    max_concurrency: int = 0
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None
    # A Map state in DISTRIBUTED mode (None: inline).
    distributed: DistributedMap | None = None

    @property
    def is_callback(self) -> bool:
        return bool(self.resource and self.resource.endswith(".waitForTaskToken"))

    @property
    def is_activity(self) -> bool:
        """An Activity's ARN (`arn:aws:states:<region>:<account>:activity:<name>`): a worker
        anywhere takes the task with GetActivityTask and answers on its task token."""
        return bool(self.resource and ACTIVITY_ARN.match(self.resource))

    @property
    def waits_for_job(self) -> bool:
        """A `.sync` integration (`.sync:2` too): the task waits for the job it starts to end,
        on a token the host closes (never shown to the workflow as $$.Task.Token)."""
        return bool(self.resource and self.resource.endswith((".sync", ".sync:2")))

    @property
    def waits_for_response(self) -> bool:
        """A request-response resource the host answers later (the HTTP Task): the state waits
        on a token the host closes, as for `.sync`, but history shows no TaskSubmitted (AWS
        writes none for a request and its response)."""
        return self.resource in RESPONSE_RESOURCES


# Resources AWS runs as one request whose response is the state's result, which the engine runs
# off the stage (on a worker queue) and waits for.
RESPONSE_RESOURCES = frozenset({"arn:aws:states:::http:invoke"})


@dataclass(frozen=True)
class Definition:
    """A validated state machine. Never mutate `raw`: states share its sub-objects."""

    start_at: str
    states: Mapping[str, State]
    raw: dict = field(repr=False)
    timeout_seconds: int | None = None

    def state(self, name: str) -> State:
        """The state called `name`; KeyError naming it if there is none."""
        try:
            return self.states[name]
        except KeyError:
            raise KeyError(f'no state named "{name}" in this definition') from None


# Step Functions' own bounds on times and counts (the ASL reference): beyond them a value would
# overflow a date or a float at run time instead of being refused on load.
MAX_SECONDS = 99_999_999  # TimeoutSeconds, HeartbeatSeconds, IntervalSeconds
MAX_ATTEMPTS = 99_999_999
MAX_DELAY_SECONDS = 31_622_400  # MaxDelaySeconds: a year, less than 31622401


# RFC 3339's profile of ISO 8601, as the ASL reference requires of a Wait state's timestamps: an
# uppercase T between date and time, and Z or a numeric offset.
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})")


def timestamp_parse(value: Any) -> datetime | None:
    """An ISO-8601 extended offset date-time string (`2016-03-14T01:59:00Z`) as an aware
    datetime; None when `value` is not one (a fraction finer than microseconds is cut)."""
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    day, time, fraction, offset = match.groups()
    fraction = f".{fraction[:6]}" if fraction else ""
    try:
        return datetime.fromisoformat(f"{day}T{time}{fraction}{offset.replace('Z', '+00:00')}")
    except ValueError:  # a month 13, a 25th hour, ...
        return None
