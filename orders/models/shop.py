"""The shop's own records: the day's order numbers and the shop's config."""

from datetime import date

from django.db import IntegrityError, connections, models, transaction


class OrderNumberCounterManager(models.Manager):
    def number_next(self, *, day: date) -> int:
        """The day's next order number: one UPDATE ... RETURNING, whose row lock makes it atomic
        under concurrent workflows (the day's first number creates the row; of two creating it
        at once, the one that loses the insert takes the next number instead)."""
        number = self._number_increment(day)
        if number is None:
            try:
                with transaction.atomic(using=self.db):
                    self.create(day=day, last_number=1)
                return 1
            except IntegrityError:
                number = self._number_increment(day)
        return number

    def _number_increment(self, day: date) -> int | None:
        # PostgreSQL and SQLite (3.35+) read the same statement: UPDATE ... RETURNING is one
        # round trip on both, where Django's update() and a re-read would be two.
        connection = connections[self.db]
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_number = last_number + 1 "  # noqa: S608 - the model's table
                "WHERE day = %s RETURNING last_number",
                [connection.ops.adapt_datefield_value(day)],
            )
            row = cursor.fetchone()
        return row[0] if row else None


class OrderNumberCounter(models.Model):
    """Per-day order numbers, incremented atomically by the workflow's Generate Order Number."""

    day = models.DateField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    objects = OrderNumberCounterManager()

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
