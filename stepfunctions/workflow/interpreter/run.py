"""The run loop: one stretch of an execution, state after state, and what every state does on
the way in and out (the context object, Parameters, Assign, the exit or the execution's end).

A `Run` enters no state itself: the Interpreter (this package's __init__) dispatches each state
to the flow states, the task states or the branch states, which all build on this.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ..definition import Definition, State
from ..errors import DATA_LIMIT_EXCEEDED, RUNTIME, StatesError
from ..jsonata_query import evaluate as jsonata_evaluate
from ..outcomes import Continue, Delayed, Finished, Host, Outcome
from ..paths import to_json
from ..templates import resolve_template

MAX_PAYLOAD_BYTES = 262_144  # a state's result or output, as UTF-8 JSON text
# Step Functions' quota on one execution's history; reaching it fails the execution.
MAX_HISTORY_EVENTS = 25_000
# The most events entering one state can write (entered, scheduled, started, a result, exited,
# the execution's end): a run stops for the limit while this many are still free.
_EVENTS_PER_STATE = 8


@dataclass(frozen=True)
class Next:
    """The state to enter next, with its input."""

    name: str
    data: Any


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_size(state: State, value: Any) -> str:
    """`value` as JSON text; raises States.DataLimitExceeded if it is larger than Step Functions
    lets a state pass."""
    text = to_json(value)
    if len(text) > MAX_PAYLOAD_BYTES // 4 and len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{state.name}' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )
    return text


class Run:
    """One stretch of one execution: its position (the state, the event that entered it), its
    variables, and the history it has written."""

    def __init__(self, defn: Definition, context: dict, host: Host, max_transitions: int):
        self.defn, self.context, self.host = defn, context, host
        self.max_transitions = max_transitions
        # The state being run and the id of its ...StateEntered event, for States.Runtime causes.
        self.state_name: str | None = None
        self.state_input: Any = None  # the state's raw input: where a redrive enters it again
        self.entered_event_id: int | None = None
        self.variables: dict = {}  # the workflow's variables, set by Assign
        self.last_event_id = 0

    @classmethod
    def resumed(
        cls,
        defn: Definition,
        context: dict,
        host: Host,
        max_transitions: int,
        *,
        state_name: str | None,
        variables: dict | None,
        entered_event_id: int | None = None,
        state_input: Any = None,
    ) -> Run:
        """A run going on from an earlier stage: in `state_name` (entered at the event
        `entered_event_id`), with the workflow's variables as that stage left them."""
        run = cls(defn, context, host, max_transitions)
        run.state_name, run.entered_event_id = state_name, entered_event_id
        run.state_input = state_input
        run.variables = copy.deepcopy(variables or {})
        return run

    def record(self, event_type: str, details: dict) -> int | None:
        event_id = self.host.record(event_type, details)
        self.last_event_id = max(self.last_event_id, event_id or 0)
        return event_id

    def drive(self, step: Next | Outcome) -> Outcome:
        """Enter states until one stops the run; at most max_transitions entries, and never past
        the history quota (a loop fails the execution there, as Step Functions does)."""
        transitions = 0
        while not isinstance(step, Finished):
            # Checked before every state and before a wait, so a retry loop stops there too.
            if self.last_event_id >= MAX_HISTORY_EVENTS - 2 * _EVENTS_PER_STATE:
                cause = (
                    "The execution reached the maximum number of history events "
                    f"({MAX_HISTORY_EVENTS})."
                )
                return self.finish("FAILED", None, RUNTIME, cause)
            if not isinstance(step, Next):
                return step
            if transitions >= self.max_transitions:
                return Continue(step.name, step.data, copy.deepcopy(self.variables))
            transitions += 1
            step = self.enter(self.defn.state(step.name), step.data)
        return step

    def enter(self, state: State, raw_input: Any) -> Next | Outcome:
        """Record the state's ...StateEntered event and run it (by its type)."""
        raise NotImplementedError

    def state_context(self, state: State, attempts: list[int], token: str | None = None) -> dict:
        # A shallow copy: the interpreter never changes a node in place (it copies before writing).
        ctx = {**self.context, "State": {"EnteredTime": _iso(self.host.now()), "Name": state.name}}
        if state.type == "Task":  # AWS gives RetryCount to Task states only
            ctx["State"]["RetryCount"] = sum(attempts)
        if token is not None:
            ctx["Task"] = {"Token": token}
        return ctx

    def noted(self, key: str, value: Any) -> Any:
        """`value`, a step of the state's data flow named as TestState's inspection data names it
        (`afterInputPath`, `afterResultPath`, ...). A run keeps nothing of it; the TestState run
        (interpreter.inspect) records it."""
        return value

    def template(self, state: State, key: str, data: Any, ctx: dict) -> Any:
        """The state's Parameters or ResultSelector, built from `data`."""
        return resolve_template(state.raw[key], data, ctx, field=key, variables=self.variables)

    def assigned(self, state: State, assign: Any, data: Any, ctx: dict) -> dict:
        """The variables an Assign sets, every value evaluated with the variables as they were
        before the state (so the order of its keys does not matter); `$` is `data`."""
        if not assign:
            return {}
        if state.jsonata:  # `data` is $states
            values = self.jsonata(assign, data, "Assign")
        else:
            values = resolve_template(assign, data, ctx, field="Assign", variables=self.variables)
        if len(to_json(values).encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The variables assigned in the state '{state.name}' exceed the maximum number "
                "of bytes service limit.",
            )
        return copy.deepcopy(values)

    def jsonata(self, value: Any, states: dict, field: str) -> Any:
        return jsonata_evaluate(value, states=states, variables=self.variables, field=field)

    def jsonata_output(self, fields: Any, states: dict, *, default: Any) -> Any:
        if "Output" not in fields:
            return default
        return self.jsonata(fields["Output"], states, "Output")

    def leave(
        self, state: State, assigned: dict, output: Any, text: str, target: str | None, delay: float
    ) -> Next | Outcome:
        """A state's processing went through: its Assign takes effect, then a Wait state with
        time to wait waits (Delayed), any other state exits."""
        self.variables.update(assigned)
        if delay > 0:
            return Delayed(state.name, output, delay, copy.deepcopy(self.variables))
        return self.exit(state, output, text, target)

    def exit(
        self, state: State, output: Any, text: str, target: str | None = None
    ) -> Next | Outcome:
        """Leave `state` with `output` (`text` is its JSON) for `target`, or its Next, or the end."""
        self.record(f"{state.type}StateExited", {"name": state.name, "output": text})
        target = target or state.next
        if target is None:
            return self.finish("SUCCEEDED", output)
        return Next(target, output)

    def fail_execution(self, err: StatesError) -> Finished:
        cause = err.cause
        if err.error == RUNTIME and self.state_name is not None:
            # Worded as AWS words it; tools and people match on this prefix.
            entered = (
                f" (entered at the event id #{self.entered_event_id})"
                if self.entered_event_id is not None
                else ""
            )
            prefix = f"An error occurred while executing the state '{self.state_name}'{entered}."
            cause = f"{prefix} {cause}" if cause else prefix
        return self.finish("FAILED", None, err.error, cause)

    def finish(
        self,
        status: Literal["SUCCEEDED", "FAILED"],
        output: Any,
        error: str | None = None,
        cause: str | None = None,
    ) -> Finished:
        if status == "SUCCEEDED":
            self.record("ExecutionSucceeded", {"output": to_json(output)})
        else:
            self.record("ExecutionFailed", {"error": error, "cause": cause})
            variables = copy.deepcopy(self.variables) or None
            return Finished(
                status, output, error, cause, self.state_name, self.state_input, variables
            )
        return Finished(status, output, error, cause)
