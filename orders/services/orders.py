"""The people's callbacks on an order: the customer submits or cancels, the barista completes or
cancels. Each answers the wait the order is in with the token stored on the order, so the token's
once-only rule (stepfunctions.services.callbacks) decides every race.
"""

import json
import uuid

from django.db import transaction
from django.utils import timezone

from orders.errors import (
    DailyLimitReached,
    NoMoreTime,
    OrderClaimed,
    OrderNotWaiting,
    QRCodeInvalid,
)
from orders.models import CustomerDay, Order
from orders.services.bus import event_put, order_event_put
from orders.services.menu import drink_validate
from orders.services.order_events import order_ids_check
from orders.services.order_processor import (
    BARISTA_WAIT,
    CANCELLED_ERROR,
    CUSTOMER_WAIT,
    ORDER_PROCESSOR,
)
from orders.services.qr_codes import qr_code_spend
from orders.services.shop_config import shop_config_get
from stepfunctions.errors import ValidationException
from stepfunctions.models import Execution
from stepfunctions.services import (
    execution_start,
    state_machine_get,
    task_failure,
    task_heartbeat,
    task_success,
)

# How often a customer may ask for more time to choose a drink: each time restarts the wait's
# 900-second heartbeat. WCAG 2.2.1 (Timing Adjustable) asks for at least ten extensions.
MORE_TIME_LIMIT = 10

# The coffee bar names each order's execution after the order (one execution per orderId).
_EXECUTION_PREFIX = "order-"


def order_log_fields(execution_name: str) -> dict[str, str]:
    """The engine's log fields of an execution (stepfunctions.hooks.on_log_fields): the order it
    runs, `{"order_id": ...}`, for an execution order_start named; `{}` for any other."""
    order_id = execution_name.removeprefix(_EXECUTION_PREFIX)
    if order_id == execution_name or not order_id:
        return {}
    return {"order_id": order_id}


def order_redrive_refusal(execution: Execution) -> str | None:
    """Why an order's execution is not redriven (stepfunctions.hooks.on_redrive_refusal): its
    order ended with it (order_execution_closed), and a redrive would run the workflow again for
    an order the customer, the barista and the screens already saw end. None for an execution
    that runs no order."""
    order_id = Order.objects.filter(execution=execution).values_list("order_id", flat=True).first()
    if order_id is None:
        return None
    return (
        f"Execution ran coffee-bar order {order_id}, which ended with it; "
        "the coffee bar does not redrive orders: place a new order instead."
    )


def _daily_place_take(*, user_id: str, limit: int, order_id: str) -> None:
    """Refuses an order over the customer's daily limit. The customer's day row is locked, so two
    starts at once are counted one after the other; cancelled orders (refused by the shop,
    cancelled, timed out) give their place back, and a retried start of `order_id` needs none."""
    day, _ = CustomerDay.objects.get_or_create(user_id=user_id, day=timezone.localdate())
    CustomerDay.objects.select_for_update().filter(pk=day.pk).first()
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    used = (
        Order.objects.filter(user_id=user_id, created_at__gte=midnight)
        .exclude(status=Order.Status.CANCELLED)
        .exclude(order_id=order_id)
        .count()
    )
    if used >= limit:
        raise DailyLimitReached(
            f"You have had your {limit} order{'s' if limit != 1 else ''} for today. See you tomorrow!"
        )


def order_start(
    *, user_id: str, order_id: str | None = None, qr_code: str | None = None
) -> Execution:
    """Starts the order workflow with the seed's input shape and the order's row (no state yet).

    Enforced here, not in the browser: the customer's daily limit and, while the shop requires
    it, one drink of a valid QR code, spent atomically. A refusal leaves nothing behind. Whether
    the shop is open and has room is the workflow's own first question.

    Idempotent by `order_id`: the customer's retry of a start that went through (the answer was
    lost) returns the same order's execution, spending no second place or drink.
    """
    machine = state_machine_get(arn_or_name=ORDER_PROCESSOR)
    order_id = order_id or uuid.uuid4().hex
    try:
        order_ids_check(order_id=order_id, user_id=user_id)
    except ValueError as error:
        raise ValidationException(str(error)) from None
    detail = {"detail": {"orderId": order_id, "userId": user_id}}
    with transaction.atomic():
        config = shop_config_get()
        # The customer's day row, locked: a retry racing its first try waits here, then finds it.
        _daily_place_take(user_id=user_id, limit=config.max_orders_per_user, order_id=order_id)
        started = Order.objects.filter(order_id=order_id, user_id=user_id).first()
        if started is not None:
            return started.execution
        code = None
        if config.qr_code_required:
            if not qr_code:
                raise QRCodeInvalid("Scan the QR code on the display board to start an order.")
            code = qr_code_spend(code=qr_code)
        execution, _ = execution_start(
            state_machine=machine, input=detail, name=f"{_EXECUTION_PREFIX}{order_id}"
        )
        Order.objects.start(order_id=order_id, user_id=user_id, execution=execution)
        if code is not None:
            event_put(
                detail_type="Validator.NewOrder",
                detail={"orderId": order_id, "userId": user_id, "drinksLeft": code.remaining},
            )
    return execution


def _waiting_token(order: Order, waits: tuple[str, ...]) -> Order:
    # Locked to the end of the callback's transaction: a second callback waits, then is refused.
    locked = Order.objects.lock_for_callback(order)
    if not locked.waits_in(waits):
        raise OrderNotWaiting(
            f"Order {locked.order_id} is not waiting for this (it is {locked.status}, "
            f"{locked.workflow_state or 'starting'})"
        )
    return locked


def order_submit(*, order: Order, drink: dict) -> None:
    """Records the customer's drink, checked against the menu, and resumes the customer's wait.
    Once only; a refused drink leaves the wait as it was."""
    drink = drink_validate(drink=drink)
    with transaction.atomic():
        locked = _waiting_token(order, (CUSTOMER_WAIT,))
        locked.drink_take(drink=drink, at=timezone.now())
        output = {"orderId": locked.order_id, "drink": drink}
        task_success(task_token=locked.task_token, output=json.dumps(output))


def order_more_time(*, order: Order) -> int:
    """The customer needs more time to choose: restarts the customer's wait (SendTaskHeartbeat on
    its token: another HeartbeatSeconds from now), at most MORE_TIME_LIMIT times an order.
    Returns how many extensions are left. The count is a conditional UPDATE under the order's
    lock, and the heartbeat is refused once the token is closed (chosen, cancelled, timed out),
    which rolls the count back: nothing is spent on a wait that is over."""
    with transaction.atomic():
        locked = _waiting_token(order, (CUSTOMER_WAIT,))
        if not Order.objects.more_time_take(
            pk=locked.pk, waiting_in=CUSTOMER_WAIT, limit=MORE_TIME_LIMIT
        ):
            raise NoMoreTime(
                f"You have had more time {MORE_TIME_LIMIT} times already: please choose a drink."
            )
        task_heartbeat(task_token=locked.task_token)
    return MORE_TIME_LIMIT - locked.more_time_taken - 1


def order_make(*, order: Order, barista: str) -> None:
    """The barista claims the order. One conditional UPDATE: of two baristas claiming at once,
    one wins and the other is told who did; claiming one's own claim again changes nothing."""
    with transaction.atomic():
        claimed = Order.objects.claim(pk=order.pk, barista=barista, waiting_in=BARISTA_WAIT)
        current = Order.objects.get(pk=order.pk)
        if not claimed:
            if current.barista == barista and current.workflow_state == BARISTA_WAIT:
                return
            if current.barista and current.workflow_state == BARISTA_WAIT:
                raise OrderClaimed(
                    f"Order {current.order_number} is being made by {current.barista}"
                )
            raise OrderNotWaiting(f"Order {current.order_id} is not waiting for a barista")
        order_event_put(detail_type="OrderManager.MakeOrder", order=current, baristaUserId=barista)


def order_unmake(*, order: Order, barista: str) -> None:
    """The barista gives their claim back; only the claimant can."""
    with transaction.atomic():
        released = Order.objects.unclaim(pk=order.pk, barista=barista, waiting_in=BARISTA_WAIT)
        if not released:
            raise OrderClaimed("Only the barista making this order can put it back")
        order_event_put(
            detail_type="OrderManager.MakeOrder",
            order=Order.objects.get(pk=order.pk),
            baristaUserId="",
        )


def order_complete(*, order: Order, barista: str) -> None:
    """The barista hands the drink over: resumes the barista's wait. Once only; an order another
    barista is making is theirs to complete."""
    with transaction.atomic():
        locked = _waiting_token(order, (BARISTA_WAIT,))
        if locked.barista and locked.barista != barista:
            raise OrderClaimed(f"Order {locked.order_number} is being made by {locked.barista}")
        locked.barista_set(barista=barista)
        output = {"orderId": locked.order_id, "completed": True, "barista": barista}
        task_success(task_token=locked.task_token, output=json.dumps(output))
        order_event_put(
            detail_type="OrderManager.OrderCompleted", order=locked, baristaUserId=barista
        )


def order_cancel(*, order: Order, by: str) -> None:
    """Cancels from either wait; the workflow ends as cancelled from the wait it is in (its
    Catch on OrderCancelled), so a customer cancelling before submitting never gets a number."""
    with transaction.atomic():
        locked = _waiting_token(order, (CUSTOMER_WAIT, BARISTA_WAIT))
        locked.cancel_ask(by=by)
        task_failure(
            task_token=locked.task_token, error=CANCELLED_ERROR, cause=f"Cancelled by {by}"
        )
        order_event_put(detail_type="OrderManager.OrderCancelled", order=locked, cancelledBy=by)
