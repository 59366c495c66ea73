# RedriveExecution: what an execution keeps for a redrive (stepfunctions.models.redrive), and
# the admin's permission to redrive one.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('stepfunctions', '0012_map_runs'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='execution',
            options={'permissions': [('stop_execution', 'Can stop a running execution'), ('redrive_execution', 'Can redrive an execution that did not succeed')]},
        ),
        migrations.AddField(
            model_name='execution',
            name='redrive_count',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='execution',
            name='redrive_cursor',
            field=models.JSONField(blank=True, default=None, null=True),
        ),
        migrations.AddField(
            model_name='execution',
            name='redrive_date',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='execution',
            name='redrive_tokens',
            field=models.JSONField(blank=True, default=None, null=True),
        ),
    ]
