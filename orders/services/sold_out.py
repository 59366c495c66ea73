""" "Sold out" in one tap: a barista takes a drink, or a modifier's option on every drink (Milk:
Oat), off the customers' choices, and brings it back; the manager's report reads how long each
item was off.

Each change is a MenuItemOff transition (a row opened or closed, guarded by its partial unique
index and a conditional UPDATE) and a ConfigService.MenuChanged event on the config topic, put in
the same transaction and published after it commits (the barista queue hears it on the admin
topic, a customer's open order page on theirs). Orders already submitted keep the drink they
recorded: nothing here touches an order.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from orders.models import Drink, DrinkModifier, MenuItemOff
from orders.services.bus import event_put
from stepfunctions.errors import ValidationException

MENU_CHANGED = "ConfigService.MenuChanged"


@dataclass(frozen=True)
class MenuItem:
    """A drink of the menu (`drink`, its name) or a modifier's option on every drink
    (`modifier`, `option`)."""

    drink: str = ""
    modifier: str = ""
    option: str = ""

    @property
    def label(self) -> str:
        return self.drink or f"{self.modifier}: {self.option}"


@dataclass(frozen=True)
class MenuToggle:
    """An item as the barista's Menu strip shows it."""

    item: MenuItem
    off: bool


def _drink_row(item: MenuItem) -> Drink | None:
    """The item's drink row (None for an option); refuses an item the menu does not have."""
    if item.drink:
        drink = Drink.objects.filter(name=item.drink).first()
        if drink is None:
            raise ValidationException(f"{item.drink!r} is not on the menu")
        return drink
    offered = DrinkModifier.objects.filter(name=item.modifier).values_list("options", flat=True)
    if not item.modifier or not any(item.option in options for options in offered):
        raise ValidationException(f"{item.label!r} is not an option of the menu")
    return None


def _change(*, item: MenuItem, off: bool, by: str, at: datetime | None) -> bool:
    at = at or timezone.now()
    with transaction.atomic():
        drink = _drink_row(item)
        where = {"drink": drink, "modifier": item.modifier, "option": item.option}
        if off:
            changed = MenuItemOff.objects.start(**where, at=at, by=by) is not None
        else:
            changed = MenuItemOff.objects.end(**where, at=at, by=by)
        if changed:
            event_put(
                detail_type=MENU_CHANGED,
                detail={
                    "item": item.label,
                    "drink": item.drink or None,
                    "modifier": item.modifier or None,
                    "option": item.option or None,
                    "available": not off,
                    "changedBy": by,
                },
            )
    return changed


def mark_sold_out(*, item: MenuItem, by: str, at: datetime | None = None) -> bool:
    """Takes `item` off the customers' choices from now (or `at`). Idempotent: an item already
    sold out stays so from when it first was, and no event is put; of two baristas tapping at
    once, one opens the period (the partial unique index decides). Returns whether it changed."""
    return _change(item=item, off=True, by=by, at=at)


def mark_back(*, item: MenuItem, by: str, at: datetime | None = None) -> bool:
    """Puts `item` back on the customers' choices (the Undo, and the later "back in stock"):
    closes its open period with one conditional UPDATE. Idempotent: an item not sold out is left
    alone and no event is put. Returns whether it changed."""
    return _change(item=item, off=False, by=by, at=at)


def sold_out_now() -> set[MenuItem]:
    """The items sold out at this moment."""
    return {
        MenuItem(drink=name or "", modifier=modifier, option=option)
        for name, modifier, option in MenuItemOff.objects.open().values_list(
            "drink__name", "modifier", "option"
        )
    }


def menu_toggles() -> tuple[list[MenuToggle], list[tuple[str, list[MenuToggle]]]]:
    """The barista's Menu strip: the drinks on the menu, then each modifier with its options
    (across the drinks that offer it, in the menu's order), each with whether it is sold out."""
    off = sold_out_now()
    drinks = [
        MenuToggle(item=MenuItem(drink=name), off=MenuItem(drink=name) in off)
        for name in Drink.objects.filter(available=True).values_list("name", flat=True)
    ]
    options: dict[str, list[str]] = {}
    for name, offered in DrinkModifier.objects.filter(drink__available=True).values_list(
        "name", "options"
    ):
        known = options.setdefault(name, [])
        known.extend(option for option in offered if option not in known)
    modifiers = [
        (
            name,
            [
                MenuToggle(item=item, off=item in off)
                for item in (MenuItem(modifier=name, option=option) for option in names)
            ],
        )
        for name, names in options.items()
    ]
    return drinks, modifiers


def sold_out_minutes(start: datetime, end: datetime) -> list[tuple[str, float]]:
    """How long each item was sold out within [start, end), in minutes, most first (then by
    label): periods are clipped to the range, a period still open counts up to `end` or now,
    whichever is earlier. Items never off in the range are left out."""
    until = min(end, timezone.now())
    rows = (
        MenuItemOff.objects.filter(started_at__lt=until)
        .exclude(ended_at__lte=start)
        .select_related("drink")
    )
    minutes: dict[str, float] = {}
    for row in rows:
        begun = max(row.started_at, start)
        ended = min(row.ended_at or until, until)
        if ended > begun:
            minutes[row.label] = minutes.get(row.label, 0.0) + (ended - begun).total_seconds() / 60
    return sorted(minutes.items(), key=lambda pair: (-pair[1], pair[0]))
