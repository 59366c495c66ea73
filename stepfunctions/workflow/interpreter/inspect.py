"""TestState: one state run on its own, its data flow recorded step by step as AWS's inspection
data names it (`afterInputPath`, `afterParameters`, `result`, `afterResultSelector`,
`afterResultPath`, `afterArguments`, ...), with a mock of its Task's (Map's, Parallel's) result
or error in place of the resource or the child runs.

An execution never comes here: the interpreter's states call `Run.noted` at each step, a no-op
for a run, which `StateTest` overrides to keep the value. No resource is invoked and nothing
waits: a Task, Map or Parallel state needs a mock (the resources' handlers run inside an
execution's transaction, with its row), and a Wait state goes on at once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..definition import Definition, State
from ..errors import StatesError, error_matches
from ..loader import load_definition
from ..outcomes import Branching, Finished, Outcome, Sleeping
from . import Interpreter
from .run import Next

# The name a state given on its own runs under (its context object's State.Name).
SINGLE_STATE_NAME = "TestState"
_MOCKED_TYPES = ("Task", "Map", "Parallel")


class StateTestRefused(Exception):
    """The request cannot be run as it is (a state that needs a mock, a mock where none
    applies, a stateName the definition has not): nothing ran."""


@dataclass(frozen=True)
class Mock:
    """What the state's resource (or its child runs) answers: a result, or an error."""

    result: Any = None
    error: StatesError | None = None


@dataclass
class StateTestResult:
    """How the state ended, as TestState answers: SUCCEEDED (with its output and the state to go
    to, if not the end), FAILED, RETRIABLE (a retrier would run it again) or CAUGHT_ERROR (a
    catcher took the error: its output and its Next)."""

    status: str
    output: Any = None
    has_output: bool = False
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection: dict[str, Any] = field(default_factory=dict)


def state_pick(definition: dict, state_name: str | None) -> tuple[State, Definition]:
    """The state to test: `state_name` within a whole state machine (nested branches and item
    processors included), or the one state `definition` is (its transition targets stand in as
    Succeed states, so a Next need not exist). DefinitionError when it does not load."""
    if state_name is None:
        if "States" in definition or "StartAt" in definition:
            raise StateTestRefused(
                "The definition is a whole state machine: give stateName to say which state to test"
            )
        targets = {name: {"Type": "Succeed"} for name in _targets(definition)}
        doc = {
            "StartAt": SINGLE_STATE_NAME,
            "States": {**targets, SINGLE_STATE_NAME: definition},
        }
        loaded = load_definition(doc)
        return loaded.states[SINGLE_STATE_NAME], loaded
    loaded = load_definition(definition)
    for scope in _scopes(loaded):
        if state_name in scope.states:
            return scope.states[state_name], scope
    raise StateTestRefused(f"stateName '{state_name}' names no state of the definition")


def _targets(raw: Any) -> Iterator[str]:
    if not isinstance(raw, dict):
        return
    for value in (raw.get("Next"), raw.get("Default")):
        if isinstance(value, str):
            yield value
    for key in ("Choices", "Catch"):
        for rule in raw.get(key) or ():
            if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
                yield rule["Next"]


def _scopes(definition: Definition) -> Iterator[Definition]:
    yield definition
    for state in definition.states.values():
        for branch in state.branches:
            yield from _scopes(branch)


def state_test(
    state: State,
    scope: Definition,
    input: Any,
    *,
    context: dict,
    now: datetime,
    variables: dict | None = None,
    mock: Mock | None = None,
    retry_count: int = 0,
) -> StateTestResult:
    """Runs `state` (of `scope`) once with `input` and `variables`; `retry_count` retries of the
    retrier that takes the mocked error have already been made. StateTestRefused for a Task,
    Map or Parallel state without a mock, or a mock on another type."""
    if mock is not None and state.type not in _MOCKED_TYPES:
        raise StateTestRefused(
            f"A mock applies to Task, Map and Parallel states only, not to a {state.type} state"
        )
    if mock is None and state.type in _MOCKED_TYPES:
        raise StateTestRefused(
            f"The {state.type} state '{state.name}' needs a mock: TestState here runs no "
            "resource and no child run (its handlers run inside an execution); give "
            "mock.result or mock.errorOutput"
        )
    run = StateTest(scope, context, _TestHost(mock, now), mock)
    run.state_name = state.name
    run.variables = copy.deepcopy(variables or {})
    raw_input = copy.deepcopy(input)
    run.inspection["input"] = copy.deepcopy(raw_input)
    attempts = [0] * len(state.retry)
    if mock is not None and mock.error is not None:
        for i, retrier in enumerate(state.retry):
            if error_matches(retrier.error_equals, mock.error.error):
                attempts[i] = retry_count
                break
    if state.type == "Task":
        outcome = run.run_task(state, raw_input, attempts)
    elif state.type in ("Map", "Parallel"):
        outcome = run.run_branches(state, raw_input, attempts)
    else:
        outcome = run.enter_flow(state, raw_input)
    return run.result_of(state, outcome)


class _TestHost:
    """No history, no tokens worth keeping, no resource: the mock answers."""

    def __init__(self, mock: Mock | None, now: datetime):
        self.mock, self.moment, self.events = mock, now, 0

    def new_token(self) -> str:
        return "TestStateTaskToken"

    def invoke(self, resource: str, parameters: Any, *, state_name: str, token: str | None) -> Any:
        assert self.mock is not None  # state_test refuses a Task without one
        if self.mock.error is not None:
            raise self.mock.error
        return copy.deepcopy(self.mock.result)

    def record(self, event_type: str, details: dict) -> int:
        self.events += 1
        return self.events

    def now(self) -> datetime:
        return self.moment


class StateTest(Interpreter):
    """A run of one state that keeps its data flow (`inspection`) and how its error was handled."""

    def __init__(self, defn: Definition, context: dict, host: _TestHost, mock: Mock | None):
        super().__init__(defn, context, host, max_transitions=1)
        self.mock = mock
        self.inspection: dict[str, Any] = {}
        self.caught: StatesError | None = None
        self.failed: StatesError | None = None

    def noted(self, key: str, value: Any) -> Any:
        self.inspection[key] = copy.deepcopy(value)
        return value

    def template(self, state: State, key: str, data: Any, ctx: dict) -> Any:
        return self.noted(f"after{key}", super().template(state, key, data, ctx))

    def jsonata(self, value: Any, states: dict, field: str) -> Any:
        found = super().jsonata(value, states, field)
        if field == "Arguments":
            self.noted("afterArguments", found)
        return found

    def result_exit(
        self, state: State, raw_input: Any, attempts: list[int], result: Any, ctx: dict
    ) -> Next | Outcome:
        self.noted("result", result)
        return super().result_exit(state, raw_input, attempts, result, ctx)

    def waiting(self, state: State, raw_input: Any, attempts: list[int], *args: Any) -> Any:
        # A callback, `.sync`, activity or HTTP task: the mock is what its wait would end with.
        return self.mocked(state, raw_input, attempts)

    def run_branches(self, state: State, raw_input: Any, attempts: list[int]) -> Next | Outcome:
        outcome = super().run_branches(state, raw_input, attempts)
        if not isinstance(outcome, Branching):
            return outcome
        if state.type == "Map":
            self.inspection["maxConcurrency"] = state.max_concurrency
            if state.tolerated_failure_count is not None:
                self.inspection["toleratedFailureCount"] = state.tolerated_failure_count
            if state.tolerated_failure_percentage is not None:
                percentage = float(state.tolerated_failure_percentage)
                self.inspection["toleratedFailurePercentage"] = percentage
        return self.mocked(state, raw_input, attempts)  # the child runs are not run

    def mocked(self, state: State, raw_input: Any, attempts: list[int]) -> Next | Outcome:
        assert self.mock is not None
        if self.mock.error is not None:
            return self.task_failed(state, raw_input, attempts, self.mock.error)
        return self.task_succeeded(state, raw_input, attempts, copy.deepcopy(self.mock.result))

    def leave(
        self, state: State, assigned: dict, output: Any, text: str, target: str | None, delay: float
    ) -> Next | Outcome:
        return super().leave(state, assigned, output, text, target, 0.0)  # a Wait waits not

    def task_error(
        self, state: State, raw_input: Any, attempts: list[int], err: StatesError
    ) -> Next | Outcome:
        outcome = super().task_error(state, raw_input, attempts, err)
        if isinstance(outcome, Sleeping):
            retry_index = next(
                i for i, (a, b) in enumerate(zip(attempts, outcome.attempts, strict=True)) if a != b
            )
            self.inspection["errorDetails"] = {
                "retryIndex": retry_index,
                "retryBackoffIntervalSeconds": int(outcome.delay_seconds),
            }
            self.failed = err
        elif isinstance(outcome, Next):
            catch_index = next(
                i
                for i, catcher in enumerate(state.catch)
                if error_matches(catcher.error_equals, err.error, heartbeat=err.heartbeat)
            )
            self.inspection["errorDetails"] = {"catchIndex": catch_index}
            self.caught = err
        return outcome

    def result_of(self, state: State, outcome: Next | Outcome) -> StateTestResult:
        if self.variables:
            self.inspection["variables"] = copy.deepcopy(self.variables)
        inspection = self.inspection
        if isinstance(outcome, Sleeping):
            err = self.failed
            assert err is not None
            # The state runs again: it is its own next state.
            return StateTestResult(
                "RETRIABLE",
                error=err.error,
                cause=err.cause,
                next_state=state.name,
                inspection=inspection,
            )
        if isinstance(outcome, Finished):
            if outcome.status == "FAILED":
                return StateTestResult(
                    "FAILED", error=outcome.error, cause=outcome.cause, inspection=inspection
                )
            return StateTestResult(
                "SUCCEEDED", outcome.output, has_output=True, inspection=inspection
            )
        if isinstance(outcome, Next):
            if self.caught is not None:
                return StateTestResult(
                    "CAUGHT_ERROR",
                    outcome.data,
                    has_output=True,
                    error=self.caught.error,
                    cause=self.caught.cause,
                    next_state=outcome.name,
                    inspection=inspection,
                )
            return StateTestResult(
                "SUCCEEDED",
                outcome.data,
                has_output=True,
                next_state=outcome.name,
                inspection=inspection,
            )
        # Nothing else can come of one state with its waits mocked and no waiting.
        raise AssertionError(f"a TestState run ended with {outcome!r}")


__all__ = [
    "Mock",
    "SINGLE_STATE_NAME",
    "StateTest",
    "StateTestRefused",
    "StateTestResult",
    "state_pick",
    "state_test",
]
