"""JSONata expressions are parsed once and the parsed expression is shared: by later
evaluations, and by the threads of a web process or a worker. Each evaluation still sees only
its own data, its own clock for `$now()` / `$millis()`, and its own runaway bounds."""

import sys
import threading
from datetime import UTC, datetime

import pytest
import time_machine

from stepfunctions.workflow import StatesError, jsonata_query
from stepfunctions.workflow.jsonata_query import evaluate, expression_errors


def _value(expression, data=None, variables=None):
    return evaluate(
        expression, states={"input": data or {}}, variables=variables or {}, field="Output"
    )


def test_an_expression_is_parsed_once_for_every_evaluation():
    expression = "{% $states.input.n * 2 + 0.5 %}"  # a text no other test uses
    before = jsonata_query._parsed.cache_info()
    assert expression_errors(expression, "Output") == []  # loading the definition parses it
    assert [_value(expression, {"n": n}) for n in range(5)] == [0.5, 2.5, 4.5, 6.5, 8.5]
    after = jsonata_query._parsed.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 5)


_EXPRESSIONS = {
    # A path, a closure over the input, a sort with a lambda, an array constructor, a variable
    # and a block with its own binding: each reads the frames the library keeps per evaluation.
    "{% $states.input.id %}": lambda i: i,
    "{% ($double := function($x) { $x * 2 }; $double($states.input.id)) %}": lambda i: 2 * i,
    "{% $sort($states.input.list, function($a, $b) { $a < $b }) %}": lambda i: [i + 2, i + 1, i],
    "{% [$states.input.id, $who, $states.input.id + 1] %}": lambda i: [i, f"thread-{i}", i + 1],
    "{% $map($states.input.list, function($v) { $v - $states.input.id }) %}": lambda i: [0, 1, 2],
    "{% $partition($states.input.list, 2)[1][0] %}": lambda i: i + 2,
}


def test_threads_evaluating_the_same_expressions_see_only_their_own_data():
    threads, errors, start = 8, [], threading.Barrier(8)

    def work(i):
        data = {"id": i, "list": [i, i + 1, i + 2]}
        start.wait()
        try:
            for _ in range(60):
                for expression, expected in _EXPRESSIONS.items():
                    got = _value(expression, data, {"who": f"thread-{i}"})
                    if got != expected(i):
                        errors.append((i, expression, got))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append((i, repr(error)))

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, inside evaluations
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


def test_now_and_millis_are_the_time_of_each_evaluation():
    expression = "{% [$millis(), $now()] %}"
    with time_machine.travel(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), tick=False):
        assert _value(expression) == [1735787045000, "2025-01-02T03:04:05.000Z"]
    # Another expression parsed since (a definition loaded) must not become the one whose
    # clock the cached expression reads.
    assert expression_errors("{% $millis() + 1 %}", "Output") == []
    with time_machine.travel(datetime(2026, 6, 7, 8, 9, 10, tzinfo=UTC), tick=False):
        assert _value(expression) == [1780819750000, "2026-06-07T08:09:10.000Z"]


def test_runaway_bounds_belong_to_each_evaluation():
    countdown = "{% ($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f($states.input.n)) %}"
    for _ in range(3):
        with pytest.raises(StatesError) as info:
            _value(countdown, {"n": 10_000})
        assert info.value.error == "States.QueryEvaluationError"
        # A deep evaluation that was stopped leaves nothing behind for the next one.
        assert _value(countdown, {"n": 20}) == 20
