"""Task states: the resource's invocation (or a callback's wait), the result's processing, and
Retry and Catch (which Parallel and Map states go through too)."""

from __future__ import annotations

import copy
import logging
import random
from typing import Any

from ..definition import MAX_DELAY_SECONDS, MAX_SECONDS, State
from ..errors import RUNTIME, TASK_FAILED, TIMEOUT, StatesError, error_matches
from ..jsonata_query import seconds as jsonata_seconds
from ..outcomes import Outcome, Sleeping, Waiting
from ..paths import apply_input_path, apply_output_path, apply_result_path, resolve, to_json
from .run import Next, Run, check_size

logger = logging.getLogger(__name__)
REGION = "us-east-1"
_SERVICE_ARN = "arn:aws:states:::"


def resource_names(resource: str) -> tuple[str, str]:
    """(resourceType, resource) as history shows them: `arn:aws:states:::events:putEvents` gives
    ("events", "putEvents"); any other ARN is taken for a Lambda function."""
    if resource.startswith(_SERVICE_ARN):
        service, _, api = resource[len(_SERVICE_ARN) :].partition(":")
        if service and api:
            return service, api
    return "lambda", resource


def _retry_delay(interval: int, backoff_rate: float, attempt: int) -> float:
    """IntervalSeconds * BackoffRate ** attempt, capped at a year: a long run of retries with a
    large rate would overflow a float, and no execution outlives a year's delay."""
    try:
        return min(interval * backoff_rate**attempt, MAX_DELAY_SECONDS)
    except OverflowError:
        return MAX_DELAY_SECONDS


class TaskStates(Run):
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

    def run_task(self, state: State, raw_input: Any, attempts: list[int]) -> Next | Outcome:
        assert state.resource is not None
        waits = (
            state.is_callback
            or state.waits_for_job
            or state.is_activity
            or state.waits_for_response
        )
        token = self.host.new_token() if waits else None
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
                parameters = effective = self.noted("afterInputPath", effective)
                if "Parameters" in state.raw:
                    parameters = self.template(state, "Parameters", effective, ctx)
                heartbeat = self.seconds(state, effective, ctx, "heartbeat")
                timeout = self.seconds(state, effective, ctx, "timeout")
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        if state.is_activity:
            return self.activity_schedule(
                state, raw_input, attempts, parameters, token, heartbeat, timeout
            )
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
            if not state.waits_for_response:  # AWS writes no TaskSubmitted for http:invoke
                details = {"resourceType": kind, "resource": name, "output": to_json(response)}
                self.record("TaskSubmitted", details)
            return self.waiting(state, raw_input, attempts, token, heartbeat, timeout)
        return self.task_succeeded(state, raw_input, attempts, response)

    def activity_schedule(
        self,
        state: State,
        raw_input: Any,
        attempts: list[int],
        parameters: Any,
        token: Any,
        heartbeat: int | None,
        timeout: int | None,
    ) -> Next | Outcome:
        """An Activity task, as AWS's history shows it: ActivityScheduled (its input is what the
        worker gets from GetActivityTask), then a wait on the task token until a worker answers
        (ActivityStarted is written when a worker takes it), or ActivityScheduleFailed."""
        assert state.resource is not None
        text = to_json(parameters)
        scheduled: dict[str, Any] = {
            "resource": state.resource,
            "input": text,
            "inputDetails": {"truncated": False},
        }
        if timeout is not None:
            scheduled["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = heartbeat
        self.record("ActivityScheduled", scheduled)
        try:
            self.host.invoke(
                state.resource, copy.deepcopy(parameters), state_name=state.name, token=token
            )
        except StatesError as err:
            self.record("ActivityScheduleFailed", {"error": err.error, "cause": err.cause})
            return self.task_error(state, raw_input, attempts, err)
        return self.waiting(state, raw_input, attempts, token, heartbeat, timeout)

    def waiting(
        self,
        state: State,
        raw_input: Any,
        attempts: list[int],
        token: Any,
        heartbeat: int | None,
        timeout: int | None,
    ) -> Waiting:
        """The pause until the task's token is closed (a callback, a job's end, a worker's)."""
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

    def task_succeeded(
        self, state: State, raw_input: Any, attempts: list[int], result: Any
    ) -> Next | Outcome:
        try:
            result_text = check_size(state, result)
        except StatesError as err:
            return self.task_failed(state, raw_input, attempts, err)
        if state.is_activity:
            details = {"output": result_text, "outputDetails": {"truncated": False}}
            self.record("ActivitySucceeded", details)
        else:
            kind, name = resource_names(state.resource or "")
            details = {"resourceType": kind, "resource": name, "output": result_text}
            self.record("TaskSucceeded", details)
        return self.result_exit(
            state, raw_input, attempts, result, self.state_context(state, attempts)
        )

    def result_exit(
        self, state: State, raw_input: Any, attempts: list[int], result: Any, ctx: dict
    ) -> Next | Outcome:
        """A Task's (Parallel's, Map's) result through ResultSelector, Assign, ResultPath and
        OutputPath (JSONata: Assign and Output, with `$states.result`), then the exit; an error
        there goes to Retry and Catch."""
        try:
            if state.jsonata:
                states = {"input": raw_input, "result": result, "context": ctx}
                assigned = self.assigned(state, state.raw.get("Assign"), states, ctx)
                output = self.jsonata_output(state.raw, states, default=result)
                text = check_size(state, output)
                self.variables.update(assigned)
                return self.exit(state, output, text)
            if "ResultSelector" in state.raw:
                result = self.template(state, "ResultSelector", result, ctx)
            assigned = self.assigned(state, state.raw.get("Assign"), result, ctx)
            output = apply_result_path(state.result_path, raw_input, result)
            output = apply_output_path(
                state.output_path, self.noted("afterResultPath", output), ctx
            )
            text = check_size(state, output)
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        self.variables.update(assigned)
        return self.exit(state, output, text)

    def task_failed(
        self, state: State, raw_input: Any, attempts: list[int], err: StatesError
    ) -> Next | Outcome:
        kind, name = resource_names(state.resource or "")
        if state.is_activity:
            details = {
                k: v for k, v in (("error", err.error), ("cause", err.cause)) if v is not None
            }
            self.record("ActivityTimedOut" if err.error == TIMEOUT else "ActivityFailed", details)
        elif err.error == TIMEOUT:
            details = {"resourceType": kind, "resource": name, "error": TIMEOUT, "cause": ""}
            self.record("TaskTimedOut", details)
        else:
            details = {"resourceType": kind, "resource": name}
            self.record("TaskFailed", details | {"error": err.error, "cause": err.cause})
        return self.task_error(state, raw_input, attempts, err)

    def task_error(
        self, state: State, raw_input: Any, attempts: list[int], err: StatesError
    ) -> Next | Outcome:
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
                return Next(catcher.next, output)
        return self.fail_execution(err)
