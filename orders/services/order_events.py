"""Keeps Order rows in step with the workflow, as the original's order manager did.

Both run inside the engine's transaction (registered in OrdersConfig.ready() with
stepfunctions.hooks), so an order never shows a state its workflow has not reached. Each is a
conditional UPDATE, so applying the same event twice changes nothing more.
"""

from collections.abc import Callable

from orders.models import Order
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT, FINISHED, SHOP_UNAVAILABLE
from stepfunctions import hooks
from stepfunctions.models import Event, Execution

Status = Order.Status


def order_ids_check(*, order_id: str, user_id: str) -> None:
    """Refuses ids longer than an order row holds, before the database does (PostgreSQL would
    raise DataError, SQLite would store them): ValueError naming the member."""
    for member, field, value in (("orderId", "order_id", order_id), ("userId", "user_id", user_id)):
        limit = Order._meta.get_field(field).max_length
        if len(value) > limit:
            raise ValueError(f"The {member} is longer than {limit} characters")


def _started(event: Event) -> None:
    detail = event.detail
    user_id = str(detail.get("userId", ""))
    # In the stage's transaction: the engine fails the execution with States.Runtime.
    order_ids_check(order_id=str(detail["orderId"]), user_id=user_id)
    # One INSERT ... ON CONFLICT: a restarted order (same orderId, new execution) starts afresh.
    fresh = {
        "user_id": user_id,
        "execution": event.execution,
        "status": Status.CREATED,
        "workflow_state": CUSTOMER_WAIT,
        "task_token": detail.get("TaskToken", ""),
        "order_number": None,
        "drink": None,
        "barista": "",
        "reason": "",
        "submitted_at": None,
    }
    Order.objects.bulk_create(
        [Order(order_id=str(detail["orderId"]), **fresh)],
        update_conflicts=True,
        unique_fields=["order_id"],
        update_fields=[*fresh, "updated_at"],
    )


def _waiting_completion(event: Event) -> None:
    detail = event.detail
    Order.objects.filter(order_id=str(detail["orderId"]), execution=event.execution).update(
        order_number=detail.get("orderNumber"),
        task_token=detail.get("TaskToken", ""),
        workflow_state=BARISTA_WAIT,
    )


def _finished(event: Event) -> None:
    Order.objects.filter(
        order_id=str(event.detail["orderId"]), execution=event.execution, status=Status.CREATED
    ).update(status=Status.COMPLETED, task_token="", workflow_state=FINISHED)


def _ended_without_coffee(event: Event) -> None:
    cause = str(event.detail.get("cause") or SHOP_UNAVAILABLE)
    Order.objects.filter(
        order_id=str(event.detail["orderId"]), execution=event.execution, status=Status.CREATED
    ).update(status=Status.CANCELLED, task_token="", workflow_state=cause, reason=cause)


_HANDLERS: dict[str, Callable[[Event], None]] = {
    "OrderProcessor.WorkflowStarted": _started,
    "OrderProcessor.WaitingCompletion": _waiting_completion,
    "OrderProcessor.orderFinished": _finished,
    "OrderProcessor.OrderTimeOut": _ended_without_coffee,
    "OrderProcessor.OrderCancelled": _ended_without_coffee,
    "OrderProcessor.ShopUnavailable": _ended_without_coffee,
}


def orders_apply_events(events: list[Event]) -> None:
    """Applies the order-related events of one stage, in the order they were put."""
    for event in events:
        handler = _HANDLERS.get(event.detail_type)
        if handler is not None and isinstance(event.detail, dict) and "orderId" in event.detail:
            handler(event)


# Why an order ended when its execution ended some other way than the definition's own end events.
_CLOSED_REASONS = {
    Execution.Status.ABORTED: "Stopped by the shop",
    Execution.Status.TIMED_OUT: "The order took too long",
    hooks.DELETED: "Removed",
}


def order_execution_closed(execution: Execution, how: str) -> None:
    """Gives a final status to an order whose execution ended outside the coffee bar's path.

    A stop, an uncaught failure, the execution's own TimeoutSeconds or the machine's deletion puts
    no event of the definition's, so the order would stay "Created" with a spent token. A
    SUCCEEDED execution passed one of the definition's end events, which settled its order already
    (no statement spent on it).
    """
    if how == Execution.Status.SUCCEEDED:
        return
    if how == Execution.Status.FAILED:
        reason = f"The order failed: {execution.error or 'unknown error'}"
    else:
        reason = _CLOSED_REASONS.get(how, how)
    Order.objects.filter(execution=execution, status=Status.CREATED).update(
        status=Status.CANCELLED, task_token="", reason=reason[:256]
    )
