"""What the bar has run out of, and for how long: one row per time an item was off.

An item is a whole drink (`drink`) or a modifier's option on every drink that offers it
(`modifier` and `option`, e.g. Milk: Oat: when the oat milk runs out, it is out for every drink).
A row is open (`ended_at` NULL) while the item is sold out. At most one open row per item, by a
partial unique index: marking an item sold out twice, or by two baristas at once, opens one row;
bringing it back is a conditional UPDATE of the open row, whose row count says who did it.
"""

from datetime import datetime

from django.db import IntegrityError, models, transaction
from django.db.models import Q

from orders.models.menu import Drink


class MenuItemOffQuerySet(models.QuerySet):
    def of_item(self, *, drink: Drink | None, modifier: str = "", option: str = ""):
        if drink is not None:
            return self.filter(drink=drink)
        return self.filter(drink=None, modifier=modifier, option=option)

    def open(self):
        return self.filter(ended_at=None)

    def start(
        self, *, drink: Drink | None, modifier: str = "", option: str = "", at: datetime, by: str
    ) -> "MenuItemOff | None":
        """Available -> sold out: the item's open row, or None when it was sold out already (the
        partial unique index decides, also between two baristas tapping at once)."""
        try:
            with transaction.atomic(using=self.db):
                return self.create(
                    drink=drink, modifier=modifier, option=option, started_at=at, started_by=by
                )
        except IntegrityError:
            return None

    def end(
        self, *, drink: Drink | None, modifier: str = "", option: str = "", at: datetime, by: str
    ) -> bool:
        """Sold out -> available: closes the item's open row; False when there was none (back
        already, or never off)."""
        return bool(
            self.of_item(drink=drink, modifier=modifier, option=option)
            .open()
            .update(ended_at=at, ended_by=by)
        )


class MenuItemOff(models.Model):
    """A time an item of the menu was sold out (still is, while `ended_at` is NULL)."""

    drink = models.ForeignKey(
        Drink, on_delete=models.CASCADE, null=True, blank=True, related_name="times_off"
    )
    modifier = models.CharField(max_length=40, blank=True, default="")
    option = models.CharField(max_length=80, blank=True, default="")
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    started_by = models.CharField(max_length=150)
    ended_by = models.CharField(max_length=150, blank=True, default="")

    objects = MenuItemOffQuerySet.as_manager()

    class Meta:
        verbose_name = "sold-out item"
        constraints = [
            # A drink, or a modifier's option: never both, never neither.
            models.CheckConstraint(
                condition=(Q(drink__isnull=False) & Q(modifier="") & Q(option=""))
                | (Q(drink__isnull=True) & ~Q(modifier="") & ~Q(option="")),
                name="menu_item_off_drink_or_option",
            ),
            models.UniqueConstraint(
                fields=["drink"],
                condition=Q(ended_at__isnull=True, drink__isnull=False),
                name="one_open_drink_off",
            ),
            models.UniqueConstraint(
                fields=["modifier", "option"],
                condition=Q(ended_at__isnull=True, drink__isnull=True),
                name="one_open_option_off",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} off since {self.started_at:%H:%M}"

    @property
    def label(self) -> str:
        return self.drink.name if self.drink_id else f"{self.modifier}: {self.option}"
