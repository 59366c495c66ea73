"""An order's execution that ended (stopped, failed) is not redriven: the coffee bar's
redrive-refusal hook gives ExecutionNotRedrivable with its reason, and DescribeExecution's
redriveStatus says NOT_REDRIVABLE with the same reason; an execution that runs no order on the
same machine still redrives."""

import pytest

from orders.models import Order
from stepfunctions import services
from stepfunctions.errors import ExecutionNotRedrivable
from stepfunctions.models import Execution
from stepfunctions.services.redrive import REDRIVABLE


@pytest.fixture
def stopped_order(inline_stages, order_processor):
    execution, _ = services.execution_start(
        state_machine=order_processor, input={"detail": {"orderId": "9", "userId": "ana"}}
    )
    services.execution_stop(execution=execution, error="Stopped", cause="by the manager")
    execution.refresh_from_db()
    assert Order.objects.get(order_id="9").status == Order.Status.CANCELLED
    return execution


def test_an_ended_orders_execution_is_not_redriven(stopped_order):
    status, reason = services.execution_redrive_status(
        execution=stopped_order, now=stopped_order.stop_date
    )
    assert status == "NOT_REDRIVABLE"
    assert reason.startswith("Execution ran coffee-bar order 9, which ended with it")
    with pytest.raises(ExecutionNotRedrivable) as refused:
        services.execution_redrive(execution=stopped_order)
    assert str(refused.value) == reason
    stopped_order.refresh_from_db()
    assert (stopped_order.status, stopped_order.redrive_count) == (Execution.Status.ABORTED, 0)
    assert Order.objects.get(order_id="9").status == Order.Status.CANCELLED


def test_the_order_machines_execution_of_no_order_still_redrives(stopped_order):
    Order.objects.filter(execution=stopped_order).delete()
    status, reason = services.execution_redrive_status(
        execution=stopped_order, now=stopped_order.stop_date
    )
    assert (status, reason) == (REDRIVABLE, None)
    services.execution_redrive(execution=stopped_order)
    stopped_order.refresh_from_db()
    assert stopped_order.redrive_count == 1
