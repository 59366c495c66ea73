"""The coffee bar's reads: an order as its customer or a barista may see it, and its JSON shape."""

from typing import Any

from orders.errors import OrderDoesNotExist
from orders.models import Order


def order_for(*, order_id: str, user) -> Order:
    """The order if this user may act on it: its customer, or a barista."""
    order = Order.objects.select_related("execution").filter(order_id=order_id).first()
    if order is None or not (
        order.user_id == user.get_username() or user.has_perm("orders.act_as_barista")
    ):
        raise OrderDoesNotExist(f"Order '{order_id}' does not exist")
    return order


def order_shape(*, order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "userId": order.user_id,
        "status": order.status,
        "workflowState": order.workflow_state,
        "orderNumber": order.order_number,
        "drink": order.drink,
        "barista": order.barista,
        "reason": order.reason,
        "executionArn": order.execution.arn if order.execution else None,
    }
