"""What the interpreter exchanges with its caller: the Host it drives and the Outcomes it returns.

A pausing Outcome gives the Cursor to resume from (cursor.cursor_of); `resume` goes on from it.

Outcomes hold only plain JSON types besides their own fields, so a caller can persist them as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol


class Host(Protocol):
    """What the interpreter needs from the outside world."""

    def new_token(self) -> str: ...

    def invoke(self, resource: str, parameters: Any, *, state_name: str, token: str | None) -> Any:
        """Run the integration; for a callback task its return is the TaskSubmitted response."""

    def record(self, event_type: str, details: dict) -> int | None:
        """Add a history event; returns its id (errors name the event that entered a state)."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class TaskSuccess:
    """A waiting task succeeded with `output` (SendTaskSuccess)."""

    output: Any


@dataclass(frozen=True)
class TaskFailure:
    """A waiting task failed (SendTaskFailure)."""

    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class TaskTimeout:
    """A waiting task timed out: its heartbeat, or its whole TimeoutSeconds."""

    heartbeat: bool


@dataclass(frozen=True)
class Waiting:
    """A callback task is waiting for its token; resume with its result."""

    state_name: str
    raw_input: Any
    token: str
    heartbeat_seconds: int | None
    timeout_seconds: int | None
    attempts: list[int]
    # The id of the state's ...StateEntered event, for error causes; not part of equality.
    entered_event_id: int | None = field(default=None, compare=False)
    variables: dict = field(default_factory=dict)  # the workflow's variables (Assign)


@dataclass(frozen=True)
class Sleeping:
    """A retrier matched; resume after `delay_seconds`."""

    state_name: str
    raw_input: Any
    attempts: list[int]
    delay_seconds: float
    entered_event_id: int | None = field(default=None, compare=False)
    variables: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Delayed:
    """A Wait state waits; resume (with `output`) after `delay_seconds`. Its input and
    output processing is done: only WaitStateExited and the transition are left."""

    state_name: str
    output: Any
    delay_seconds: float
    variables: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Continue:
    """The transition budget of this call ran out; resume at once."""

    state_name: str
    state_input: Any
    variables: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Branching:
    """A Parallel or Map state runs its branches (or its items' iterations) as child runs, one
    per entry of `inputs`, at most `max_concurrency` at a time (0: all at once); resume
    with their results once all have ended, or more than `tolerated_failures`
    of them have failed."""

    state_name: str
    raw_input: Any
    inputs: list[Any]
    attempts: list[int]
    max_concurrency: int = 0
    tolerated_failures: int = 0
    entered_event_id: int | None = field(default=None, compare=False)
    variables: dict = field(default_factory=dict)
    # A distributed Map's map run: {"label", "execution_type", "batch_sizes" (items per child,
    # None when not batched), "tolerated_failure_count", "tolerated_failure_percentage"}; None
    # for a Parallel or an inline Map.
    map_run: dict | None = None


@dataclass(frozen=True)
class BranchResult:
    """How one child run of a Parallel or Map state ended (status as an execution's)."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Finished:
    """The execution ended; its history's last event is written."""

    status: Literal["SUCCEEDED", "FAILED"]
    output: Any
    error: str | None
    cause: str | None
    # A failure's state, with its input and the variables it was entered with: where a redrive
    # goes on (cursor.redrive_point). Not part of equality.
    state_name: str | None = field(default=None, compare=False)
    state_input: Any = field(default=None, compare=False)
    variables: dict | None = field(default=None, compare=False)


# The outcomes that pause a run (each has a Cursor to go on from: cursor.cursor_of).
Pause = Waiting | Sleeping | Delayed | Continue | Branching
Outcome = Pause | Finished
TaskResult = TaskSuccess | TaskFailure | TaskTimeout
