"""The Serverlesspresso menu, there after the first migrate (a copy frozen here, as migrations are)."""

from django.db import migrations

MILK = {"name": "Milk", "options": ["Regular", "Oat", "Soy"]}
MENU = [
    ("Espresso", "☕", [{"name": "Shots", "options": ["Single", "Double"]}]),
    ("Cappuccino", "☕", [MILK]),
    ("Latte", "🥛", [MILK, {"name": "Syrup", "options": ["None", "Vanilla", "Caramel"]}]),
    ("Flat White", "☕", [MILK]),
    ("Americano", "☕", [{"name": "Milk", "options": ["None", "Regular", "Oat", "Soy"]}]),
    ("Coffee of the day", "★", [{"name": "Milk", "options": ["None", "Regular", "Oat", "Soy"]}]),
]


def seed(apps, schema_editor):
    Drink = apps.get_model("orders", "Drink")
    DrinkModifier = apps.get_model("orders", "DrinkModifier")
    for position, (name, icon, modifiers) in enumerate(MENU):
        drink, created = Drink.objects.get_or_create(
            name=name, defaults={"icon": icon, "position": position}
        )
        if created:
            for index, modifier in enumerate(modifiers):
                DrinkModifier.objects.create(drink=drink, position=index, **modifier)


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_coffee_bar")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
