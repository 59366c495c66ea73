"""Parallel and Map states: their child runs' inputs (branches, or items through ItemSelector),
and the state's result once the child runs have ended (tolerated failures included)."""

from __future__ import annotations

import copy
import math
from typing import Any

from ..definition import State
from ..distributed import batches_make
from ..errors import EXCEED_TOLERATED_FAILURE_THRESHOLD, RUNTIME, StatesError
from ..jsonata_query import QUERY_EVALUATION_ERROR
from ..outcomes import Branching, BranchResult, Outcome
from ..paths import apply_input_path, resolve, to_json
from ..templates import resolve_template
from .run import Next, check_size
from .tasks import TaskStates


class BranchStates(TaskStates):
    def run_branches(self, state: State, raw_input: Any, attempts: list[int]) -> Next | Outcome:
        """Starts a Parallel state's branches (each gets the effective input) or a Map state's
        iterations (one per item of ItemsPath, through ItemSelector): the caller runs them as
        child runs and resumes with their results. A Retry starts them all again."""
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
                effective = self.noted("afterInputPath", effective)
                if state.type == "Parallel" and "Parameters" in state.raw:
                    effective = self.template(state, "Parameters", effective, ctx)
            map_run = None
            if state.type == "Parallel":
                inputs = [copy.deepcopy(effective) for _ in state.branches]
                tolerated = 0
            else:
                inputs = self.map_inputs(state, effective, ctx)
                tolerated = map_tolerated_failures(state, len(inputs))
                length = len(inputs)
                if state.distributed is not None:
                    inputs, map_run = self.map_run(state, inputs, effective, ctx)
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        if state.type == "Parallel":
            self.record("ParallelStateStarted", {})
        else:
            self.record("MapStateStarted", {"length": length})
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
            map_run,
        )

    def map_run(
        self, state: State, items: list[Any], effective: Any, ctx: dict
    ) -> tuple[list[Any], dict]:
        """A distributed Map's children's inputs (each item, or each batch of them with an
        ItemBatcher) and what its host's map run is started with (Branching.map_run)."""
        distributed = state.distributed
        assert distributed is not None
        sizes = None
        if distributed.batched:
            batch_input = distributed.batch_input
            if batch_input is not None and state.jsonata:  # `effective` is $states
                batch_input = self.jsonata(batch_input, effective, "ItemBatcher.BatchInput")
            elif batch_input is not None:
                batch_input = resolve_template(
                    batch_input, effective, ctx, field="BatchInput", variables=self.variables
                )
            items, sizes = batches_make(distributed, items, batch_input)
        return items, {
            "label": distributed.label,
            "execution_type": distributed.execution_type,
            "batch_sizes": sizes,
            "tolerated_failure_count": state.tolerated_failure_count,
            "tolerated_failure_percentage": state.tolerated_failure_percentage,
        }

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
        self.noted("afterItemsPath", items)
        key = "ItemSelector" if "ItemSelector" in state.raw else "Parameters"
        if key not in state.raw:
            return copy.deepcopy(items)
        return self.noted(
            "afterItemSelector",
            [
                resolve_template(
                    state.raw[key],
                    effective,
                    {**ctx, "Map": {"Item": {"Index": index, "Value": item}}},
                    field=key,
                    variables=self.variables,
                )
                for index, item in enumerate(items)
            ],
        )

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
    ) -> Next | Outcome:
        """The child runs ended (or enough of them failed): the state fails with the first
        failure's error (a Map past its tolerated failures: States.ExceedToleratedFailureThreshold),
        through its Retry and Catch; else its result is the outputs in branch (item) order."""
        kind = state.type
        failed = sum(result.status != "SUCCEEDED" for result in results)
        # A distributed Map's host decides by its map run's threshold (UpdateMapRun may move it
        # while it runs): its `failure` is then States.ExceedToleratedFailureThreshold.
        tolerance = (
            kind == "Map"
            and state.distributed is None
            and (
                state.tolerated_failure_count is not None
                or state.tolerated_failure_percentage is not None
            )
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
            # As the child run failed: a Fail state without Error or Cause gives neither (AWS
            # invents no name), which only Catch and Retry's wildcards match.
            err = StatesError(failure.error or None, failure.cause or None)
            return self.task_error(state, raw_input, attempts, err)
        self.record(f"{kind}StateSucceeded", {})
        result: Any = [
            r.output if r.status == "SUCCEEDED" else {"Error": r.error, "Cause": r.cause}
            for r in results
        ]
        try:
            check_size(state, result)
        except StatesError as err:
            return self.task_error(state, raw_input, attempts, err)
        return self.result_exit(
            state, raw_input, attempts, result, self.state_context(state, attempts)
        )


def map_tolerated_failures(state: State, length: int) -> int:
    """How many of a Map's `length` iterations may fail before it fails: the fewer of
    ToleratedFailureCount and ToleratedFailurePercentage's share (0 when neither is set)."""
    bounds = []
    if state.tolerated_failure_count is not None:
        bounds.append(state.tolerated_failure_count)
    if state.tolerated_failure_percentage is not None:
        bounds.append(math.floor(length * state.tolerated_failure_percentage / 100))
    return min(bounds) if bounds else 0
