"""The coffee bar's records: menu and what is sold out, QR codes, orders (and their report),
order numbers, shop config, login locks."""

from orders.models.accounts import LoginAccount
from orders.models.barista import QueuedOrder
from orders.models.menu import CustomerDay, Drink, DrinkModifier, QRCode
from orders.models.orders import Order
from orders.models.report import DayReport
from orders.models.shop import OrderNumberCounter, ShopConfig
from orders.models.sold_out import MenuItemOff

__all__ = [
    "CustomerDay",
    "DayReport",
    "Drink",
    "DrinkModifier",
    "LoginAccount",
    "MenuItemOff",
    "Order",
    "OrderNumberCounter",
    "QRCode",
    "QueuedOrder",
    "ShopConfig",
]
