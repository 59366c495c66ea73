"""Keeps Order rows in step with the workflow's events, as the original's order manager did.

Runs inside the stage's transaction, so an order never shows a state its workflow has not reached.
Each handler is a conditional UPDATE, so applying the same event twice changes nothing more.
"""

from collections.abc import Callable

from orders.models import Event, Order

Status = Order.Status


def _started(event: Event) -> None:
    detail = event.detail
    # One INSERT ... ON CONFLICT: a restarted order (same orderId, new execution) starts afresh.
    fresh = {
        "user_id": str(detail.get("userId", "")),
        "execution": event.execution,
        "status": Status.CREATED,
        "workflow_state": "Emit - Workflow Started TT",
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
        workflow_state="Emit - Awaiting Completion TT",
    )


def _finished(event: Event) -> None:
    Order.objects.filter(
        order_id=str(event.detail["orderId"]), execution=event.execution, status=Status.CREATED
    ).update(status=Status.COMPLETED, task_token="", workflow_state="Emit - Order Finished")


def _ended_without_coffee(event: Event) -> None:
    cause = str(event.detail.get("cause") or "Shop unavailable")
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
