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

from ..definition import Definition, State
from ..errors import TIMEOUT, StatesError
from ..outcomes import BranchResult, Host, Outcome, TaskFailure, TaskResult, TaskSuccess
from ..paths import to_json
from .branches import BranchStates
from .flow import FlowStates
from .run import MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, Next
from .tasks import resource_names

__all__ = [
    "MAX_HISTORY_EVENTS",
    "MAX_PAYLOAD_BYTES",
    "resource_names",
    "resume_branches",
    "resume_continue",
    "resume_retry",
    "resume_task",
    "resume_wait",
    "start",
]


class Interpreter(FlowStates, BranchStates):
    """A run that enters every type of state."""

    def enter(self, state: State, raw_input: Any) -> Next | Outcome:
        self.state_name = state.name
        self.entered_event_id = self.record(
            f"{state.type}StateEntered", {"name": state.name, "input": to_json(raw_input)}
        )
        if state.type == "Task":
            return self.run_task(state, raw_input, [0] * len(state.retry))
        if state.type in ("Parallel", "Map"):
            return self.run_branches(state, raw_input, [0] * len(state.retry))
        return self.enter_flow(state, raw_input)


def _resumed(
    defn: Definition,
    state_name: str,
    context: dict,
    host: Host,
    max_transitions: int,
    entered_event_id: int | None,
    variables: dict | None,
) -> tuple[State, Interpreter]:
    """The Task (or Parallel, Map) state a resumed run goes on in, and that run (which entered
    the state at the event `entered_event_id`, in an earlier stage)."""
    state = defn.state(state_name)
    if state.type not in ("Task", "Parallel", "Map"):
        raise ValueError(f'state "{state_name}" is a {state.type} state, not a Task')
    run = Interpreter.resumed(
        defn,
        context,
        host,
        max_transitions,
        state_name=state_name,
        variables=variables,
        entered_event_id=entered_event_id,
    )
    return state, run


def _attempts(state: State, attempts: list[int]) -> list[int]:
    # A persisted counter list may predate an edit of the Retry list; pad or trim it to fit.
    counts = [int(n) for n in attempts][: len(state.retry)]
    return counts + [0] * (len(state.retry) - len(counts))


def start(
    defn: Definition, input: Any, *, context: dict, host: Host, max_transitions: int = 250
) -> Outcome:
    """Record ExecutionStarted and run from StartAt. `input` and `context` are not mutated."""
    data = copy.deepcopy(input)
    host.record("ExecutionStarted", {"input": to_json(data)})
    return Interpreter(defn, context, host, max_transitions).drive(Next(defn.start_at, data))


def resume_task(
    defn: Definition,
    *,
    state_name: str,
    raw_input: Any,
    attempts: list[int],
    result: TaskResult,
    context: dict,
    host: Host,
    max_transitions: int = 250,
    entered_event_id: int | None = None,
    variables: dict | None = None,
) -> Outcome:
    """Record how a waiting Task ended (TaskSucceeded / TaskFailed / TaskTimedOut), then go on:
    success through ResultSelector, ResultPath and OutputPath; failure through Retry, then Catch,
    then execution failure. `entered_event_id` is the Waiting outcome's."""
    state, run = _resumed(
        defn, state_name, context, host, max_transitions, entered_event_id, variables
    )
    data, counts = copy.deepcopy(raw_input), _attempts(state, attempts)
    if isinstance(result, TaskSuccess):
        step = run.task_succeeded(state, data, counts, copy.deepcopy(result.output))
    elif isinstance(result, TaskFailure):
        step = run.task_failed(state, data, counts, StatesError(result.error, result.cause))
    else:
        err = StatesError(TIMEOUT, "", heartbeat=result.heartbeat)
        step = run.task_failed(state, data, counts, err)
    return run.drive(step)


def resume_retry(
    defn: Definition,
    *,
    state_name: str,
    raw_input: Any,
    attempts: list[int],
    context: dict,
    host: Host,
    max_transitions: int = 250,
    entered_event_id: int | None = None,
    variables: dict | None = None,
) -> Outcome:
    """Run a Task again after its Retry interval (a fresh token for a callback task). As in AWS
    history, a retry schedules the task again without a second TaskStateEntered.
    `entered_event_id` is the Sleeping outcome's."""
    state, run = _resumed(
        defn, state_name, context, host, max_transitions, entered_event_id, variables
    )
    again = run.run_task if state.type == "Task" else run.run_branches
    step = again(state, copy.deepcopy(raw_input), _attempts(state, attempts))
    return run.drive(step)


def resume_branches(
    defn: Definition,
    *,
    state_name: str,
    raw_input: Any,
    attempts: list[int],
    results: list[BranchResult],
    failure: BranchResult | None = None,
    context: dict,
    host: Host,
    max_transitions: int = 250,
    entered_event_id: int | None = None,
    variables: dict | None = None,
) -> Outcome:
    """Go on in a Parallel or Map state once its child runs have ended: `results` in branch
    (item) order, `failure` the first to fail, if one did (the Branching outcome's other
    fields are passed back as they were)."""
    state, run = _resumed(
        defn, state_name, context, host, max_transitions, entered_event_id, variables
    )
    if state.type not in ("Parallel", "Map"):
        raise ValueError(f'state "{state_name}" is a {state.type} state, not a Parallel or Map')
    data, counts = copy.deepcopy(raw_input), _attempts(state, attempts)
    step = run.branches_ended(state, data, counts, copy.deepcopy(results), failure)
    return run.drive(step)


def resume_wait(
    defn: Definition,
    *,
    state_name: str,
    output: Any,
    context: dict,
    host: Host,
    max_transitions: int = 250,
    variables: dict | None = None,
) -> Outcome:
    """Leave a Wait state once its time has come (WaitStateExited with `output`, the Delayed
    outcome's), then go on to its Next or end the execution."""
    state = defn.state(state_name)
    if state.type != "Wait":
        raise ValueError(f'state "{state_name}" is a {state.type} state, not a Wait')
    run = Interpreter.resumed(
        defn, context, host, max_transitions, state_name=state_name, variables=variables
    )
    data = copy.deepcopy(output)
    return run.drive(run.exit(state, data, to_json(data)))


def resume_continue(
    defn: Definition,
    *,
    state_name: str,
    state_input: Any,
    context: dict,
    host: Host,
    max_transitions: int = 250,
    variables: dict | None = None,
) -> Outcome:
    """Go on after a Continue outcome by entering `state_name` with `state_input` (and the
    workflow's `variables`, as the Continue outcome gave them)."""
    run = Interpreter.resumed(
        defn, context, host, max_transitions, state_name=None, variables=variables
    )
    return run.drive(Next(state_name, copy.deepcopy(state_input)))
