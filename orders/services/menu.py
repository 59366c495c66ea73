"""The menu as the server enforces it: only available drinks, only each modifier's own options,
nothing sold out (orders.services.sold_out)."""

from typing import Any

from django.db import transaction

from orders.errors import SoldOut
from orders.models import Drink, DrinkModifier
from orders.services.sold_out import MenuItem, sold_out_now
from stepfunctions.errors import ValidationException

_MILK = {"name": "Milk", "options": ["Regular", "Oat", "Soy"]}
_MILK_OR_NONE = {"name": "Milk", "options": ["None", "Regular", "Oat", "Soy"]}
# The Serverlesspresso menu: (name, icon, modifiers).
MENU = [
    ("Espresso", "☕", [{"name": "Shots", "options": ["Single", "Double"]}]),
    ("Cappuccino", "☕", [_MILK]),
    ("Latte", "☕", [_MILK, {"name": "Syrup", "options": ["None", "Vanilla", "Caramel"]}]),
    ("Flat White", "☕", [_MILK]),
    ("Americano", "☕", [_MILK_OR_NONE]),
    ("Coffee of the day", "★", [_MILK_OR_NONE]),
]


def menu_seed() -> bool:
    """Lays the menu when there is none (after the first migrate, or a test database's flush);
    a menu the shop has edited is left alone. Returns whether it laid one."""
    with transaction.atomic():
        if Drink.objects.exists():
            return False
        for position, (name, icon, modifiers) in enumerate(MENU):
            drink = Drink.objects.create(name=name, icon=icon, position=position)
            DrinkModifier.objects.bulk_create(
                DrinkModifier(drink=drink, position=i, **modifier)
                for i, modifier in enumerate(modifiers)
            )
    return True


def menu_available() -> list[Drink]:
    """The drinks a customer may order now, with their modifiers, each offering only the options
    not sold out (set on the rows in memory, never saved). A drink sold out, or with a modifier
    whose every option is, is left out."""
    off = sold_out_now()
    menu = []
    for drink in Drink.objects.filter(available=True).prefetch_related("modifiers"):
        if MenuItem(drink=drink.name) in off:
            continue
        emptied = False
        for modifier in drink.modifiers.all():
            left = [o for o in modifier.options if not _option_off(off, modifier, o)]
            emptied = emptied or (bool(modifier.options) and not left)
            modifier.options = left
        if not emptied:
            menu.append(drink)
    return menu


def _option_off(off: set[MenuItem], modifier: DrinkModifier, option: str) -> bool:
    return MenuItem(modifier=modifier.name, option=option) in off


def drink_validate(*, drink: Any) -> dict[str, Any]:
    """The drink as recorded on the order: {"drink", "icon", "modifiers": {name: option}}.

    Refuses a drink not on the menu or not available, an unknown modifier and an option the
    modifier does not offer ("Sanitize order" in the original), and (SoldOut) a drink or option
    sold out, even when the customer's page still showed it. A modifier left out takes its first
    option not sold out, as the ordering form preselects it.
    """
    if not isinstance(drink, dict) or not isinstance(drink.get("drink"), str):
        raise ValidationException("Choose a drink from the menu")
    chosen = Drink.objects.filter(name=drink["drink"], available=True).first()
    if chosen is None:
        raise ValidationException(f"{drink['drink']!r} is not on the menu today")
    off = sold_out_now()
    if MenuItem(drink=chosen.name) in off:
        raise SoldOut(f"Sorry, the {chosen.name} is sold out right now: choose another drink.")
    asked = drink.get("modifiers") or {}
    if not isinstance(asked, dict):
        raise ValidationException("modifiers must map each modifier to an option")
    offered = {m.name: m for m in chosen.modifiers.all()}
    unknown = sorted(set(asked) - set(offered))
    if unknown:
        raise ValidationException(f"{chosen.name} has no modifier {', '.join(unknown)}")
    modifiers = {}
    for name, modifier in offered.items():
        left = [o for o in modifier.options if not _option_off(off, modifier, o)]
        option = asked.get(name, left[0] if left else "")
        if option not in modifier.options:
            if not modifier.options or left:
                raise ValidationException(f"{option!r} is not a {name} option for {chosen.name}")
            raise SoldOut(f"Sorry, the {chosen.name} is sold out right now: no {name} is left.")
        if option not in left:
            raise SoldOut(f"Sorry, {option} is sold out right now: choose another {name}.")
        modifiers[name] = option
    return {"drink": chosen.name, "icon": chosen.icon, "modifiers": modifiers}
