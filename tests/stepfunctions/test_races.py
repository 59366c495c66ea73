"""Races, from real threads on real connections. The guarantees mean most on PostgreSQL
(row locks, READ COMMITTED); on SQLite the IMMEDIATE transactions serialise the same code."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from stepfunctions import services
from stepfunctions.errors import TaskTimedOut
from stepfunctions.models import CallbackToken, Execution, HistoryEvent
from tests.conftest import SEED_INPUT, open_token

CUSTOMER_WAIT = "Emit - Workflow Started TT"
ITERATIONS = 40


def _run_together(*calls):
    """Runs each call in its own thread, released together; returns each result or exception."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - the race's loser answers with an error
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture
def waiting_executions(inline_stages, machine):
    return [
        services.execution_start(state_machine=machine, input=SEED_INPUT)[0]
        for _ in range(ITERATIONS)
    ]


def test_success_failure_and_expiry_race_exactly_one_winner(waiting_executions):
    winners = {"success": 0, "failure": 0, "timeout": 0}
    # Park every deadline a day out, then bring each token's back for its own round, so that
    # the sweep (its clock moved 901 s on) races for exactly one token at a time.
    tomorrow = timezone.now() + timedelta(days=1)
    for execution in waiting_executions:
        CallbackToken.objects.update(deadline=tomorrow, heartbeat_deadline=tomorrow)
        token = open_token(execution, CUSTOMER_WAIT)
        soon = timezone.now() + timedelta(seconds=900)
        CallbackToken.objects.filter(token=token).update(deadline=soon, heartbeat_deadline=soon)
        # Exactly this token's deadline: a token the winner's next stage opens is due later.
        later = soon
        success, failure, expired = _run_together(
            lambda t=token: services.task_success(task_token=t, output='{"orderId": 1}'),
            lambda t=token: services.task_failure(task_token=t, error="Boom"),
            lambda at=later: services.tokens_expire(now=at),
        )
        outcomes = {
            "success": success is None,
            "failure": failure is None,
            "timeout": expired == 1,
        }
        assert sum(outcomes.values()) == 1, (success, failure, expired)
        for loser in (r for r in (success, failure) if r is not None):
            assert isinstance(loser, TaskTimedOut), loser
        winner = next(name for name, won in outcomes.items() if won)
        winners[winner] += 1
        status = CallbackToken.objects.get(token=token).status
        assert (
            status == {"success": "SUCCEEDED", "failure": "FAILED", "timeout": "TIMED_OUT"}[winner]
        )
        # The wait was resumed exactly once, along the winner's path.
        resumed = HistoryEvent.objects.filter(
            execution=execution,
            type__in=["TaskSucceeded", "TaskFailed", "TaskTimedOut"],
            details__resource="putEvents.waitForTaskToken",
        )
        assert resumed.count() == 1
    # The race is real: over the iterations, more than one party won sometimes.
    assert sum(1 for count in winners.values() if count) >= 2, winners


def test_duplicate_stage_messages_run_the_stage_once(inline_stages, machine):
    for _ in range(ITERATIONS // 2):
        execution = services.execution_start(state_machine=machine, input=SEED_INPUT)[0]
        token = open_token(execution, CUSTOMER_WAIT)
        # Make the stage due without running it, then deliver it twice at once.
        CallbackToken.objects.filter(token=token).update(
            status="SUCCEEDED", outcome={"output": {"orderId": 1}}
        )
        Execution.objects.filter(pk=execution.pk).update(stage="READY", due_at=timezone.now())
        ran = _run_together(
            lambda e=execution: services.execution_advance(execution_id=e.pk),
            lambda e=execution: services.execution_advance(execution_id=e.pk),
        )
        assert sorted(ran, key=str) == [False, True], ran
        assert (
            execution.history.filter(
                type="TaskStateEntered", details__name="Generate Order Number"
            ).count()
            == 1
        )


def test_two_sweeps_at_once_expire_each_token_once(waiting_executions):
    later = timezone.now() + timedelta(seconds=901)
    first, second = _run_together(
        lambda: services.tokens_expire(now=later, batch_size=7),
        lambda: services.tokens_expire(now=later, batch_size=7),
    )
    assert first + second == ITERATIONS
    assert CallbackToken.objects.filter(status="TIMED_OUT").count() == ITERATIONS
    assert HistoryEvent.objects.filter(type="TaskTimedOut").count() == ITERATIONS
