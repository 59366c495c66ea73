"""The coffee bar's menu, its rotating QR codes and the per-customer daily order count."""

from django.db import models


class Drink(models.Model):
    """A drink on the menu; only available drinks are offered and accepted."""

    name = models.CharField(max_length=80, unique=True)
    icon = models.CharField(
        max_length=8, blank=True, default="☕", help_text="An emoji or short mark."
    )
    available = models.BooleanField(default=True, db_index=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class DrinkModifier(models.Model):
    """A choice the customer makes for a drink (e.g. Milk), with the options the bar offers."""

    drink = models.ForeignKey(Drink, on_delete=models.CASCADE, related_name="modifiers")
    name = models.CharField(max_length=40)
    options = models.JSONField(default=list, help_text='A list of names, e.g. ["Regular", "Oat"].')
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["drink", "name"], name="one_modifier_name_per_drink")
        ]

    def __str__(self) -> str:
        return f"{self.drink.name}: {self.name}"


class QRCode(models.Model):
    """The code the display board shows for one 5-minute window, good for a number of drinks."""

    code = models.CharField(max_length=64, unique=True)
    # The window's start: one code per window, so two boards asking at once share it.
    window_start = models.DateTimeField(unique=True)
    expires_at = models.DateTimeField()
    drinks = models.PositiveIntegerField()
    # Spent by a conditional UPDATE (remaining > 0), never read-modify-write.
    remaining = models.PositiveIntegerField()

    class Meta:
        verbose_name = "QR code"
        permissions = [("view_display_board", "Can show the display board")]

    def __str__(self) -> str:
        return f"QR code {self.window_start:%H:%M} ({self.remaining}/{self.drinks} left)"


class CustomerDay(models.Model):
    """A customer's day: its row lock counts their orders one start at a time (the daily limit)."""

    user_id = models.CharField(max_length=150)
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "day"], name="one_customer_day")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.day}"
