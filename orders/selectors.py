"""The coffee bar's reads: the orders a customer or a barista may see, QR codes, and an order's
JSON shape. Pages and views read through these, not the ORM."""

from collections.abc import Iterable
from typing import Any

from django.db import models

from orders.errors import OrderDoesNotExist
from orders.models import Order, QRCode
from orders.services.order_processor import CUSTOMER_WAIT
from stepfunctions.models import Execution


def customer_order(*, order_id: str, username: str) -> Order | None:
    """The customer's own order; another customer's is as missing as one that does not exist."""
    return (
        Order.objects.select_related("execution")
        .filter(order_id=order_id, user_id=username)
        .first()
    )


def customer_orders(*, username: str, limit: int = 20) -> list[Order]:
    """The customer's latest orders, newest first."""
    return list(Order.objects.filter(user_id=username).order_by("-created_at")[:limit])


def qr_code_find(*, code: str) -> QRCode | None:
    return QRCode.objects.filter(code=code).first()


def orders_choosing_count() -> int:
    """Orders whose customer is still choosing a drink (and whose workflow still runs)."""
    return Order.objects.filter(
        status=Order.Status.CREATED,
        workflow_state=CUSTOMER_WAIT,
        execution__status=Execution.Status.RUNNING,
    ).count()


def order_for(*, order_id: str, user) -> Order:
    """The order if this user may act on it: its customer, or a barista."""
    order = Order.objects.select_related("execution").filter(order_id=order_id).first()
    if order is None or not (
        order.user_id == user.get_username() or user.has_perm("orders.act_as_barista")
    ):
        raise OrderDoesNotExist(f"Order '{order_id}' does not exist")
    return order


def record_shape(*, record: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The record's `fields` under their camelCase names (order_id -> orderId), in that order:
    the JSON shape of the original's records."""
    shape = {}
    for name in fields:
        head, *words = name.split("_")
        shape[head + "".join(word.capitalize() for word in words)] = getattr(record, name)
    return shape


# An order's members, as the original's order items had them (and its execution's ARN after).
_ORDER_FIELDS = (
    "order_id",
    "user_id",
    "status",
    "workflow_state",
    "order_number",
    "drink",
    "barista",
    "reason",
)


def order_shape(*, order: Order) -> dict[str, Any]:
    return {
        **record_shape(record=order, fields=_ORDER_FIELDS),
        "executionArn": order.execution.arn if order.execution else None,
    }
