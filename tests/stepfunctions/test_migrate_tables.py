"""Upgrading a database whose engine tables still have the orders_* names (stepfunctions 0004):
0005_engine_tables renames them to stepfunctions_* and keeps every row, every link (the orders
app's Order.execution among them, when it is installed) and what the engine reads through raw SQL.

The test database is taken back to 0004, filled there through the historical models, then
migrated forward as `manage.py migrate` would; it is left migrated to the latest state.
"""

import uuid
from importlib import import_module

import pytest
from django.apps import apps as installed
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from stepfunctions.models import (
    AccessKey,
    CallbackToken,
    Execution,
    StateMachine,
    StateMachineVersion,
)
from tests.stepfunctions.migrating import historical_apps, leaves, migrate

BEFORE = ("stepfunctions", "0004_children")
_MIGRATION = import_module("stepfunctions.migrations.0005_engine_tables")
# The tables renamed (ChildGroup's had the engine's name already).
ENGINE_TABLES = set(_MIGRATION.ENGINE_MODELS.split()) - {"childgroup"}


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


def _fill_before(now) -> dict:
    """One row of each kind, through the models as they were at 0004 (orders_* tables)."""
    apps = historical_apps([node for node in leaves() if node[0] != "stepfunctions"] + [BEFORE])

    def model(name: str):
        return apps.get_model("stepfunctions", name)

    machine = model("StateMachine").objects.create(name="Renamed", role_arn="arn:role")
    version = model("StateMachineVersion").objects.create(
        state_machine=machine, number=1, definition={"StartAt": "W", "States": {}}
    )
    execution = model("Execution").objects.create(
        state_machine=machine,
        version=version,
        name="renamed-1",
        input={"n": 1},
        stage="WAITING",
        cursor={"kind": "task", "state": "W", "raw_input": {}, "attempts": []},
        start_date=now,
        event_count=1,
    )
    model("CallbackToken").objects.create(
        token="R" * 64, execution=execution, state_name="W", created_at=now
    )
    model("HistoryEvent").objects.create(
        execution=execution, event_id=1, type="ExecutionStarted", timestamp=now
    )
    model("Event").objects.create(
        bus="default", source="test", detail_type="Renamed", time=now, execution=execution
    )
    user = apps.get_model("auth", "User").objects.create(username="renamed-key-user")
    model("AccessKey").objects.create(
        user=user, access_key_id="AKIARENAMED000000001", secret_access_key="s" * 40
    )
    if installed.is_installed("orders"):
        apps.get_model("orders", "Order").objects.create(
            order_id="renamed-order", user_id="ana", execution=execution
        )
    return {"execution_id": execution.pk, "user_id": user.pk}


def test_the_engine_tables_are_renamed_with_their_rows_and_links(transactional_db):
    now = timezone.now()
    migrate([BEFORE])
    try:
        assert {f"orders_{name}" for name in ENGINE_TABLES} <= _tables()
        old = _fill_before(now)
    finally:
        migrate(leaves())

    tables = _tables()
    assert {f"stepfunctions_{name}" for name in ENGINE_TABLES} <= tables
    assert not {f"orders_{name}" for name in ENGINE_TABLES} & tables
    execution = Execution.objects.select_related("state_machine").get(pk=old["execution_id"])
    assert (execution.name, execution.input, execution.stage) == ("renamed-1", {"n": 1}, "WAITING")
    assert execution.state_machine.name == "Renamed"
    assert StateMachineVersion.objects.get(state_machine=execution.state_machine).number == 1
    assert list(execution.history.values_list("type", flat=True)) == ["ExecutionStarted"]
    assert execution.events.get().detail_type == "Renamed"
    assert CallbackToken.objects.get(execution=execution).token == "R" * 64
    assert AccessKey.objects.get(access_key_id="AKIARENAMED000000001").user_id == old["user_id"]

    # The engine's raw statements read and write the renamed tables.
    machine = StateMachine.objects.get(name="Renamed")
    assert machine.version_to_start().number == 1
    with transaction.atomic():
        closed = CallbackToken.objects.close_and_wake(
            "R" * 64, status=CallbackToken.Status.SUCCEEDED, outcome={"output": {}}, now=now
        )
    assert closed["execution_id"] == execution.pk
    assert closed["execution_name"] == "renamed-1"
    with transaction.atomic():
        claimed, due = Execution.objects.claim_due(now=timezone.now(), limit=5)
    assert [e.pk for e in claimed] == [execution.pk] and due == 1

    if installed.is_installed("orders"):
        Order = installed.get_model("orders", "Order")
        assert Order.objects.get(order_id="renamed-order").execution_id == execution.pk
        # The orders table's foreign key points at the renamed table, still enforced.
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.create(order_id="dangling", user_id="bo", execution_id=uuid.uuid4())
            connection.check_constraints(table_names=[Order._meta.db_table])
