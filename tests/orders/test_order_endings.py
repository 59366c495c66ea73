"""An order whose execution ends outside the coffee bar's own path (a stop, an uncaught failure, the
machine's deletion) leaves "Created" with a reason and no token, through the engine's
execution-closed hook, in the transaction that ended the execution."""

import pytest

from orders.models import Order
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT
from stepfunctions import services
from stepfunctions.models import Execution
from stepfunctions.services.state_machines import state_machine_delete
from tests.conftest import open_token


@pytest.fixture
def waiting_order(inline_stages, order_processor):
    execution, _ = services.execution_start(
        state_machine=order_processor, input={"detail": {"orderId": "7", "userId": "ana"}}
    )
    order = Order.objects.get(order_id="7")
    assert (order.status, order.workflow_state, bool(order.task_token)) == (
        Order.Status.CREATED,
        CUSTOMER_WAIT,
        True,
    )
    return execution, order


def _ended(order: Order) -> tuple:
    order.refresh_from_db()
    return order.status, order.reason, order.task_token


def test_stop_execution_cancels_the_order(waiting_order):
    execution, order = waiting_order
    services.execution_stop(execution=execution, error="Stopped", cause="by the manager")
    assert _ended(order) == (Order.Status.CANCELLED, "Stopped by the shop", "")


def test_an_uncaught_failure_cancels_the_order_with_its_error(waiting_order):
    execution, order = waiting_order
    services.task_success(task_token=open_token(execution, CUSTOMER_WAIT), output="{}")
    order.refresh_from_db()
    assert order.workflow_state == BARISTA_WAIT
    services.task_failure(
        task_token=open_token(execution, BARISTA_WAIT), error="Grinder.Jammed", cause="beans"
    )
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FAILED
    assert _ended(order) == (Order.Status.CANCELLED, "The order failed: Grinder.Jammed", "")


def test_deleting_the_machine_cancels_its_running_orders(waiting_order):
    execution, order = waiting_order
    state_machine_delete(state_machine=execution.state_machine)
    order.refresh_from_db()
    assert (order.status, order.reason, order.task_token, order.execution_id) == (
        Order.Status.CANCELLED,
        "Removed",
        "",
        None,
    )


def test_a_finished_order_keeps_its_status_when_its_execution_is_stopped_later(waiting_order):
    execution, order = waiting_order
    token = open_token(execution, CUSTOMER_WAIT)
    services.task_failure(task_token=token, error="OrderCancelled", cause="by ana")
    reason = _ended(order)[1]
    services.execution_stop(execution=execution)
    assert _ended(order) == (Order.Status.CANCELLED, reason, "")
