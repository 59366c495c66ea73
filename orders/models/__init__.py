"""The coffee bar's records: menu, QR codes, orders, order numbers, shop config."""

from orders.models.barista import QueuedOrder
from orders.models.menu import CustomerDay, Drink, DrinkModifier, QRCode
from orders.models.orders import Order
from orders.models.shop import OrderNumberCounter, ShopConfig

__all__ = [
    "CustomerDay",
    "Drink",
    "DrinkModifier",
    "Order",
    "OrderNumberCounter",
    "QRCode",
    "QueuedOrder",
    "ShopConfig",
]
