"""The operations tests run the whole system: the coffee bar's workflow on the engine."""

from tests.operations.web_clients import clients, shop
from tests.orders.conftest import order_processor

__all__ = ["clients", "order_processor", "shop"]
