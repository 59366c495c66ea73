"""Runs a Definition one stretch at a time: until a callback wait, a retry sleep, a Wait state,
or the end.

The interpreter keeps no state between calls and touches no database: everything it needs to go
on is in the Outcome it returns, and everything it does to the world goes through the Host.

Its modules: `run` (the run loop and what every state does on the way in and out), `flow` (Pass,
Choice, Wait, Succeed, Fail), `tasks` (Task states, Retry and Catch), `branches` (Parallel and
Map); here, the entry points.
"""

from __future__ import annotations

import copy
from typing import Any

from ..cursor import Cursor
from ..definition import Definition, State
from ..errors import TIMEOUT, StatesError
from ..outcomes import (
    BranchResult,
    Host,
    Outcome,
    TaskFailure,
    TaskResult,
    TaskSuccess,
    TaskTimeout,
)
from ..paths import to_json
from .branches import BranchStates
from .flow import FlowStates
from .run import MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, Next
from .tasks import resource_names

__all__ = ["MAX_HISTORY_EVENTS", "MAX_PAYLOAD_BYTES", "resource_names", "resume", "start"]


class Interpreter(FlowStates, BranchStates):
    """A run that enters every type of state."""

    def enter(self, state: State, raw_input: Any) -> Next | Outcome:
        self.state_name, self.state_input = state.name, raw_input
        self.entered_event_id = self.record(
            f"{state.type}StateEntered", {"name": state.name, "input": to_json(raw_input)}
        )
        if state.type == "Task":
            return self.run_task(state, raw_input, [0] * len(state.retry))
        if state.type in ("Parallel", "Map"):
            return self.run_branches(state, raw_input, [0] * len(state.retry))
        return self.enter_flow(state, raw_input)


def start(
    defn: Definition,
    input: Any,
    *,
    context: dict,
    host: Host,
    variables: dict | None = None,
    max_transitions: int = 250,
) -> Outcome:
    """Record ExecutionStarted and run from StartAt. `input`, `context` and `variables` are not
    mutated. `variables`: a Parallel branch's or Map iteration's outer scope, which its states
    read (none assigns one of them: the loader refuses that); what they assign stays theirs."""
    data = copy.deepcopy(input)
    host.record("ExecutionStarted", {"input": to_json(data)})
    run = Interpreter.resumed(
        defn, context, host, max_transitions, state_name=None, variables=variables
    )
    return run.drive(Next(defn.start_at, data))


def resume(
    defn: Definition,
    cursor: Cursor,
    *,
    context: dict,
    host: Host,
    input: Any = None,
    task_result: TaskResult | None = None,
    branch_results: list[BranchResult] | None = None,
    branch_failure: BranchResult | None = None,
    max_transitions: int = 250,
) -> Outcome:
    """Go on from `cursor` (a pausing Outcome's: cursor_of) until the run pauses again or ends.

    By the cursor's kind: START runs from StartAt with `input` and the cursor's variables (as
    `start`); CONTINUE enters its state; WAIT leaves its Wait state (WaitStateExited) for its
    Next or the end; TASK records how the waiting task ended (`task_result`: TaskSucceeded,
    TaskFailed or TaskTimedOut), then a success goes through ResultSelector, ResultPath and
    OutputPath, a failure through Retry, Catch, then the execution's failure; RETRY runs its Task
    (Parallel, Map) again, as AWS history shows a retry, without a second ...StateEntered (a
    callback task gets a fresh token); CHILDREN goes on in a Parallel or Map state whose child
    runs have ended, with `branch_results` in branch (item) order and `branch_failure` the first
    to fail, if one did.
    Neither `input`, `context` nor the cursor's values are mutated.
    """
    if cursor.kind == Cursor.START:
        return start(
            defn,
            input,
            context=context,
            host=host,
            variables=cursor.variables,
            max_transitions=max_transitions,
        )
    if cursor.kind == Cursor.CONTINUE:
        run = Interpreter.resumed(
            defn, context, host, max_transitions, state_name=None, variables=cursor.variables
        )
        return run.drive(Next(cursor.state, copy.deepcopy(cursor.input)))
    state = defn.state(cursor.state)
    types, named = _RESUMED_IN[cursor.kind]
    if state.type not in types:
        raise ValueError(f'state "{state.name}" is a {state.type} state, not a {named}')
    run = Interpreter.resumed(
        defn,
        context,
        host,
        max_transitions,
        state_name=state.name,
        variables=cursor.variables,
        entered_event_id=cursor.entered_event_id,
        state_input=cursor.input if cursor.kind == Cursor.WAIT else cursor.raw_input,
    )
    if cursor.kind == Cursor.WAIT:
        data = copy.deepcopy(cursor.input)
        return run.drive(run.exit(state, data, to_json(data)))
    raw_input, attempts = copy.deepcopy(cursor.raw_input), _attempts(state, cursor.attempts)
    if cursor.kind == Cursor.RETRY:
        again = run.run_task if state.type == "Task" else run.run_branches
        return run.drive(again(state, raw_input, attempts))
    if cursor.kind == Cursor.CHILDREN:
        results = copy.deepcopy(branch_results or [])
        return run.drive(run.branches_ended(state, raw_input, attempts, results, branch_failure))
    if isinstance(task_result, TaskSuccess):
        output = copy.deepcopy(task_result.output)
        return run.drive(run.task_succeeded(state, raw_input, attempts, output))
    if isinstance(task_result, TaskFailure):
        err = StatesError(task_result.error, task_result.cause)
    elif isinstance(task_result, TaskTimeout):
        err = StatesError(TIMEOUT, "", heartbeat=task_result.heartbeat)
    else:
        raise ValueError(f"a task cursor resumes with the task's result, not {task_result!r}")
    return run.drive(run.task_failed(state, raw_input, attempts, err))


# The types of state each kind of cursor goes on in, and how an error names them.
_RESUMED_IN = {
    Cursor.WAIT: (("Wait",), "Wait"),
    Cursor.TASK: (("Task", "Parallel", "Map"), "Task"),
    Cursor.RETRY: (("Task", "Parallel", "Map"), "Task"),
    Cursor.CHILDREN: (("Parallel", "Map"), "Parallel or Map"),
}


def _attempts(state: State, attempts: tuple[int, ...]) -> list[int]:
    # A stored counter list may predate an edit of the Retry list; pad or trim it to fit.
    counts = [int(n) for n in attempts][: len(state.retry)]
    return counts + [0] * (len(state.retry) - len(counts))
