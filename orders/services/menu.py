"""The menu as the server enforces it: only available drinks, only each modifier's own options."""

from typing import Any

from django.db import transaction

from orders.models import Drink, DrinkModifier
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
    """The drinks a customer may order now, with their modifiers."""
    return list(Drink.objects.filter(available=True).prefetch_related("modifiers"))


def drink_validate(*, drink: Any) -> dict[str, Any]:
    """The drink as recorded on the order: {"drink", "icon", "modifiers": {name: option}}.

    Refuses a drink not on the menu or not available, an unknown modifier and an option the
    modifier does not offer ("Sanitize order" in the original). A modifier left out takes its first
    option, as the ordering form preselects it.
    """
    if not isinstance(drink, dict) or not isinstance(drink.get("drink"), str):
        raise ValidationException("Choose a drink from the menu")
    chosen = Drink.objects.filter(name=drink["drink"], available=True).first()
    if chosen is None:
        raise ValidationException(f"{drink['drink']!r} is not on the menu today")
    asked = drink.get("modifiers") or {}
    if not isinstance(asked, dict):
        raise ValidationException("modifiers must map each modifier to an option")
    offered = {m.name: list(m.options) for m in chosen.modifiers.all()}
    unknown = sorted(set(asked) - set(offered))
    if unknown:
        raise ValidationException(f"{chosen.name} has no modifier {', '.join(unknown)}")
    modifiers = {}
    for name, options in offered.items():
        option = asked.get(name, options[0] if options else "")
        if option not in options:
            raise ValidationException(f"{option!r} is not a {name} option for {chosen.name}")
        modifiers[name] = option
    return {"drink": chosen.name, "icon": chosen.icon, "modifiers": modifiers}
