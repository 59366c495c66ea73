"""The coffee bar's own records: orders, order numbers, shop config."""

from django.db import models

from stepfunctions.models import Execution


class Order(models.Model):
    """A customer's order, kept up to date from the workflow's events."""

    class Status(models.TextChoices):
        CREATED = "CREATED"
        COMPLETED = "COMPLETED"
        CANCELLED = "CANCELLED"

    order_id = models.CharField(max_length=64, unique=True)
    user_id = models.CharField(max_length=150, db_index=True)
    execution = models.OneToOneField(
        Execution, on_delete=models.SET_NULL, null=True, blank=True, related_name="order"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.CREATED, db_index=True
    )
    # The workflow state the order waits in, or the one it ended in (e.g. "Customer timedout").
    workflow_state = models.CharField(max_length=80, blank=True, default="")
    # The open callback token (customer's, then barista's), as the original kept it with the order.
    task_token = models.CharField(max_length=2048, blank=True, default="")
    order_number = models.PositiveIntegerField(null=True, blank=True)
    drink = models.JSONField(null=True, blank=True)
    barista = models.CharField(max_length=150, blank=True, default="")
    reason = models.CharField(max_length=256, blank=True, default="")
    # When the customer's drink was accepted: the barista queue's age counts from here.
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("act_as_barista", "Can make, complete and cancel any order")]

    def __str__(self) -> str:
        return f"Order {self.order_id}"


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
