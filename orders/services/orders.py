"""The people's callbacks on an order: the customer submits or cancels, the barista completes or
cancels. Each answers the wait the order is in with the token stored on the order, so the token's
once-only rule (orders.services.callbacks) decides every race.
"""

import json
import uuid

from django.db import transaction

from orders.errors import OrderNotWaiting, ValidationException
from orders.models import Execution, Order
from orders.services.callbacks import task_failure, task_success
from orders.services.executions import execution_start
from orders.services.state_machines import ORDER_PROCESSOR, state_machine_get

CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
# The error both waits Catch to end the order as cancelled (see the ASL definition).
CANCELLED_ERROR = "OrderCancelled"


def order_start(*, user_id: str, order_id: str | None = None) -> Execution:
    """Starts the order workflow with the seed's input shape; the Order row appears when the
    workflow reaches the customer's wait (or the order is refused if the shop is closed or full)."""
    machine = state_machine_get(arn_or_name=ORDER_PROCESSOR)
    order_id = order_id or uuid.uuid4().hex
    detail = {"detail": {"orderId": order_id, "userId": user_id}}
    execution, _ = execution_start(state_machine=machine, input=detail, name=f"order-{order_id}")
    return execution


def _waiting_token(order: Order, waits: tuple[str, ...]) -> Order:
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != Order.Status.CREATED or locked.workflow_state not in waits:
        raise OrderNotWaiting(
            f"Order {locked.order_id} is not waiting for this (it is {locked.status}, "
            f"{locked.workflow_state or 'starting'})"
        )
    return locked


def order_submit(*, order: Order, drink: dict) -> None:
    """Records the customer's drink and resumes the customer's wait. Once only."""
    if not isinstance(drink, dict) or not drink:
        raise ValidationException("drink must be a non-empty JSON object")
    with transaction.atomic():
        locked = _waiting_token(order, (CUSTOMER_WAIT,))
        locked.drink = drink
        locked.save(update_fields=["drink", "updated_at"])
        output = {"orderId": locked.order_id, "drink": drink}
        task_success(task_token=locked.task_token, output=json.dumps(output))


def order_complete(*, order: Order, barista: str) -> None:
    """The barista hands the drink over: resumes the barista's wait. Once only."""
    with transaction.atomic():
        locked = _waiting_token(order, (BARISTA_WAIT,))
        locked.barista = barista
        locked.save(update_fields=["barista", "updated_at"])
        output = {"orderId": locked.order_id, "completed": True, "barista": barista}
        task_success(task_token=locked.task_token, output=json.dumps(output))


def order_cancel(*, order: Order, by: str) -> None:
    """Cancels from either wait; the workflow ends as cancelled from the wait it is in."""
    with transaction.atomic():
        locked = _waiting_token(order, (CUSTOMER_WAIT, BARISTA_WAIT))
        task_failure(
            task_token=locked.task_token, error=CANCELLED_ERROR, cause=f"Cancelled by {by}"
        )
