"""What a customer is told about their order: the step it is at, in words, and its deadline."""

from dataclasses import dataclass
from datetime import datetime

from orders.models import Order
from orders.services.order_processor import (
    BARISTA_TIMED_OUT,
    BARISTA_WAIT,
    CUSTOMER_CANCELLED,
    CUSTOMER_TIMED_OUT,
    CUSTOMER_WAIT,
    ORDER_CANCELLED,
    SHOP_UNAVAILABLE,
)
from stepfunctions.selectors import open_token_deadline

_ENDED = {
    CUSTOMER_TIMED_OUT: "Timed out: no drink was chosen in time.",
    BARISTA_TIMED_OUT: "Timed out: the baristas could not make it in time. Sorry!",
    CUSTOMER_CANCELLED: "Cancelled before it was made.",
    ORDER_CANCELLED: "Cancelled.",
}


@dataclass(frozen=True)
class OrderProgress:
    step: str  # starting | choosing | waiting | making | ready | cancelled | timedout | refused
    text: str
    deadline: datetime | None = None
    cancellable: bool = False


def _refusal(order: Order) -> str:
    shop = (order.execution.output or {}).get("GetStore", {}) if order.execution else {}
    if shop.get("storeOpen") is False:
        return "The shop is closed right now: no order was started."
    return "The shop is at capacity right now: please try again in a few minutes."


def order_progress(*, order: Order) -> OrderProgress:
    if order.status == Order.Status.COMPLETED:
        return OrderProgress("ready", f"Ready for pickup: order {order.order_number}.")
    if order.status == Order.Status.CANCELLED:
        if order.reason == SHOP_UNAVAILABLE:
            return OrderProgress("refused", _refusal(order))
        step = (
            "timedout" if order.reason in (CUSTOMER_TIMED_OUT, BARISTA_TIMED_OUT) else "cancelled"
        )
        return OrderProgress(step, _ENDED.get(order.reason, order.reason or "Cancelled."))
    deadline = open_token_deadline(execution_id=order.execution_id)
    if order.workflow_state == CUSTOMER_WAIT:
        return OrderProgress("choosing", "Choose your drink.", deadline, cancellable=True)
    if order.workflow_state == BARISTA_WAIT:
        if order.barista:
            text = f"Being made by {order.barista}."
            return OrderProgress("making", text, deadline, cancellable=True)
        text = "Waiting for a barista."
        return OrderProgress("waiting", text, deadline, cancellable=True)
    return OrderProgress("starting", "Starting your order…")
