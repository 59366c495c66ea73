"""Where an execution's next stage resumes: the one resume-point type, shared by the
interpreter's pausing outcomes and the cursor a host stores (as JSON, in Execution.cursor).

Converted in one place each way: `cursor_of` gives a pausing Outcome's Cursor, `to_json` /
`from_json` its stored form (the shape executions in flight were stored with), and the
interpreter's `resume` goes on from one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .outcomes import Branching, Continue, Delayed, Finished, Pause, Sleeping, Waiting


@dataclass(frozen=True)
class Cursor:
    START: ClassVar[str] = "start"
    TASK: ClassVar[str] = "task"
    RETRY: ClassVar[str] = "retry"
    CONTINUE: ClassVar[str] = "continue"
    WAIT: ClassVar[str] = "wait"
    # In a Parallel or Map state while its child runs (the group's) run.
    CHILDREN: ClassVar[str] = "children"
    # The members each kind stores, besides its kind.
    _MEMBERS: ClassVar[dict[str, tuple[str, ...]]] = {
        START: ("variables",),
        TASK: ("state", "raw_input", "attempts", "token_id", "entered_event_id", "variables"),
        RETRY: ("state", "raw_input", "attempts", "entered_event_id", "variables"),
        CONTINUE: ("state", "input", "variables"),
        WAIT: ("state", "input", "variables"),
        CHILDREN: ("state", "raw_input", "attempts", "entered_event_id", "variables", "group"),
    }
    # Members that may be missing from the JSON (written only when set).
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"entered_event_id", "variables"})

    kind: str
    state: str | None = None
    # The state's input (continue), the Wait state's output (wait) or the task's raw input (task,
    # retry).
    input: Any = None
    raw_input: Any = None
    attempts: tuple[int, ...] = ()
    # The callback token a task waits on.
    token_id: int | None = None
    # The history event id that entered the state, for AWS's wording of a later error's cause.
    # Cursors stored before it existed have none.
    entered_event_id: int | None = None
    # The workflow's variables (Assign) as the stage left them; None when it has none (and in
    # cursors stored before variables were kept). A child run's START: the outer scope's, as
    # they were when its Parallel or Map state started (its states read them).
    variables: dict[str, Any] | None = None
    # The ChildGroup (its id as text) a children cursor waits on.
    group: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in self._MEMBERS:
            raise ValueError(f"Unknown cursor kind {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for name in self._MEMBERS[self.kind]:
            value = getattr(self, name)
            if value is None and name in self._OPTIONAL:
                continue
            data[name] = list(value) if name == "attempts" else value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Cursor | None:
        """The stored cursor; None once the execution is done (stored as {})."""
        if not data:
            return None
        kind = data.get("kind")
        if kind not in cls._MEMBERS:
            raise ValueError(f"Unknown cursor {data!r}")
        members = {
            name: data.get(name) if name in cls._OPTIONAL else data[name]
            for name in cls._MEMBERS[kind]
        }
        if "attempts" in members:
            members["attempts"] = tuple(members["attempts"])
        return cls(kind=kind, **members)


# The kinds of the pauses inside a Task, Parallel or Map state (which keep its raw input).
_IN_STATE = {Waiting: Cursor.TASK, Sleeping: Cursor.RETRY, Branching: Cursor.CHILDREN}


def cursor_of(outcome: Pause, *, token_id: int | None = None, group: str | None = None) -> Cursor:
    """Where a run that paused with `outcome` goes on. The host adds its own storage ids: the
    callback token a Waiting task waits on (`token_id`, None until the host has stored the
    token) and the group of child runs a Branching state waits on (`group`). The workflow's
    variables are kept only when there are some."""
    if not isinstance(outcome, Pause):
        raise TypeError(f"{outcome!r} does not pause a run: it has no cursor")
    variables = outcome.variables or None
    if isinstance(outcome, Waiting | Sleeping | Branching):
        kind = _IN_STATE[type(outcome)]
        return Cursor(
            kind,
            state=outcome.state_name,
            raw_input=outcome.raw_input,
            attempts=tuple(outcome.attempts),
            token_id=token_id if kind == Cursor.TASK else None,
            entered_event_id=outcome.entered_event_id,
            variables=variables,
            group=group if kind == Cursor.CHILDREN else None,
        )
    if isinstance(outcome, Delayed):
        return Cursor(
            Cursor.WAIT, state=outcome.state_name, input=outcome.output, variables=variables
        )
    assert isinstance(outcome, Continue)
    return Cursor(
        Cursor.CONTINUE, state=outcome.state_name, input=outcome.state_input, variables=variables
    )


def redrive_point(cursor: Cursor | None, failed: Finished | None = None) -> Cursor:
    """Where a redrive of an execution that ended unsuccessfully goes on: the state that did not
    succeed, entered again with the input it was entered with (a Task's token and retry counts
    start afresh). `cursor` is the execution's resume point when it ended (the one its last stage
    ran from); `failed`, the interpreter's failure, if the execution failed in its definition.

    A Parallel or Map state waiting on its child runs (or failing once they ended) keeps its
    CHILDREN cursor: a redrive runs again only the children that did not succeed. A run that
    had not started, or was between states or in a Wait state, goes on from there."""
    if failed is not None and failed.state_name is not None:
        if (
            cursor is not None
            and cursor.kind == Cursor.CHILDREN
            and cursor.state == failed.state_name
        ):
            return Cursor(**{**cursor.__dict__, "attempts": ()})
        return Cursor(
            Cursor.CONTINUE,
            state=failed.state_name,
            input=failed.state_input,
            variables=failed.variables or None,
        )
    if cursor is None:
        return Cursor(Cursor.START)
    if cursor.kind == Cursor.CHILDREN:
        return Cursor(**{**cursor.__dict__, "attempts": ()})
    if cursor.kind in (Cursor.TASK, Cursor.RETRY):
        return Cursor(
            Cursor.CONTINUE, state=cursor.state, input=cursor.raw_input, variables=cursor.variables
        )
    return cursor
