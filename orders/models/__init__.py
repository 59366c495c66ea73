"""Models, one module per room: the workflow engine's records and the coffee bar's."""

from orders.models.access_keys import AccessKey
from orders.models.barista import QueuedOrder
from orders.models.menu import CustomerDay, Drink, DrinkModifier, QRCode
from orders.models.shop import Order, OrderNumberCounter, ShopConfig
from orders.models.workflow import (
    CallbackToken,
    Event,
    Execution,
    HistoryEvent,
    StateMachine,
    StateMachineVersion,
)

__all__ = [
    "AccessKey",
    "CallbackToken",
    "CustomerDay",
    "Drink",
    "DrinkModifier",
    "Event",
    "Execution",
    "HistoryEvent",
    "Order",
    "OrderNumberCounter",
    "QRCode",
    "QueuedOrder",
    "ShopConfig",
    "StateMachine",
    "StateMachineVersion",
]
