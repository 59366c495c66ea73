"""The engine's models now belong to the stepfunctions app: drop them from this app's state only
(their tables stay, see stepfunctions 0001), point Order.execution at stepfunctions.Execution, and
move their content types, so the permissions granted on them (sfn_*, view_execution) keep working.
"""

import django.db.models.deletion
from django.db import migrations, models


MOVED = [
    "statemachine",
    "statemachineversion",
    "execution",
    "callbacktoken",
    "historyevent",
    "event",
    "accesskey",
]


def _content_types_move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MOVED:
        old = ContentType.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(update_fields=["app_label"])
            continue
        # Both exist (post_migrate ran in between): keep the target's rows and carry every grant.
        for permission in Permission.objects.filter(content_type=old):
            kept = Permission.objects.filter(content_type=new, codename=permission.codename).first()
            if kept is None:
                permission.content_type = new
                permission.save(update_fields=["content_type"])
                continue
            for user in permission.user_set.all():
                user.user_permissions.add(kept)
            for group in permission.group_set.all():
                group.permissions.add(kept)
            permission.delete()
        old.delete()


def content_types_forward(apps, schema_editor):
    _content_types_move(apps, "orders", "stepfunctions")


def content_types_backward(apps, schema_editor):
    _content_types_move(apps, "stepfunctions", "orders")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_barista_queue'),
        ('stepfunctions', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='callbacktoken',
                    name='execution',
                ),
                migrations.RemoveField(
                    model_name='event',
                    name='execution',
                ),
                migrations.RemoveField(
                    model_name='execution',
                    name='state_machine',
                ),
                migrations.RemoveField(
                    model_name='execution',
                    name='version',
                ),
                migrations.AlterField(
                    model_name='order',
                    name='execution',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='order', to='stepfunctions.execution'),
                ),
                migrations.RemoveField(
                    model_name='historyevent',
                    name='execution',
                ),
                migrations.RemoveField(
                    model_name='statemachineversion',
                    name='state_machine',
                ),
                migrations.DeleteModel(
                    name='AccessKey',
                ),
                migrations.DeleteModel(
                    name='CallbackToken',
                ),
                migrations.DeleteModel(
                    name='Event',
                ),
                migrations.DeleteModel(
                    name='Execution',
                ),
                migrations.DeleteModel(
                    name='HistoryEvent',
                ),
                migrations.DeleteModel(
                    name='StateMachine',
                ),
                migrations.DeleteModel(
                    name='StateMachineVersion',
                ),
            ],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
