"""The engine's models, moved from the orders app without moving their tables.

A database made before the split already has the tables (orders 0001-0004 created them, and orders
0004 runs before this): here only the migration state moves, and orders 0005 drops the models from
its own state. A database without the coffee bar (the engine alone) gets the tables created here,
under the same names.
"""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


ENGINE_MODELS = [
    "StateMachine",
    "StateMachineVersion",
    "Execution",
    "CallbackToken",
    "HistoryEvent",
    "Event",
    "AccessKey",
]


def tables_create_missing(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for name in ENGINE_MODELS:
        model = apps.get_model("stepfunctions", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Execution',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('name', models.CharField(max_length=80)),
                        ('status', models.CharField(choices=[('RUNNING', 'Running'), ('SUCCEEDED', 'Succeeded'), ('FAILED', 'Failed'), ('TIMED_OUT', 'Timed Out'), ('ABORTED', 'Aborted')], default='RUNNING', max_length=10)),
                        ('stage', models.CharField(choices=[('READY', 'Ready'), ('WAITING', 'Waiting'), ('DONE', 'Done')], default='READY', max_length=8)),
                        ('cursor', models.JSONField(default=dict)),
                        ('due_at', models.DateTimeField(blank=True, null=True)),
                        ('input', models.JSONField()),
                        ('output', models.JSONField(blank=True, null=True)),
                        ('error', models.CharField(blank=True, default='', max_length=256)),
                        ('cause', models.TextField(blank=True, default='')),
                        ('event_count', models.PositiveIntegerField(default=0)),
                        ('start_date', models.DateTimeField()),
                        ('stop_date', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'orders_execution',
                    },
                ),
                migrations.CreateModel(
                    name='StateMachine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=80, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'orders_statemachine',
                    },
                ),
                migrations.CreateModel(
                    name='AccessKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('access_key_id', models.CharField(max_length=20, unique=True)),
                        ('secret_access_key', models.CharField(max_length=40)),
                        ('is_active', models.BooleanField(default=True)),
                        ('description', models.CharField(blank=True, default='', max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='access_keys', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'orders_accesskey',
                        'permissions': [('sfn_start_executions', 'Step Functions API: start and stop executions'), ('sfn_send_callbacks', 'Step Functions API: send task success, failure, heartbeat'), ('sfn_manage_state_machines', 'Step Functions API: create, update, delete machines'), ('sfn_read', 'Step Functions API: describe and list machines, executions, history')],
                    },
                ),
                migrations.CreateModel(
                    name='Event',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('bus', models.CharField(max_length=256)),
                        ('source', models.CharField(max_length=256)),
                        ('detail_type', models.CharField(db_index=True, max_length=128)),
                        ('detail', models.JSONField(default=dict)),
                        ('time', models.DateTimeField(db_index=True)),
                        ('execution', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='stepfunctions.execution')),
                    ],
                    options={
                        'db_table': 'orders_event',
                        'ordering': ['time'],
                    },
                ),
                migrations.AddField(
                    model_name='execution',
                    name='state_machine',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='executions', to='stepfunctions.statemachine'),
                ),
                migrations.CreateModel(
                    name='StateMachineVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField()),
                        ('definition', models.JSONField()),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('state_machine', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='stepfunctions.statemachine')),
                    ],
                    options={
                        'db_table': 'orders_statemachineversion',
                    },
                ),
                migrations.AddField(
                    model_name='execution',
                    name='version',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stepfunctions.statemachineversion'),
                ),
                migrations.CreateModel(
                    name='CallbackToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token', models.CharField(max_length=2048, unique=True)),
                        ('state_name', models.CharField(max_length=80)),
                        ('status', models.CharField(choices=[('OPEN', 'Open'), ('SUCCEEDED', 'Succeeded'), ('FAILED', 'Failed'), ('TIMED_OUT', 'Timed Out'), ('CLOSED', 'Closed')], default='OPEN', max_length=10)),
                        ('heartbeat_seconds', models.PositiveIntegerField(blank=True, null=True)),
                        ('heartbeat_deadline', models.DateTimeField(blank=True, null=True)),
                        ('timeout_deadline', models.DateTimeField(blank=True, null=True)),
                        ('deadline', models.DateTimeField(blank=True, null=True)),
                        ('outcome', models.JSONField(blank=True, null=True)),
                        ('created_at', models.DateTimeField()),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('execution', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to='stepfunctions.execution')),
                    ],
                    options={
                        'db_table': 'orders_callbacktoken',
                        'indexes': [models.Index(condition=models.Q(('status', 'OPEN')), fields=['deadline'], name='token_open_deadline')],
                    },
                ),
                migrations.CreateModel(
                    name='HistoryEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.PositiveIntegerField()),
                        ('previous_event_id', models.PositiveIntegerField(default=0)),
                        ('type', models.CharField(max_length=40)),
                        ('timestamp', models.DateTimeField()),
                        ('details', models.JSONField(default=dict)),
                        ('execution', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='history', to='stepfunctions.execution')),
                    ],
                    options={
                        'db_table': 'orders_historyevent',
                        'ordering': ['execution', 'event_id'],
                        'constraints': [models.UniqueConstraint(fields=('execution', 'event_id'), name='one_event_id')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='statemachineversion',
                    constraint=models.UniqueConstraint(fields=('state_machine', 'number'), name='one_version_number'),
                ),
                migrations.AddIndex(
                    model_name='execution',
                    index=models.Index(fields=['state_machine', 'status'], name='execution_machine_status'),
                ),
                migrations.AddIndex(
                    model_name='execution',
                    index=models.Index(condition=models.Q(('stage', 'READY')), fields=['due_at'], name='execution_ready_due'),
                ),
                migrations.AddConstraint(
                    model_name='execution',
                    constraint=models.UniqueConstraint(fields=('state_machine', 'name'), name='one_execution_name'),
                ),
            ],
        ),
        migrations.RunPython(tables_create_missing, migrations.RunPython.noop),
    ]
