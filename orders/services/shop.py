"""The coffee bar's own workflow functions (lambda:invoke targets), registered by OrdersConfig."""

from typing import Any

from django.utils import timezone

from orders.models import OrderNumberCounter
from orders.services.shop_config import shop_config_get
from stepfunctions.models import Execution
from stepfunctions.resources import Invocation


def shop_status(payload: Any, invocation: Invocation) -> dict:
    """Whether the shop is open and has room for this execution.

    The config row stays locked until the stage commits, so two executions starting at once are
    counted one after the other and the last place is taken once (the original's check never
    fired). An execution takes its place when it starts (it is RUNNING from then on), so the
    stages of one batch, all under the same lock, share one lock and one count: each of them
    would have read the same rows (the batch's own writes are made only at its end).
    """
    execution = invocation.execution
    seen = invocation.batch.get(_SHOP_STATUS)
    if seen is None:
        config = shop_config_get(lock=True)
        seen = invocation.batch[_SHOP_STATUS] = {"config": config, "running": {}}
    config = seen["config"]
    capacity = config.max_orders_in_queue
    running = seen["running"].get(execution.state_machine_id)
    if running is None:
        # This execution is one of them; counting one more than the capacity tells "full".
        running = seen["running"][execution.state_machine_id] = (
            Execution.objects.filter(
                state_machine_id=execution.state_machine_id, status=Execution.Status.RUNNING
            )
            .values("pk")[: capacity + 1]
            .count()
        )
    others = min(max(running - 1, 0), capacity)
    return {
        "storeOpen": config.store_open,
        "isCapacityAvailable": others < capacity,
        "ordersInFlight": others,
        "capacity": capacity,
    }


_SHOP_STATUS = "orders.shop_status"


def order_number_generate(payload: Any, invocation: Invocation) -> dict:
    """The next order number of the day (OrderNumberCounter's, atomic under concurrent
    workflows)."""
    return {"orderNumber": OrderNumberCounter.objects.number_next(day=timezone.localdate())}


# lambda:invoke FunctionName -> handler, registered with the engine by OrdersConfig.ready().
FUNCTIONS = {"GetShopStatus": shop_status, "GenerateOrderNumber": order_number_generate}
