"""The engine's tables get the engine's own names (Django's default, stepfunctions_<model>) in
place of the orders_* names they kept when the engine moved out of the orders app (0001).

Each is a rename (ALTER TABLE ... RENAME TO): rows, indexes, constraints and the foreign keys
pointing at a table (the orders app's Order.execution among them) stay as they are; reversible.
ChildGroup had the default name already (its operation changes nothing).
"""

from django.db import migrations

# The engine's models (stepfunctions 0001, and 0004's ChildGroup).
ENGINE_MODELS = "statemachine statemachineversion execution callbacktoken historyevent event"
ENGINE_MODELS += " accesskey childgroup"


class Migration(migrations.Migration):
    dependencies = [
        ("stepfunctions", "0004_children"),
    ]

    operations = [
        migrations.AlterModelTable(name=name, table=None) for name in ENGINE_MODELS.split()
    ]
