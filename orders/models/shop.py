"""The shop's own records: the day's order numbers and the shop's config."""

from django.db import models


class OrderNumberCounter(models.Model):
    """Per-day order numbers, incremented atomically by the workflow's Generate Order Number."""

    day = models.DateField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last_number}"


class ShopConfig(models.Model):
    """The single row of shop settings that the workflow's shop checks read."""

    store_open = models.BooleanField(default=True)
    max_orders_in_queue = models.PositiveIntegerField(
        default=20, help_text="Orders in flight at once; the workflow refuses more."
    )
    max_orders_per_user = models.PositiveIntegerField(
        default=5,
        help_text=(
            "How many orders one customer may place in a day. Orders that were cancelled, timed "
            "out or refused give their place back. 5 lets people come back for another coffee "
            "during a day-long event; 1 means one coffee each."
        ),
    )
    drinks_per_barcode = models.PositiveIntegerField(default=10)
    qr_code_required = models.BooleanField(
        default=True, help_text="Customers start orders by scanning the display board's code."
    )

    class Meta:
        verbose_name = "shop config"

    def __str__(self) -> str:
        return "Shop config"
