"""An Amazon States Language interpreter in pure Python (Task, Pass, Choice, Wait, Succeed, Fail,
Parallel, Map).

`load_definition` validates a definition; `start` and the `resume_*` functions run it one stretch
at a time through a `Host`, returning an Outcome the caller persists and acts on.
"""

from .definition import Catcher, Definition, Retrier, State
from .errors import DefinitionError, StatesError, error_matches
from .interpreter import (
    resource_names,
    resume_branches,
    resume_continue,
    resume_retry,
    resume_task,
    resume_wait,
    start,
)
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
    Sleeping,
    TaskFailure,
    TaskResult,
    TaskSuccess,
    TaskTimeout,
    Waiting,
)
from .paths import PathSyntaxError, parse_path

__all__ = [
    "Branching",
    "BranchResult",
    "Catcher",
    "Continue",
    "Definition",
    "Delayed",
    "DefinitionError",
    "Finished",
    "Host",
    "JsonRefused",
    "MAX_DEPTH",
    "Outcome",
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
    "error_matches",
    "load_definition",
    "parse_path",
    "resource_names",
    "resume_branches",
    "resume_continue",
    "resume_retry",
    "resume_task",
    "resume_wait",
    "start",
]
