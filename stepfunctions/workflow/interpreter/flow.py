"""The flow states: Pass, Choice, Wait, Succeed and Fail, in JSONPath and in JSONata."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..choice import choose
from ..definition import MAX_SECONDS, State, timestamp_parse
from ..errors import NO_CHOICE_MATCHED, RUNTIME, StatesError
from ..jsonata_query import QUERY_EVALUATION_ERROR
from ..outcomes import Outcome
from ..paths import apply_input_path, apply_output_path, apply_result_path, find, to_json
from ..templates import resolve_expression
from .run import Next, Run, check_size


class FlowStates(Run):
    def enter_flow(self, state: State, raw_input: Any) -> Next | Outcome:
        """Pass, Choice, Wait, Succeed and Fail: input and output processing, then the transition
        (a Wait with time to wait returns Delayed)."""
        ctx = self.state_context(state, [])
        if state.jsonata:
            return self.enter_jsonata(state, raw_input, ctx)
        try:
            if state.type == "Fail":
                return self.fail_state(state, raw_input, ctx)
            effective = self.noted(
                "afterInputPath", apply_input_path(state.input_path, raw_input, ctx)
            )
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
                result = assign_input = self.noted("result", state.raw.get("Result", effective))
                check_size(state, result)
                output = apply_result_path(state.result_path, raw_input, result)
                output = self.noted("afterResultPath", output)
            assigned = self.assigned(state, state.raw.get("Assign"), assign_input, ctx)
            output = apply_output_path(state.output_path, output, ctx)
            text = check_size(state, output)
        except StatesError as err:
            return self.fail_execution(err)
        return self.leave(state, assigned, output, text, target, delay)

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

    def enter_jsonata(self, state: State, raw_input: Any, ctx: dict) -> Next | Outcome:
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
            text = check_size(state, output)
        except StatesError as err:
            return self.fail_execution(err)
        return self.leave(state, assigned, output, text, target, delay)

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
