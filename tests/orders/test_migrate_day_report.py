"""Upgrading to the manager's report (orders 0010_day_report): orders that ended before it take
their last change as their end, and a refusal its cause from its execution's output."""

from datetime import timedelta

from django.utils import timezone

from orders.models import Order
from orders.services.order_processor import order_processor_document
from tests.stepfunctions.migrating import historical_apps, leaves, migrate

BEFORE = [("orders", "0009_menu_item_off")]
# The engine as it is: its tables under their own names.
ENGINE = ("stepfunctions", "0005_engine_tables")


def _fill(now) -> None:
    apps = historical_apps([*BEFORE, ENGINE])
    machine, _ = apps.get_model("stepfunctions", "StateMachine").objects.get_or_create(
        name="OrderProcessorWorkflow"
    )
    version, _ = apps.get_model("stepfunctions", "StateMachineVersion").objects.get_or_create(
        state_machine=machine, number=1, defaults={"definition": order_processor_document()}
    )
    OldOrder = apps.get_model("orders", "Order")

    def refused(name: str, store_open: bool) -> None:
        execution = apps.get_model("stepfunctions", "Execution").objects.create(
            state_machine=machine,
            version=version,
            name=name,
            input={},
            output={"GetStore": {"storeOpen": store_open, "isCapacityAvailable": False}},
            stage="DONE",
            start_date=now,
        )
        OldOrder.objects.create(
            order_id=name,
            user_id="ana",
            execution=execution,
            status="CANCELLED",
            reason="Shop unavailable",
        )

    refused("old-closed", False)
    refused("old-full", True)
    OldOrder.objects.create(order_id="old-made", user_id="bo", status="COMPLETED")
    OldOrder.objects.create(order_id="old-open", user_id="cy")
    OldOrder.objects.filter(order_id="old-made").update(updated_at=now - timedelta(hours=1))


def test_ended_orders_get_their_end_and_a_refusal_its_cause(transactional_db):
    now = timezone.now()
    migrate(BEFORE)
    try:
        _fill(now)
    finally:
        migrate(leaves())
    rows = {
        o.order_id: (o.ended_at, o.refused_because)
        for o in Order.objects.filter(order_id__startswith="old-")
    }
    assert rows["old-closed"][1] == "closed" and rows["old-full"][1] == "full"
    assert rows["old-made"] == (now - timedelta(hours=1), "")
    assert rows["old-open"] == (None, "")
    assert all(rows[name][0] is not None for name in ("old-closed", "old-full"))
