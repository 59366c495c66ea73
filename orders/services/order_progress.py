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
from orders.services.orders import MORE_TIME_LIMIT
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
    more_time_left: int = 0  # how often the customer may still ask for more time to choose


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
    if order.workflow_state == CUSTOMER_WAIT:
        deadline = open_token_deadline(execution_id=order.execution_id)
        left = max(0, MORE_TIME_LIMIT - order.more_time_taken)
        return OrderProgress(
            "choosing", "Choose your drink.", deadline, cancellable=True, more_time_left=left
        )
    if order.workflow_state == BARISTA_WAIT:
        # The barista's deadline is the shop's to worry about, not the customer's: none shown.
        if order.barista:
            return OrderProgress("making", f"Being made by {order.barista}.", cancellable=True)
        return OrderProgress("waiting", "Waiting for a barista.", cancellable=True)
    return OrderProgress("starting", "Starting your order…")


_STEPS = ("Choose", "Waiting", "Being made", "Ready")
_CURRENT = {"starting": 0, "choosing": 0, "waiting": 1, "making": 2, "ready": 3}
_END_LABELS = {"cancelled": "Cancelled", "timedout": "Timed out", "refused": "Not started"}


def order_steps(*, order: Order, progress: OrderProgress) -> list[tuple[str, str]]:
    """The progress bar: (label, "done" | "current" | "" | "ended") for each step. An order that
    ended without a coffee shows the steps it got through, then how it ended."""
    if progress.step in _CURRENT:
        current = _CURRENT[progress.step]
        return [
            (label, "done" if i < current else "current" if i == current else "")
            for i, label in enumerate(_STEPS)
        ]
    passed = 0
    if order.drink:
        passed = 2 if order.barista else 1
    return [(label, "done") for label in _STEPS[:passed]] + [(_END_LABELS[progress.step], "ended")]


def order_summary(*, order: Order) -> str:
    """The order's state in a few plain words, for a list of orders (no query per order)."""
    if order.status == Order.Status.COMPLETED:
        return f"Made by {order.barista}" if order.barista else "Completed"
    if order.status == Order.Status.CANCELLED:
        if order.reason == SHOP_UNAVAILABLE:
            return "Not started: the shop was closed or full"
        return _ENDED.get(order.reason, order.reason or "Cancelled.").rstrip(".")
    if order.workflow_state == CUSTOMER_WAIT:
        return "Choosing a drink"
    if order.workflow_state == BARISTA_WAIT:
        return f"Being made by {order.barista}" if order.barista else "Waiting for a barista"
    return "Starting"
