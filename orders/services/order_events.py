"""Keeps Order rows in step with the workflow, as the original's order manager did.

Both run inside the engine's transaction (registered in OrdersConfig.ready() with
stepfunctions.hooks), so an order never shows a state its workflow has not reached. Each event
is one of Order's transitions (orders.models.orders.OrderQuerySet), a conditional UPDATE on the
order's execution and its CREATED status, so applying the same event twice changes nothing more.
"""

from collections.abc import Callable

from orders.models import Order
from orders.services.bus import order_event_put
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT, FINISHED, SHOP_UNAVAILABLE
from stepfunctions import hooks
from stepfunctions.models import Event, Execution


def order_ids_check(*, order_id: str, user_id: str) -> None:
    """Refuses ids longer than an order row holds, before the database does (PostgreSQL would
    raise DataError, SQLite would store them): ValueError naming the member."""
    for member, field, value in (("orderId", "order_id", order_id), ("userId", "user_id", user_id)):
        limit = Order._meta.get_field(field).max_length
        if len(value) > limit:
            raise ValueError(f"The {member} is longer than {limit} characters")


def _started(events: list[Event]) -> None:
    orders: dict[str, Order] = {}
    for event in events:
        detail = event.detail
        user_id = str(detail.get("userId", ""))
        # In the stage's transaction: the engine fails the execution with States.Runtime.
        order_ids_check(order_id=str(detail["orderId"]), user_id=user_id)
        # The later start of one orderId wins, as when the stages ran one after the other.
        orders[str(detail["orderId"])] = Order(
            order_id=str(detail["orderId"]),
            user_id=user_id,
            execution=event.execution,
            task_token=detail.get("TaskToken") or "",
        )
    # A restarted order (same orderId, new execution) starts afresh.
    Order.objects.start_afresh(list(orders.values()), workflow_state=CUSTOMER_WAIT)


def _rows(events: list[Event], **per_row: Callable[[Event], object]) -> list[dict]:
    """The events' orders as OrderQuerySet's batch rows: each its orderId under its execution,
    and the `per_row` values read from the event."""
    return [
        {
            "order_id": str(e.detail["orderId"]),
            "execution": e.execution_id,
            **{name: value(e) for name, value in per_row.items()},
        }
        for e in events
    ]


def _waiting_completion(events: list[Event]) -> None:
    Order.objects.wait_for_barista(
        _rows(
            events,
            order_number=lambda e: e.detail.get("orderNumber"),
            task_token=lambda e: e.detail.get("TaskToken", ""),
        ),
        workflow_state=BARISTA_WAIT,
    )


def _finished(events: list[Event]) -> None:
    Order.objects.complete(_rows(events), workflow_state=FINISHED)


def _ended_without_coffee(events: list[Event]) -> None:
    def cause(event: Event) -> str:
        return str(event.detail.get("cause") or SHOP_UNAVAILABLE)

    Order.objects.cancel(_rows(events, workflow_state=cause, reason=cause))


def _refused(events: list[Event]) -> None:
    def because(event: Event) -> str:
        # The definition's event says whether the shop was open; an event without it (put by an
        # execution started under an older definition) counts as full.
        closed = event.detail.get("storeOpen") is False
        return Order.Refusal.CLOSED if closed else Order.Refusal.FULL

    Order.objects.cancel(
        _rows(
            events,
            workflow_state=lambda e: SHOP_UNAVAILABLE,
            reason=lambda e: SHOP_UNAVAILABLE,
            refused_because=because,
        ),
        refusals=True,
    )


_HANDLERS: dict[str, Callable[[list[Event]], None]] = {
    "OrderProcessor.WorkflowStarted": _started,
    "OrderProcessor.WaitingCompletion": _waiting_completion,
    "OrderProcessor.orderFinished": _finished,
    "OrderProcessor.OrderTimeOut": _ended_without_coffee,
    "OrderProcessor.OrderCancelled": _ended_without_coffee,
    "OrderProcessor.ShopUnavailable": _refused,
}


def orders_apply_events(events: list[Event]) -> None:
    """Applies the order-related events of a batch of stages, one statement per kind of event.

    Events of one execution are applied in the order they were put; those of different
    executions touch different order rows (each statement names the execution), except a start
    that takes over an orderId, which only ever replaces the row whole. So the batch is applied in
    rounds (the first order event of each execution, then the second...), and each round in one
    statement per kind.
    """
    rounds: list[dict[str, list[Event]]] = []
    seen: dict = {}
    for event in events:
        handler = _HANDLERS.get(event.detail_type)
        if handler is None or not isinstance(event.detail, dict) or "orderId" not in event.detail:
            continue
        index = seen[event.execution_id] = seen.get(event.execution_id, -1) + 1
        if index == len(rounds):
            rounds.append({})
        rounds[index].setdefault(event.detail_type, []).append(event)
    for kinds in rounds:
        for detail_type, of_kind in kinds.items():
            _HANDLERS[detail_type](of_kind)


# The event of an order ended by its execution's end outside the definition's own end events.
ORDER_CLOSED = "OrderManager.OrderClosed"

# Why an order ended when its execution ended some other way than the definition's own end events.
_CLOSED_REASONS = {
    Execution.Status.ABORTED: "Stopped by the shop",
    Execution.Status.TIMED_OUT: "The order took too long",
    hooks.DELETED: "Removed",
}


def order_execution_closed(execution: Execution, how: str) -> None:
    """Gives a final status to an order whose execution ended outside the coffee bar's path, and
    tells its open screens.

    A stop (the API, the aws CLI, the admin), an uncaught failure, the execution's own
    TimeoutSeconds or the machine's deletion puts no event of the definition's, so the order
    would stay "Created" with a spent token, and no screen would hear of it. The order ends here
    and an ORDER_CLOSED event says so, published after the engine's transaction commits on the
    topics of the workflow's own end events (the customer's page, the barista queue, the display
    board re-read it). An order that had ended already gets no event. A SUCCEEDED execution passed
    one of the definition's end events, which settled its order already (no statement spent on
    it).
    """
    if how == Execution.Status.SUCCEEDED:
        return
    if how == Execution.Status.FAILED:
        reason = f"The order failed: {execution.error or 'unknown error'}"
    else:
        reason = _CLOSED_REASONS.get(how, how)
    order = Order.objects.cancel_closed(execution=execution, reason=reason)
    if order is not None:
        order_event_put(detail_type=ORDER_CLOSED, order=order, reason=reason, executionStatus=how)
