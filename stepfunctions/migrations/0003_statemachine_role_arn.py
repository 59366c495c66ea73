"""StateMachine.role_arn: the roleArn given at CreateStateMachine.

Machines created before it get the role $$.Execution.RoleArn gave them until now
(`arn:aws:iam::ACCOUNT:role/NAMERole`), so running executions see no change.
"""

from django.conf import settings
from django.db import migrations, models


def role_arns_fill(apps, schema_editor):
    StateMachine = apps.get_model("stepfunctions", "StateMachine")
    for machine in StateMachine.objects.filter(role_arn="").only("pk", "name"):
        machine.role_arn = f"arn:aws:iam::{settings.AWS_ACCOUNT_ID}:role/{machine.name}Role"
        machine.save(update_fields=["role_arn"])


class Migration(migrations.Migration):
    dependencies = [
        ("stepfunctions", "0002_execution_timeout_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="statemachine",
            name="role_arn",
            field=models.CharField(default="", max_length=256),
            preserve_default=False,
        ),
        migrations.RunPython(role_arns_fill, migrations.RunPython.noop),
    ]
