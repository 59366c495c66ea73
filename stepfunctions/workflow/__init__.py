"""An Amazon States Language interpreter in pure Python (Task, Pass, Choice, Wait, Succeed, Fail,
Parallel, Map).

`load_definition` validates a definition; `start` and `resume` run it one stretch at a time
through a `Host`, returning an Outcome the caller acts on. A pausing Outcome gives the `Cursor`
to store and resume from (`cursor_of`).
"""

from .cursor import Cursor, cursor_of, redrive_point
from .definition import ACTIVITY_ARN, Catcher, Definition, Retrier, State
from .errors import DefinitionError, StatesError, error_matches
from .interpreter import resource_names, resume, start
from .jsontext import MAX_DEPTH, JsonRefused, json_read, json_value_check
from .loader import load_definition
from .outcomes import (
    Branching,
    BranchResult,
    Continue,
    Delayed,
    Finished,
    Host,
    Outcome,
    Pause,
    Sleeping,
    TaskFailure,
    TaskResult,
    TaskSuccess,
    TaskTimeout,
    Waiting,
)
from .paths import PathSyntaxError, parse_path

__all__ = [
    "ACTIVITY_ARN",
    "Branching",
    "BranchResult",
    "Catcher",
    "Continue",
    "Cursor",
    "Definition",
    "Delayed",
    "DefinitionError",
    "Finished",
    "Host",
    "JsonRefused",
    "MAX_DEPTH",
    "Outcome",
    "Pause",
    "PathSyntaxError",
    "Retrier",
    "Sleeping",
    "State",
    "StatesError",
    "TaskFailure",
    "TaskResult",
    "TaskSuccess",
    "TaskTimeout",
    "json_read",
    "json_value_check",
    "Waiting",
    "cursor_of",
    "redrive_point",
    "error_matches",
    "load_definition",
    "parse_path",
    "resource_names",
    "resume",
    "start",
]
