"""Keeps Order rows in step with the workflow, as the original's order manager did.

Both run inside the engine's transaction (registered in OrdersConfig.ready() with
stepfunctions.hooks), so an order never shows a state its workflow has not reached. Each is a
conditional UPDATE, so applying the same event twice changes nothing more.
"""

import functools
import operator
from collections.abc import Callable

from django.db import connections
from django.db.models import Case, Q, Value, When

from orders.models import Order
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT, FINISHED, SHOP_UNAVAILABLE
from stepfunctions import hooks
from stepfunctions.models import Event, Execution
from stepfunctions.models.bulk import recordset, recordset_json, rows_insert

Status = Order.Status


def order_ids_check(*, order_id: str, user_id: str) -> None:
    """Refuses ids longer than an order row holds, before the database does (PostgreSQL would
    raise DataError, SQLite would store them): ValueError naming the member."""
    for member, field, value in (("orderId", "order_id", order_id), ("userId", "user_id", user_id)):
        limit = Order._meta.get_field(field).max_length
        if len(value) > limit:
            raise ValueError(f"The {member} is longer than {limit} characters")


def _started(events: list[Event]) -> None:
    rows: dict[str, Order] = {}
    for event in events:
        detail = event.detail
        user_id = str(detail.get("userId", ""))
        # In the stage's transaction: the engine fails the execution with States.Runtime.
        order_ids_check(order_id=str(detail["orderId"]), user_id=user_id)
        # The later start of one orderId wins, as when the stages ran one after the other.
        rows[str(detail["orderId"])] = Order(
            order_id=str(detail["orderId"]),
            **_fresh(user_id=user_id, execution=event.execution, token=detail.get("TaskToken")),
        )
    # One INSERT ... ON CONFLICT: a restarted order (same orderId, new execution) starts afresh.
    rows_insert(
        Order,
        list(rows.values()),
        ["order_id", *_FRESH_FIELDS, "created_at", "updated_at"],
        update_conflicts=(["order_id"], [*_FRESH_FIELDS, "updated_at"]),
    )


_FRESH_FIELDS = (
    "user_id",
    "execution",
    "status",
    "workflow_state",
    "task_token",
    "order_number",
    "drink",
    "barista",
    "reason",
    "submitted_at",
)


def _fresh(*, user_id: str, execution: Execution, token: str | None) -> dict:
    return {
        "user_id": user_id,
        "execution": execution,
        "status": Status.CREATED,
        "workflow_state": CUSTOMER_WAIT,
        "task_token": token or "",
        "order_number": None,
        "drink": None,
        "barista": "",
        "reason": "",
        "submitted_at": None,
    }


def _orders_update(
    events: list[Event],
    *,
    per_event: dict[str, Callable[[Event], object]] | None = None,
    only_created: bool = False,
    **values: object,
) -> None:
    """One UPDATE of the order rows of these events (each event's orderId, while run by the
    event's execution): `values` the same for all, `per_event` each event's own (by field).

    On PostgreSQL the events' keys and values travel as one JSON parameter joined as a table
    (stepfunctions.models.bulk.recordset): the statement's text and its cost do not grow with
    the batch's CASE per row. Elsewhere Django builds it from Q objects and CASE expressions.
    """
    per_event = per_event or {}
    connection = connections[Order.objects.db]
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        keys = [Order._meta.get_field("order_id"), Order._meta.get_field("execution")]
        varying = [Order._meta.get_field(name) for name in per_event]
        fixed = [Order._meta.get_field(name) for name in values]
        assignments = [f"{quote(f.column)} = r.{quote(f.column)}" for f in varying]
        assignments += [f"{quote(f.column)} = %s" for f in fixed]
        conditions = [f"o.{quote(k.column)} = r.{quote(k.column)}" for k in keys]
        if only_created:
            conditions.append(f"o.{quote('status')} = %s")
        getters = {
            "order_id": lambda e: str(e.detail["orderId"]),
            "execution": lambda e: e.execution_id,
            **per_event,
        }
        sql = (
            f"UPDATE {quote(Order._meta.db_table)} o SET {', '.join(assignments)} "  # noqa: S608
            f"FROM ROWS FROM ({recordset(connection, [*keys, *varying])}) AS r "
            f"WHERE {' AND '.join(conditions)}"
        )
        # In the statement's order: the SET's values, the recordset, the status.
        params = [
            f.get_db_prep_save(v, connection) for f, v in zip(fixed, values.values(), strict=True)
        ]
        params.append(recordset_json(events, [*keys, *varying], lambda e, f: getters[f.name](e)))
        if only_created:
            params.append(Status.CREATED)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    rows = Order.objects.filter(
        functools.reduce(
            operator.or_,
            (Q(order_id=str(e.detail["orderId"]), execution_id=e.execution_id) for e in events),
        )
    )
    if only_created:
        rows = rows.filter(status=Status.CREATED)
    rows.update(**values, **{f: _by_execution(events, f, value) for f, value in per_event.items()})


def _by_execution(events: list[Event], field: str, value: Callable[[Event], object]):
    """Each event's value for `field`, on its execution's order row."""
    output_field = Order._meta.get_field(field)
    if len(events) == 1:
        return Value(value(events[0]), output_field=output_field)
    return Case(
        *(When(execution_id=e.execution_id, then=Value(value(e))) for e in events),
        output_field=output_field,
    )


def _waiting_completion(events: list[Event]) -> None:
    _orders_update(
        events,
        per_event={
            "order_number": lambda e: e.detail.get("orderNumber"),
            "task_token": lambda e: e.detail.get("TaskToken", ""),
        },
        workflow_state=BARISTA_WAIT,
    )


def _finished(events: list[Event]) -> None:
    _orders_update(
        events,
        only_created=True,
        status=Status.COMPLETED,
        task_token="",
        workflow_state=FINISHED,
    )


def _ended_without_coffee(events: list[Event]) -> None:
    def cause(event: Event) -> str:
        return str(event.detail.get("cause") or SHOP_UNAVAILABLE)

    _orders_update(
        events,
        per_event={"workflow_state": cause, "reason": cause},
        only_created=True,
        status=Status.CANCELLED,
        task_token="",
    )


_HANDLERS: dict[str, Callable[[list[Event]], None]] = {
    "OrderProcessor.WorkflowStarted": _started,
    "OrderProcessor.WaitingCompletion": _waiting_completion,
    "OrderProcessor.orderFinished": _finished,
    "OrderProcessor.OrderTimeOut": _ended_without_coffee,
    "OrderProcessor.OrderCancelled": _ended_without_coffee,
    "OrderProcessor.ShopUnavailable": _ended_without_coffee,
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
