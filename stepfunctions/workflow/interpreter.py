"""Runs a Definition one stretch at a time: until a callback wait, a retry sleep, a Wait state,
or the end.

The interpreter keeps no state between calls and touches no database: everything it needs to go
on is in the Outcome it returns, and everything it does to the world goes through the Host.
"""

from __future__ import annotations

import copy
import logging
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .choice import choose
from .definition import MAX_DELAY_SECONDS, MAX_SECONDS, Definition, State, timestamp_parse
from .errors import (
    DATA_LIMIT_EXCEEDED,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    NO_CHOICE_MATCHED,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
    StatesError,
    error_matches,
)
from .jsonata_query import QUERY_EVALUATION_ERROR
from .jsonata_query import evaluate as jsonata_evaluate
from .jsonata_query import seconds as jsonata_seconds
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
    Waiting,
)
from .paths import (
    apply_input_path,
    apply_output_path,
    apply_result_path,
    find,
    resolve,
    to_json,
)
from .templates import resolve_expression, resolve_template

logger = logging.getLogger(__name__)
REGION = "us-east-1"
_SERVICE_ARN = "arn:aws:states:::"
MAX_PAYLOAD_BYTES = 262_144  # a state's result or output, as UTF-8 JSON text
# Step Functions' quota on one execution's history; reaching it fails the execution.
MAX_HISTORY_EVENTS = 25_000
# The most events entering one state can write (entered, scheduled, started, a result, exited,
# the execution's end): a run stops for the limit while this many are still free.
_EVENTS_PER_STATE = 8


@dataclass(frozen=True)
class _Next:
    name: str
    data: Any


def resource_names(resource: str) -> tuple[str, str]:
    """(resourceType, resource) as history shows them: `arn:aws:states:::events:putEvents` gives
    ("events", "putEvents"); any other ARN is taken for a Lambda function."""
    if resource.startswith(_SERVICE_ARN):
        service, _, api = resource[len(_SERVICE_ARN) :].partition(":")
        if service and api:
            return service, api
    return "lambda", resource


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_size(state: State, value: Any) -> str:
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


def _retry_delay(interval: int, backoff_rate: float, attempt: int) -> float:
    """IntervalSeconds * BackoffRate ** attempt, capped at a year: a long run of retries with a
    large rate would overflow a float, and no execution outlives a year's delay."""
    try:
        return min(interval * backoff_rate**attempt, MAX_DELAY_SECONDS)
    except OverflowError:
        return MAX_DELAY_SECONDS


class _Run:
    def __init__(self, defn: Definition, context: dict, host: Host, max_transitions: int):
        self.defn, self.context, self.host = defn, context, host
        self.max_transitions = max_transitions
        # The state being run and the id of its ...StateEntered event, for States.Runtime causes.
        self.state_name: str | None = None
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
    ) -> _Run:
        """A run going on from an earlier stage: in `state_name` (entered at the event
        `entered_event_id`), with the workflow's variables as that stage left them."""
        run = cls(defn, context, host, max_transitions)
        run.state_name, run.entered_event_id = state_name, entered_event_id
        run.variables = copy.deepcopy(variables or {})
        return run

    def record(self, event_type: str, details: dict) -> int | None:
        event_id = self.host.record(event_type, details)
        self.last_event_id = max(self.last_event_id, event_id or 0)
        return event_id

    def drive(self, step: _Next | Outcome) -> Outcome:
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
            if not isinstance(step, _Next):
                return step
            if transitions >= self.max_transitions:
                return Continue(step.name, step.data, copy.deepcopy(self.variables))
            transitions += 1
            step = self.enter(self.defn.state(step.name), step.data)
        return step

    def state_context(self, state: State, attempts: list[int], token: str | None = None) -> dict:
        # A shallow copy: the interpreter never changes a node in place (it copies before writing).
        ctx = {**self.context, "State": {"EnteredTime": _iso(self.host.now()), "Name": state.name}}
        if state.type == "Task":  # AWS gives RetryCount to Task states only
            ctx["State"]["RetryCount"] = sum(attempts)
        if token is not None:
            ctx["Task"] = {"Token": token}
        return ctx

    def enter(self, state: State, raw_input: Any) -> _Next | Outcome:
        self.state_name = state.name
        self.entered_event_id = self.record(
            f"{state.type}StateEntered", {"name": state.name, "input": to_json(raw_input)}
        )
        if state.type == "Task":
            return self.run_task(state, raw_input, [0] * len(state.retry))
        if state.type in ("Parallel", "Map"):
            return self.run_branches(state, raw_input, [0] * len(state.retry))
        ctx = self.state_context(state, [])
        if state.jsonata:
            return self.enter_jsonata(state, raw_input, ctx)
        try:
            if state.type == "Fail":
                return self.fail_state(state, raw_input, ctx)
            effective = apply_input_path(state.input_path, raw_input, ctx)
            target, delay = None, 0.0
            if state.type == "Wait":
                delay = self.wait_delay(state, effective, ctx)
                output = assign_input = effective
            elif state.type == "Choice":
                target = choose(state.choices, state.default, effective, ctx, self.variables)
                output = assign_input = effective
            elif state.type == "Succeed":
                output = assign_input = effective
            else:  # Pass
                if "Parameters" in state.raw:
                    effective = self.template(state, "Parameters", effective, ctx)
                result = assign_input = state.raw.get("Result", effective)
                _check_size(state, result)
                output = apply_result_path(state.result_path, raw_input, result)
            assigned = self.assigned(state, state.raw.get("Assign"), assign_input, ctx)
            output = apply_output_path(state.output_path, output, ctx)
            text = _check_size(state, output)
        except StatesError as err:
            return self.fail_execution(err)
        return self.leave(state, assigned, output, text, target, delay)

    def leave(
        self, state: State, assigned: dict, output: Any, text: str, target: str | None, delay: float
    ) -> _Next | Outcome:
        """A state's processing went through: its Assign takes effect, then a Wait state with
        time to wait waits (Delayed), any other state exits."""
        self.variables.update(assigned)
        if delay > 0:
            return Delayed(state.name, output, delay, copy.deepcopy(self.variables))
        return self.exit(state, output, text, target)

    def wait_delay(self, state: State, effective: Any, ctx: dict) -> float:
        """Seconds a Wait state waits from now (0 for a time already past), as AWS reads its
        fields; a path to something else is States.Runtime, worded as AWS words it."""
        if state.wait_seconds is not None:
            return float(state.wait_seconds)
        until = state.wait_timestamp
        path = state.wait_seconds_path or state.wait_timestamp_path
        if path is not None:
            field = "SecondsPath" if state.wait_seconds_path is not None else "TimestampPath"
            found, value = find(path, effective, ctx, self.variables)
            if not found:
                message = f"The {field} parameter does not reference an input value: {path.text}"
                raise StatesError(RUNTIME, message)
            shown = f"{path.text} == {value if isinstance(value, str) else to_json(value)}"
            if field == "SecondsPath":
                if not isinstance(value, int) or isinstance(value, bool):
                    message = f"The SecondsPath parameter cannot be parsed as a long value: {shown}"
                    raise StatesError(RUNTIME, message)
                if value < 0:
                    message = f"The SecondsPath parameter references a negative value: {shown}"
                    raise StatesError(RUNTIME, message)
                if value > MAX_SECONDS:  # this engine's bound, as for the Seconds field
                    message = (
                        f"The SecondsPath parameter references a value larger than {MAX_SECONDS}"
                        f": {shown}"
                    )
                    raise StatesError(RUNTIME, message)
                return float(value)
            until = timestamp_parse(value)
            if until is None:
                raise StatesError(
                    RUNTIME,
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended "
                    f"offset date-time format string: {shown}",
                )
        assert until is not None
        return max((until - self.host.now()) / timedelta(seconds=1), 0.0)

    def enter_jsonata(self, state: State, raw_input: Any, ctx: dict) -> _Next | Outcome:
        """Pass, Choice, Wait, Succeed and Fail with QueryLanguage JSONata: `$states.input` is the
        raw input; Output (the input when absent) and Assign see the variables as they were."""
        states = {"input": raw_input, "context": ctx}
        target, delay = None, 0.0
        try:
            if state.type == "Fail":
                error, cause = (self.jsonata_text(state, key, states) for key in ("Error", "Cause"))
                return self.finish("FAILED", None, error, cause)
            rule_assign = None
            if state.type == "Choice":
                target, rule_assign = self.jsonata_choice(state, states)
            elif state.type == "Wait":
                delay = self.jsonata_wait_delay(state, states)
            assigned = self.assigned(state, state.raw.get("Assign"), states, ctx)
            if rule_assign:
                # The matched rule's Assign, besides the state's (AWS: the state's applies
                # whichever rule matches); both see the variables as they were, and where both
                # name a variable the rule's value is kept.
                assigned.update(self.assigned(state, rule_assign, states, ctx))
            output = self.jsonata_output(state.raw, states, default=raw_input)
            text = _check_size(state, output)
        except StatesError as err:
            return self.fail_execution(err)
        return self.leave(state, assigned, output, text, target, delay)

    def jsonata(self, value: Any, states: dict, field: str) -> Any:
        return jsonata_evaluate(value, states=states, variables=self.variables, field=field)

    def jsonata_output(self, fields: Any, states: dict, *, default: Any) -> Any:
        if "Output" not in fields:
            return default
        return self.jsonata(fields["Output"], states, "Output")

    def jsonata_text(self, state: State, key: str, states: dict) -> str | None:
        """A JSONata Fail state's Error or Cause: a string, or an expression giving one."""
        value = self.jsonata(state.raw.get(key), states, key)
        if value is not None and not isinstance(value, str):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The field '{key}' must be a string, not '{to_json(value)}'",
            )
        return value

    def jsonata_choice(self, state: State, states: dict) -> tuple[str, Any]:
        """The state to go to, and the Assign of the rule that matched (None for the Default)."""
        for i, rule in enumerate(state.choices):
            field = f"Choices[{i}].Condition"
            holds = self.jsonata(rule["Condition"], states, field)
            if not isinstance(holds, bool):
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"The Condition of {field} must give true or false, not '{to_json(holds)}'",
                )
            if holds:
                return rule["Next"], rule.get("Assign")
        if state.default is not None:
            return state.default, None
        raise StatesError(NO_CHOICE_MATCHED, "No Choice Rules matched and no Default is set")

    def jsonata_wait_delay(self, state: State, states: dict) -> float:
        if state.wait_seconds is not None or state.wait_timestamp is not None:
            return self.wait_delay(state, None, {})
        key = "Seconds" if "Seconds" in state.raw else "Timestamp"
        value = self.jsonata(state.raw[key], states, key)
        if key == "Seconds":
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not 0 <= value <= MAX_SECONDS
            ):
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"The field 'Seconds' must be an integer between 0 and {MAX_SECONDS}, not "
                    f"'{to_json(value)}'",
                )
            return float(value)
        until = timestamp_parse(value)
        if until is None:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                "The field 'Timestamp' must be an ISO-8601 extended offset date-time format "
                f"string, not '{to_json(value)}'",
            )
        return max((until - self.host.now()) / timedelta(seconds=1), 0.0)

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

    def exit(
        self, state: State, output: Any, text: str, target: str | None = None
    ) -> _Next | Outcome:
        """Leave `state` with `output` (`text` is its JSON) for `target`, or its Next, or the end."""
        self.record(f"{state.type}StateExited", {"name": state.name, "output": text})
        target = target or state.next
        if target is None:
            return self.finish("SUCCEEDED", output)
        return _Next(target, output)

    def fail_state(self, state: State, raw_input: Any, ctx: dict) -> Outcome:
        found = {}
        for key in ("Error", "Cause"):
            if f"{key}Path" in state.raw:
                found[key] = resolve_expression(
                    state.raw[f"{key}Path"],
                    raw_input,
                    ctx,
                    field=f"{key}Path",
                    variables=self.variables,
                )
                if not isinstance(found[key], str):
                    raise StatesError(
                        RUNTIME,
                        f"The value of the field '{key}Path' must be a string, not "
                        f"'{to_json(found[key])}'",
                    )
            else:
                found[key] = state.raw.get(key)
        # The names are the workflow's own: a Fail state's "States.Runtime" is not reworded.
        return self.finish("FAILED", None, found["Error"], found["Cause"])

    def seconds(self, state: State, effective: Any, ctx: dict, key: str) -> int | None:
        value = getattr(state, f"{key}_seconds")
        path = getattr(state, f"{key}_seconds_path")
        if path is None:
            return value
        field = f"{key.capitalize()}SecondsPath"
        value = resolve(path, effective, ctx, field=field, variables=self.variables)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_SECONDS:
            raise StatesError(
                RUNTIME, f"{field} '{path.text}' must name an integer between 1 and {MAX_SECONDS}"
            )
        return value

    def run_task(self, state: State, raw_input: Any, attempts: list[int]) -> _Next | Outcome:
        assert state.resource is not None
        token = self.host.new_token() if state.is_callback or state.waits_for_job else None
        ctx = self.state_context(state, attempts, token if state.is_callback else None)
        try:
            if state.jsonata:
                parameters = raw_input
                states = {"input": raw_input, "context": ctx}
                if "Arguments" in state.raw:
                    parameters = self.jsonata(state.raw["Arguments"], states, "Arguments")
                heartbeat, timeout = (
                    jsonata_seconds(state.raw, key, states=states, variables=self.variables)
                    for key in ("HeartbeatSeconds", "TimeoutSeconds")
                )
            else:
                effective = apply_input_path(state.input_path, raw_input, ctx)
                parameters = effective
                if "Parameters" in state.raw:
                    parameters = self.template(state, "Parameters", effective, ctx)
                heartbeat = self.seconds(state, effective, ctx, "heartbeat")
                timeout = self.seconds(state, effective, ctx, "timeout")
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        kind, name = resource_names(state.resource)
        scheduled = {
            "resourceType": kind,
            "resource": name,
            "region": REGION,
            "parameters": to_json(parameters),
        }
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = heartbeat
        if timeout is not None:
            scheduled["timeoutInSeconds"] = timeout
        self.record("TaskScheduled", scheduled)
        self.record("TaskStarted", {"resourceType": kind, "resource": name})
        try:
            response = self.host.invoke(
                state.resource, copy.deepcopy(parameters), state_name=state.name, token=token
            )
        except StatesError as err:
            return self.task_failed(state, raw_input, attempts, err)
        except Exception:
            # A bug or an outage inside the resource: its traceback is for the operator's log; the
            # execution sees a Step Functions error, never a Python exception's name.
            logger.exception("Resource %s failed in state %r", state.resource, state.name)
            cause = f"The resource '{state.resource}' failed with an unexpected error"
            return self.task_failed(state, raw_input, attempts, StatesError(TASK_FAILED, cause))
        response = copy.deepcopy(response)
        if token is not None:
            details = {"resourceType": kind, "resource": name, "output": to_json(response)}
            self.record("TaskSubmitted", details)
            return Waiting(
                state.name,
                raw_input,
                token,
                heartbeat,
                timeout,
                list(attempts),
                self.entered_event_id,
                copy.deepcopy(self.variables),
            )
        return self.task_succeeded(state, raw_input, attempts, response)

    def task_succeeded(
        self, state: State, raw_input: Any, attempts: list[int], result: Any
    ) -> _Next | Outcome:
        try:
            result_text = _check_size(state, result)
        except StatesError as err:
            return self.task_failed(state, raw_input, attempts, err)
        kind, name = resource_names(state.resource or "")
        self.record(
            "TaskSucceeded", {"resourceType": kind, "resource": name, "output": result_text}
        )
        return self.result_exit(
            state, raw_input, attempts, result, self.state_context(state, attempts)
        )

    def result_exit(
        self, state: State, raw_input: Any, attempts: list[int], result: Any, ctx: dict
    ) -> _Next | Outcome:
        """A Task's (Parallel's, Map's) result through ResultSelector, Assign, ResultPath and
        OutputPath (JSONata: Assign and Output, with `$states.result`), then the exit; an error
        there goes to Retry and Catch."""
        try:
            if state.jsonata:
                states = {"input": raw_input, "result": result, "context": ctx}
                assigned = self.assigned(state, state.raw.get("Assign"), states, ctx)
                output = self.jsonata_output(state.raw, states, default=result)
                text = _check_size(state, output)
                self.variables.update(assigned)
                return self.exit(state, output, text)
            if "ResultSelector" in state.raw:
                result = self.template(state, "ResultSelector", result, ctx)
            assigned = self.assigned(state, state.raw.get("Assign"), result, ctx)
            output = apply_result_path(state.result_path, raw_input, result)
            output = apply_output_path(state.output_path, output, ctx)
            text = _check_size(state, output)
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        self.variables.update(assigned)
        return self.exit(state, output, text)

    def task_failed(
        self, state: State, raw_input: Any, attempts: list[int], err: StatesError
    ) -> _Next | Outcome:
        kind, name = resource_names(state.resource or "")
        if err.error == TIMEOUT:
            details = {"resourceType": kind, "resource": name, "error": TIMEOUT, "cause": ""}
            self.record("TaskTimedOut", details)
        else:
            details = {"resourceType": kind, "resource": name}
            self.record("TaskFailed", details | {"error": err.error, "cause": err.cause})
        return self.task_error(state, raw_input, attempts, err)

    def task_error(
        self, state: State, raw_input: Any, attempts: list[int], err: StatesError
    ) -> _Next | Outcome:
        """Retry, else Catch, else fail the execution. Only the first matching retrier counts."""
        for i, retrier in enumerate(state.retry):
            if not error_matches(retrier.error_equals, err.error, heartbeat=err.heartbeat):
                continue
            if attempts[i] < retrier.max_attempts:
                delay = _retry_delay(retrier.interval_seconds, retrier.backoff_rate, attempts[i])
                if retrier.max_delay_seconds is not None:
                    delay = min(delay, retrier.max_delay_seconds)
                if retrier.jitter_strategy == "FULL":
                    delay = random.uniform(0, delay)  # noqa: S311 - spreads retries, not a secret
                counts = list(attempts)
                counts[i] += 1
                return Sleeping(
                    state.name,
                    raw_input,
                    counts,
                    float(delay),
                    self.entered_event_id,
                    copy.deepcopy(self.variables),
                )
            break
        for catcher in state.catch:
            if error_matches(catcher.error_equals, err.error, heartbeat=err.heartbeat):
                caught = {"Error": err.error, "Cause": err.cause}
                try:
                    # A catcher's Assign reads the error output; the state's own Assign is not run.
                    ctx = self.state_context(state, attempts)
                    if state.jsonata:
                        states = {"input": raw_input, "errorOutput": caught, "context": ctx}
                        assigned = self.assigned(state, catcher.assign, states, ctx)
                        output = caught
                        if catcher.output is not None:
                            output = self.jsonata(catcher.output, states, "Output")
                    else:
                        assigned = self.assigned(state, catcher.assign, caught, ctx)
                        output = apply_result_path(catcher.result_path, raw_input, caught)
                except StatesError as catch_error:
                    return self.fail_execution(catch_error)
                self.variables.update(assigned)
                return _Next(catcher.next, output)
        return self.fail_execution(err)

    # --- Parallel and Map ----------------------------------------------------------------------
    def run_branches(self, state: State, raw_input: Any, attempts: list[int]) -> _Next | Outcome:
        """Starts a Parallel state's branches (each gets the effective input) or a Map state's
        iterations (one per item of ItemsPath, through ItemSelector): the caller runs them as
        child runs and resumes with resume_branches. A Retry starts them all again."""
        ctx = self.state_context(state, attempts)
        try:
            if state.jsonata:
                effective = {"input": raw_input, "context": ctx}  # $states
                if state.type == "Parallel" and "Arguments" in state.raw:
                    effective = self.jsonata(state.raw["Arguments"], effective, "Arguments")
                elif state.type == "Parallel":
                    effective = raw_input
            else:
                effective = apply_input_path(state.input_path, raw_input, ctx)
                if state.type == "Parallel" and "Parameters" in state.raw:
                    effective = self.template(state, "Parameters", effective, ctx)
            if state.type == "Parallel":
                inputs = [copy.deepcopy(effective) for _ in state.branches]
                tolerated = 0
            else:
                inputs = self.map_inputs(state, effective, ctx)
                tolerated = map_tolerated_failures(state, len(inputs))
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        if state.type == "Parallel":
            self.record("ParallelStateStarted", {})
        else:
            self.record("MapStateStarted", {"length": len(inputs)})
            if not inputs:  # nothing to iterate: the Map succeeds at once with []
                return self.branches_ended(state, raw_input, attempts, [], None)
        return Branching(
            state.name,
            raw_input,
            inputs,
            list(attempts),
            state.max_concurrency,
            tolerated,
            self.entered_event_id,
            copy.deepcopy(self.variables),
        )

    def map_inputs(self, state: State, effective: Any, ctx: dict) -> list[Any]:
        """Each iteration's input: the item, or ItemSelector (the older Parameters) built with
        `$$.Map.Item.Index` and `$$.Map.Item.Value` in the context object. JSONata: Items (the
        input when absent) and ItemSelector, with `$states` as `effective`."""
        if state.jsonata:
            return self.jsonata_map_inputs(state, effective)
        assert state.items_path is not None
        items = resolve(
            state.items_path, effective, ctx, field="ItemsPath", variables=self.variables
        )
        if not isinstance(items, list):
            raise StatesError(
                RUNTIME,
                f"Invalid path '{state.items_path.text}': the value of ItemsPath must be a JSON "
                f"array, not '{to_json(items)}'",
            )
        key = "ItemSelector" if "ItemSelector" in state.raw else "Parameters"
        if key not in state.raw:
            return copy.deepcopy(items)
        return [
            resolve_template(
                state.raw[key],
                effective,
                {**ctx, "Map": {"Item": {"Index": index, "Value": item}}},
                field=key,
                variables=self.variables,
            )
            for index, item in enumerate(items)
        ]

    def jsonata_map_inputs(self, state: State, states: dict) -> list[Any]:
        items = states["input"]
        if "Items" in state.raw:
            items = self.jsonata(state.raw["Items"], states, "Items")
        if not isinstance(items, list):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The field 'Items' must give a JSON array, not '{to_json(items)}'",
            )
        if "ItemSelector" not in state.raw:
            return copy.deepcopy(items)
        context = states["context"]
        return [
            self.jsonata(
                state.raw["ItemSelector"],
                {**states, "context": {**context, "Map": {"Item": {"Index": i, "Value": item}}}},
                "ItemSelector",
            )
            for i, item in enumerate(items)
        ]

    def branches_ended(
        self,
        state: State,
        raw_input: Any,
        attempts: list[int],
        results: list[BranchResult],
        failure: BranchResult | None,
    ) -> _Next | Outcome:
        """The child runs ended (or enough of them failed): the state fails with the first
        failure's error (a Map past its tolerated failures: States.ExceedToleratedFailureThreshold),
        through its Retry and Catch; else its result is the outputs in branch (item) order."""
        kind = state.type
        failed = sum(result.status != "SUCCEEDED" for result in results)
        tolerance = kind == "Map" and (
            state.tolerated_failure_count is not None
            or state.tolerated_failure_percentage is not None
        )
        if tolerance and failed > map_tolerated_failures(state, len(results)):
            self.record(f"{kind}StateFailed", {})
            err = StatesError(
                EXCEED_TOLERATED_FAILURE_THRESHOLD,
                "The specified tolerated failure threshold was exceeded",
            )
            return self.task_error(state, raw_input, attempts, err)
        if failure is not None and not tolerance:
            self.record(f"{kind}StateFailed", {})
            err = StatesError(failure.error or TASK_FAILED, failure.cause or "")
            return self.task_error(state, raw_input, attempts, err)
        self.record(f"{kind}StateSucceeded", {})
        result: Any = [
            r.output if r.status == "SUCCEEDED" else {"Error": r.error, "Cause": r.cause}
            for r in results
        ]
        try:
            _check_size(state, result)
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        return self.result_exit(
            state, raw_input, attempts, result, self.state_context(state, attempts)
        )

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
        return Finished(status, output, error, cause)


def map_tolerated_failures(state: State, length: int) -> int:
    """How many of a Map's `length` iterations may fail before it fails: the fewer of
    ToleratedFailureCount and ToleratedFailurePercentage's share (0 when neither is set)."""
    bounds = []
    if state.tolerated_failure_count is not None:
        bounds.append(state.tolerated_failure_count)
    if state.tolerated_failure_percentage is not None:
        bounds.append(math.floor(length * state.tolerated_failure_percentage / 100))
    return min(bounds) if bounds else 0


def _resumed(
    defn: Definition,
    state_name: str,
    context: dict,
    host: Host,
    max_transitions: int,
    entered_event_id: int | None,
    variables: dict | None,
) -> tuple[State, _Run]:
    """The Task (or Parallel, Map) state a resumed run goes on in, and that run (which entered
    the state at the event `entered_event_id`, in an earlier stage)."""
    state = defn.state(state_name)
    if state.type not in ("Task", "Parallel", "Map"):
        raise ValueError(f'state "{state_name}" is a {state.type} state, not a Task')
    run = _Run.resumed(
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
    return _Run(defn, context, host, max_transitions).drive(_Next(defn.start_at, data))


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
    run = _Run.resumed(
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
    run = _Run.resumed(defn, context, host, max_transitions, state_name=None, variables=variables)
    return run.drive(_Next(state_name, copy.deepcopy(state_input)))
