"""The baristas' view of orders: a proxy, so the admin lists their queue apart from all orders."""

from orders.models.orders import Order


class QueuedOrder(Order):
    class Meta:
        proxy = True
        verbose_name = "barista queue"
        verbose_name_plural = "barista queue"
