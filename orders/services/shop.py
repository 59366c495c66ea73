"""The coffee bar's own workflow functions (lambda:invoke targets), registered by OrdersConfig."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from orders.models import OrderNumberCounter
from orders.services.shop_config import shop_config_get
from stepfunctions.models import Execution
from stepfunctions.resources import Invocation


def shop_status(payload: Any, invocation: Invocation) -> dict:
    """Whether the shop is open and has room for this execution.

    The config row stays locked until the stage commits, so two executions starting at once are
    counted one after the other and the last place is taken once (the original's check never fired).
    """
    config = shop_config_get(lock=True)
    execution = invocation.execution
    capacity = config.max_orders_in_queue
    others = (
        Execution.objects.filter(
            state_machine_id=execution.state_machine_id, status=Execution.Status.RUNNING
        )
        .exclude(pk=execution.pk)
        .values("pk")[:capacity]
        .count()
    )
    return {
        "storeOpen": config.store_open,
        "isCapacityAvailable": others < capacity,
        "ordersInFlight": others,
        "capacity": capacity,
    }


def order_number_generate(payload: Any, invocation: Invocation) -> dict:
    """The next order number of the day; the row lock of the UPDATE makes it atomic."""
    day = timezone.localdate()
    if not OrderNumberCounter.objects.filter(day=day).update(last_number=F("last_number") + 1):
        try:
            with transaction.atomic():
                OrderNumberCounter.objects.create(day=day, last_number=1)
        except IntegrityError:
            OrderNumberCounter.objects.filter(day=day).update(last_number=F("last_number") + 1)
    number = OrderNumberCounter.objects.filter(day=day).values_list("last_number", flat=True).get()
    return {"orderNumber": number}


# lambda:invoke FunctionName -> handler, registered with the engine by OrdersConfig.ready().
FUNCTIONS = {"GetShopStatus": shop_status, "GenerateOrderNumber": order_number_generate}
