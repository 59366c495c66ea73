"""Backups need only PostgreSQL: with the broker's Redis emptied (FLUSHALL), every order that was
waiting for a person or in flight between stages still completes, on a real worker and beat.

The Redis is the test's own (the machine's is shared), the web server is gunicorn and the
clients are boto3, as in production. In flight means a stage was due and its message sat in
Redis when it was emptied: beat's recovery sweep (recover_stalled) finds such executions in the
database and re-enqueues them.
"""

import json
from types import SimpleNamespace

import pytest
import redis

from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT, ORDER_PROCESSOR
from stepfunctions.models import CallbackToken, Execution
from stepfunctions.services.messages import NUDGE_KEY
from tests.conftest import sfn_client, wait_for
from tests.processes import private_redis, production_processes

pytestmark = pytest.mark.integration
ORDER_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{ORDER_PROCESSOR}"


def _start(sfn, order_id: str) -> str:
    payload = {"detail": {"orderId": order_id, "userId": "u"}}
    arn = sfn.start_execution(stateMachineArn=ORDER_ARN, input=json.dumps(payload))["executionArn"]
    return arn.rsplit(":", 1)[1]


def _open_token(name: str, state: str) -> str | None:
    return (
        CallbackToken.objects.filter(
            execution__name=name, state_name=state, status=CallbackToken.Status.OPEN
        )
        .values_list("token", flat=True)
        .first()
    )


def _answer_open_waits(sfn, names: list[str]) -> bool:
    """Answers whichever wait each execution is in; True once all have SUCCEEDED."""
    for name in names:
        for state in (CUSTOMER_WAIT, BARISTA_WAIT):
            token = _open_token(name, state)
            if token:
                sfn.send_task_success(taskToken=token, output='{"orderId": "x"}')
    statuses = set(Execution.objects.filter(name__in=names).values_list("status", flat=True))
    return statuses == {Execution.Status.SUCCEEDED}


def test_waiting_and_in_flight_orders_complete_after_flushall(tmp_path, sfn_key):
    env = {"WORKFLOW_STALL_SECONDS": "1", "WORKFLOW_SWEEP_SECONDS": "0.5"}
    with private_redis() as url, production_processes(url, tmp_path, **env) as processes:
        broker = redis.Redis.from_url(url)
        web = processes.gunicorn(workers=2)
        sfn = sfn_client(SimpleNamespace(url=web), sfn_key)
        processes.worker()
        waiting = [_start(sfn, f"w{i}") for i in range(4)]
        wait_for(
            lambda: all(_open_token(name, CUSTOMER_WAIT) for name in waiting),
            timeout=60, interval=0.2, message="four orders waiting for their customers",
        )  # fmt: skip
        processes.stop("worker")
        # A nudge sent after the worker's last claim can outlive it: queued, or reserved and put
        # back by the warm shutdown, with its flag expiring NUDGE_TTL_SECONDS after it was sent.
        # Whether the commits below then send one more depends on that timing, not on them: start
        # them from an idle broker.
        broker.delete("celery", NUDGE_KEY)

        # In flight: two callbacks and two new orders, their stages' messages only in Redis.
        answered = waiting[:2]
        for name in answered:
            sfn.send_task_success(taskToken=_open_token(name, CUSTOMER_WAIT), output="{}")
        started = [_start(sfn, f"s{i}") for i in range(2)]
        in_flight = answered + started
        assert (
            Execution.objects.filter(name__in=in_flight, stage=Execution.Stage.READY).count() == 4
        )
        # One nudge carries the four: while it is pending, the other commits send none.
        assert broker.llen("celery") == 1

        broker.flushall()
        assert broker.dbsize() == 0

        # Scaled out on the way back: two workers (two pool processes each) share the work.
        processes.worker("worker-a")
        processes.worker("worker-b")
        processes.beat()
        # Before any new callback: its nudge would run every due stage (a worker takes all of
        # them), and this is about the sweep finding them with no message at all.
        wait_for(
            lambda: not Execution.objects.filter(name__in=in_flight, stage="READY").exists(),
            timeout=60, interval=0.2, message="the in-flight stages to run",
        )  # fmt: skip
        everyone = waiting + started
        wait_for(
            lambda: _answer_open_waits(sfn, everyone),
            timeout=120, interval=0.5, message="every order to complete",
        )  # fmt: skip
        worker_log = processes.log("worker-a") + processes.log("worker-b")

    numbers = [
        execution.output["Order"]["Payload"]["orderNumber"]
        for execution in Execution.objects.filter(name__in=everyone)
    ]
    assert len(set(numbers)) == 6, numbers
    # The four in-flight stages came back through the recovery sweep, not a lucky message.
    assert "Re-drove" in worker_log
