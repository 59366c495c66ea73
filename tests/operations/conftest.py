"""The operations tests run the whole system: the coffee bar's workflow on the engine."""

from tests.orders.conftest import order_processor

__all__ = ["order_processor"]
