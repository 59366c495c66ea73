"""Upgrading a database made before the engine had its own app: `migrate` keeps the executions,
tokens, orders, access keys and the permissions granted on them, and the seed's scenario runs on it.

The test database is taken back to the old layout (orders 0004, before stepfunctions existed),
filled there through the historical models, then migrated forward as `manage.py migrate` would.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT, order_processor_document
from stepfunctions import services
from stepfunctions.models import AccessKey, CallbackToken, Execution, StateMachine
from tests.conftest import open_token
from tests.stepfunctions.migrating import historical_apps, leaves, migrate

OLD = [("orders", "0004_barista_queue")]
# The engine's tables under their old orders_* names (stepfunctions 0005 renames them).
ENGINE_OLD_TABLES = ("stepfunctions", "0004_children")
# The other apps as they are (contenttypes and auth at their last migrations).
OLD_STATE = [
    *OLD,
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]


def _fill_old_layout(now) -> dict:
    """Rows as the orders app kept them before the split (historical models, old app label)."""
    apps = historical_apps(OLD_STATE)
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")
    key_type, _ = ContentType.objects.get_or_create(app_label="orders", model="accesskey")
    execution_type, _ = ContentType.objects.get_or_create(app_label="orders", model="execution")
    start, _ = Permission.objects.get_or_create(
        content_type=key_type, codename="sfn_start_executions", defaults={"name": "start"}
    )
    view, _ = Permission.objects.get_or_create(
        content_type=execution_type, codename="view_execution", defaults={"name": "view"}
    )
    user = User.objects.create(username="old-key-user")
    user.user_permissions.add(start, view)
    apps.get_model("orders", "AccessKey").objects.create(
        user=user, access_key_id="AKIAOLDLAYOUT0000001", secret_access_key="s" * 40
    )
    # The machine as the old layout's migrate stored it (the test database's setup did that too).
    machine, _ = apps.get_model("orders", "StateMachine").objects.get_or_create(
        name="OrderProcessorWorkflow"
    )
    version, _ = apps.get_model("orders", "StateMachineVersion").objects.get_or_create(
        state_machine=machine, number=1, defaults={"definition": order_processor_document()}
    )
    OldExecution = apps.get_model("orders", "Execution")
    detail = {"detail": {"orderId": "old-1", "userId": "ana"}}
    # One waiting on the customer with its open token, one just started (its first stage due).
    waiting = OldExecution.objects.create(
        state_machine=machine,
        version=version,
        name="old-waiting",
        input=detail,
        stage="WAITING",
        cursor={"kind": "task", "state": CUSTOMER_WAIT, "raw_input": detail, "attempts": []},
        start_date=now,
        event_count=0,
    )
    token = apps.get_model("orders", "CallbackToken").objects.create(
        token="T" * 64,
        execution=waiting,
        state_name=CUSTOMER_WAIT,
        heartbeat_seconds=900,
        heartbeat_deadline=now + timedelta(seconds=900),
        deadline=now + timedelta(seconds=900),
        created_at=now,
    )
    waiting.cursor = {**waiting.cursor, "token_id": token.pk}
    waiting.save(update_fields=["cursor"])
    apps.get_model("orders", "Order").objects.create(
        order_id="old-1",
        user_id="ana",
        execution=waiting,
        workflow_state=CUSTOMER_WAIT,
        task_token=token.token,
    )
    OldExecution.objects.create(
        state_machine=machine,
        version=version,
        name="old-started",
        input={"detail": {"orderId": "old-2", "userId": "bo"}},
        cursor={"kind": "start"},
        due_at=now,
        start_date=now,
    )
    return {"user_id": user.pk, "token": token.token}


@pytest.mark.integration
def test_an_old_database_keeps_its_rows_and_grants_and_runs_the_seed(inline_stages):
    now = timezone.now()
    migrate([*OLD, ENGINE_OLD_TABLES])
    try:
        old = _fill_old_layout(now)
    finally:
        migrate(leaves())

    # The rows are there, under the new app's models, with their links.
    assert set(Execution.objects.values_list("name", flat=True)) == {"old-waiting", "old-started"}
    order = Order.objects.select_related("execution").get(order_id="old-1")
    assert order.execution.name == "old-waiting"
    assert CallbackToken.objects.get(token=old["token"]).execution_id == order.execution_id
    key = AccessKey.objects.get(access_key_id="AKIAOLDLAYOUT0000001")
    # The grants made on the old app's permissions hold under the new label, nothing is duplicated.
    assert key.user.has_perm("stepfunctions.sfn_start_executions")
    assert key.user.has_perm("stepfunctions.view_execution")
    assert not key.user.has_perm("stepfunctions.sfn_read")
    from django.contrib.contenttypes.models import ContentType

    assert not ContentType.objects.filter(app_label="orders", model="execution").exists()

    # The old waiting execution goes on from its token; the old started one runs its first stage.
    services.task_success(task_token=old["token"], output=json.dumps({"orderId": "old-1"}))
    waiting = Execution.objects.get(name="old-waiting")
    services.task_success(task_token=open_token(waiting, BARISTA_WAIT), output="{}")
    services.execution_advance(execution_id=Execution.objects.get(name="old-started").pk)
    started = Execution.objects.get(name="old-started")
    assert started.stage == Execution.Stage.WAITING

    # The seed's scenario on the upgraded database: start, two callbacks, SUCCEEDED.
    machine = StateMachine.objects.get(name="OrderProcessorWorkflow")
    execution, _ = services.execution_start(
        state_machine=machine, input={"detail": {"orderId": "1", "userId": "testuser"}}
    )
    services.task_success(task_token=open_token(execution, CUSTOMER_WAIT), output='{"orderId":1}')
    services.task_success(task_token=open_token(execution, BARISTA_WAIT), output='{"orderId":1}')
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output["Order"] == {"Payload": {"orderNumber": 2}}
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.SUCCEEDED
    assert set(Order.objects.values_list("order_id", "status")) == {
        ("old-1", "COMPLETED"),
        ("old-2", "CREATED"),
        ("1", "COMPLETED"),
    }
