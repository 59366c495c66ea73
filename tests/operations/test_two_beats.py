"""Two beats by mistake: every sweep runs twice as often, and nothing happens twice.

Each overdue token is expired once (the sweep's conditional UPDATE under SKIP LOCKED), each
execution takes its timeout path once and emits one OrderTimeOut, whichever beat's sweep won.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.services.order_processor import CUSTOMER_WAIT
from stepfunctions import services
from stepfunctions.models import CallbackToken, Event, Execution, HistoryEvent
from tests.conftest import wait_for
from tests.processes import private_redis, production_processes

pytestmark = pytest.mark.integration


def test_two_beats_expire_each_token_once(inline_stages, order_processor, tmp_path):
    executions = [
        services.execution_start(
            state_machine=order_processor, input={"detail": {"orderId": f"b{i}", "userId": "u"}}
        )[0]
        for i in range(8)
    ]
    past = timezone.now() - timedelta(seconds=5)
    CallbackToken.objects.filter(execution__in=executions, state_name=CUSTOMER_WAIT).update(
        deadline=past, heartbeat_deadline=past
    )

    env = {"WORKFLOW_SWEEP_SECONDS": "0.2"}
    with private_redis() as url, production_processes(url, tmp_path, **env) as processes:
        processes.worker()
        processes.beat("beat-1")
        processes.beat("beat-2")
        wait_for(
            lambda: not Execution.objects.filter(
                pk__in=[e.pk for e in executions], status=Execution.Status.RUNNING
            ).exists(),
            timeout=90, interval=0.3, message="every order to time out",
        )  # fmt: skip
        for name in ("beat-1", "beat-2"):
            assert "beat: Starting" in processes.log(name), "both beats ran"

    for execution in executions:
        execution.refresh_from_db()
        assert execution.status == Execution.Status.SUCCEEDED
        assert execution.output["cause"] == "Customer timedout"
        timed_out = HistoryEvent.objects.filter(execution=execution, type="TaskTimedOut")
        assert timed_out.count() == 1
        emitted = Event.objects.filter(
            execution=execution, detail_type="OrderProcessor.OrderTimeOut"
        )
        assert emitted.count() == 1
