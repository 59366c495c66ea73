"""What a customer is told about their order: the step it is at, in words, and its deadline."""

from dataclasses import dataclass
from datetime import datetime

from orders.models import CallbackToken, Execution, Order
from orders.services.orders import BARISTA_WAIT, CUSTOMER_WAIT

_ENDED = {
    "Customer timedout": "Timed out: no drink was chosen in time.",
    "Barista timedout": "Timed out: the baristas could not make it in time. Sorry!",
    "Customer cancelled": "Cancelled before it was made.",
    "Order cancelled": "Cancelled.",
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


def _ended_outside_the_bar(order: Order) -> str | None:
    """Why an order still marked as waiting cannot go on: its execution is over (stopped, failed,
    removed) though the order row has not been told yet. None while it can go on."""
    if order.status != Order.Status.CREATED:
        return None
    if order.execution_id is None:
        return "This order was removed by the shop."
    if order.execution.status != Execution.Status.RUNNING:
        return "This order was stopped by the shop before it was made."
    return None


def order_progress(*, order: Order) -> OrderProgress:
    ended = _ended_outside_the_bar(order)
    if ended:
        return OrderProgress("cancelled", ended)
    if order.status == Order.Status.COMPLETED:
        return OrderProgress("ready", f"Ready for pickup: order {order.order_number}.")
    if order.status == Order.Status.CANCELLED:
        if order.reason == "Shop unavailable":
            return OrderProgress("refused", _refusal(order))
        step = "timedout" if "timedout" in order.reason else "cancelled"
        return OrderProgress(step, _ENDED.get(order.reason, order.reason or "Cancelled."))
    if order.workflow_state == CUSTOMER_WAIT:
        deadline = (
            CallbackToken.objects.filter(
                execution=order.execution, status=CallbackToken.Status.OPEN
            )
            .values_list("deadline", flat=True)
            .first()
        )
        return OrderProgress("choosing", "Choose your drink.", deadline, cancellable=True)
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
    """The order's state in a few plain words, for a list of orders (with its execution
    selected alongside, no query per order)."""
    ended = _ended_outside_the_bar(order)
    if ended:
        return ended.rstrip(".")
    if order.status == Order.Status.COMPLETED:
        return f"Made by {order.barista}" if order.barista else "Completed"
    if order.status == Order.Status.CANCELLED:
        if order.reason == "Shop unavailable":
            return "Not started: the shop was closed or full"
        return _ENDED.get(order.reason, order.reason or "Cancelled.").rstrip(".")
    if order.workflow_state == CUSTOMER_WAIT:
        return "Choosing a drink"
    if order.workflow_state == BARISTA_WAIT:
        return f"Being made by {order.barista}" if order.barista else "Waiting for a barista"
    return "Starting"
