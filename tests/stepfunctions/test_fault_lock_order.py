"""StopExecution racing SendTaskSuccess, through the real HTTP API from real threads.

Both take the execution's row before the token's (Execution.objects.lock), so on PostgreSQL they
wait for each other instead of deadlocking (a deadlock answered 500 to its victim). On SQLite the
IMMEDIATE transactions serialise the same code.
"""

import threading
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from stepfunctions import services
from stepfunctions.models import CallbackToken, Execution
from stepfunctions.models.tokens import CallbackTokenQuerySet
from tests.conftest import SEED_INPUT, open_token, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("machine")]

CUSTOMER_WAIT = "Emit - Workflow Started TT"
PAIRS = 24


@pytest.fixture
def wide_window(monkeypatch):
    """Widens the window each side used to hold one lock while asking for the other: a callback
    between closing its token and waking the execution, a stop between locking the execution and
    closing its tokens. With the locks taken in one order the pauses only slow the race down."""
    settle, close_open = CallbackTokenQuerySet.settle, CallbackTokenQuerySet.close_open

    def slow_settle(self, *args, **kwargs):
        won = settle(self, *args, **kwargs)
        time.sleep(0.05)
        return won

    def slow_close_open(self, *args, **kwargs):
        time.sleep(0.05)
        return close_open(self, *args, **kwargs)

    monkeypatch.setattr(CallbackTokenQuerySet, "settle", slow_settle)
    monkeypatch.setattr(CallbackTokenQuerySet, "close_open", slow_close_open)


def _together(*calls):
    """Runs each call in its own thread, released together; each one's answer or error."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except ClientError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a call hung"
    return results


def test_stop_racing_success_never_deadlocks_and_one_wins_the_token(
    live_stages, machine, make_sfn, sfn_key, wide_window
):
    # One attempt each: botocore would retry a 500 and hide it.
    once = Config(retries={"total_max_attempts": 1})
    stopper, caller = make_sfn(sfn_key, config=once), make_sfn(sfn_key, config=once)
    executions = [
        services.execution_start(state_machine=machine, input=SEED_INPUT)[0] for _ in range(PAIRS)
    ]
    wait_for(
        lambda: Execution.objects.filter(stage="WAITING").count() == PAIRS,
        timeout=60, message="every execution waits for its customer",
    )  # fmt: skip
    winners = {"SUCCEEDED": 0, "CLOSED": 0}
    for execution in executions:
        token = open_token(execution, CUSTOMER_WAIT)
        stopped, succeeded = _together(
            lambda arn=execution.arn: stopper.stop_execution(executionArn=arn, cause="race"),
            lambda t=token: caller.send_task_success(taskToken=t, output='{"orderId": 1}'),
        )
        # The stop always answers 200 (the execution was running); never a 5xx.
        assert not isinstance(stopped, ClientError), stopped
        status = CallbackToken.objects.get(token=token).status
        winners[status] += 1
        if status == "SUCCEEDED":
            assert not isinstance(succeeded, ClientError), succeeded
        else:
            assert status == "CLOSED", status
            assert isinstance(succeeded, ClientError), succeeded
            assert succeeded.response["Error"]["Code"] == "TaskTimedOut"
            assert succeeded.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        execution.refresh_from_db()
        assert execution.status == "ABORTED"
        types = list(execution.history.values_list("type", flat=True))
        assert types.count("ExecutionAborted") == 1 and types[-1] == "ExecutionAborted"
    assert sum(winners.values()) == PAIRS
