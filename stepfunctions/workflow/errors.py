"""Errors raised by the workflow interpreter, and the Retry/Catch error-name matching rules."""

from __future__ import annotations

from collections.abc import Iterable

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"


class DefinitionError(ValueError):
    """A state machine definition was refused on load; names the state and field at fault."""

    def __init__(self, state: str | None, field: str, message: str) -> None:
        self.state = state
        self.field = field
        self.message = message
        # The states and fields around `state` when it is inside a Parallel branch or a Map's
        # item processor: ("States", "<Parallel state>", "Branches[0]", ...), outermost first.
        self.scope: tuple[str, ...] = ()
        parts = []
        if state is not None:
            parts.append(f'State "{state}"')
        if field:
            parts.append(f'field "{field}"')
        parts.append(message)
        super().__init__(": ".join(parts))


class StatesError(Exception):
    """A Step Functions error: a name (`error`) and a free-text `cause`, both optional.

    `heartbeat` is true only for a heartbeat expiry surfacing as States.Timeout, so that
    States.HeartbeatTimeout can tell it apart from the total timeout.
    """

    def __init__(self, error: str | None, cause: str | None = None, *, heartbeat: bool = False):
        self.error = error
        self.cause = cause
        self.heartbeat = heartbeat
        super().__init__(f"{error}: {cause}" if cause else str(error))


def error_matches(names: Iterable[str], error: str | None, *, heartbeat: bool = False) -> bool:
    """Whether a Retry/Catch `ErrorEquals` list matches `error`.

    Guarantees: States.Runtime is never matched (AWS makes it fatal); States.ALL matches the rest;
    States.TaskFailed the rest except States.Timeout; States.HeartbeatTimeout only a
    States.Timeout that came from a heartbeat expiry; any other name matches exactly. An error
    without a name (SendTaskFailure with no error) is matched by the wildcards only.
    States.DataLimitExceeded is matched by the wildcards: AWS's documentation says States.ALL
    does not catch it, but executions recorded on AWS show that it does, and this follows AWS.
    """
    if error == RUNTIME:
        return False
    for name in names:
        if name == ALL:
            return True
        if name == TASK_FAILED and error != TIMEOUT:
            return True
        if name == HEARTBEAT_TIMEOUT and error == TIMEOUT and heartbeat:
            return True
        if error is not None and name == error:
            return True
    return False
