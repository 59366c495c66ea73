from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("stepfunctions", "0010_connections"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="statemachine",
            options={
                "permissions": [
                    ("publish_state_machine", "Can save and publish a state machine in Studio")
                ]
            },
        ),
    ]
