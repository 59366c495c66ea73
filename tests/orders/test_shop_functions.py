"""The coffee bar's workflow functions: GetShopStatus (open, capacity) and GenerateOrderNumber."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import OrderNumberCounter, ShopConfig
from orders.services.order_processor import CUSTOMER_WAIT
from orders.services.shop_config import shop_config_get
from stepfunctions import services
from stepfunctions.models import CallbackToken, Event, Execution
from tests.conftest import SEED_INPUT, open_token


def _shop(**fields) -> None:
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(**fields)


def test_closed_shop_ends_with_shop_unavailable(inline_stages, order_processor):
    _shop(store_open=False)
    execution, _ = services.execution_start(state_machine=order_processor, input=SEED_INPUT)
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output["GetStore"] == {"storeOpen": False, "isCapacityAvailable": True}
    assert list(Event.objects.values_list("detail_type", flat=True)) == [
        "OrderProcessor.ShopUnavailable"
    ]
    assert not CallbackToken.objects.exists()


def test_capacity_counts_orders_in_flight(inline_stages, order_processor):
    _shop(max_orders_in_queue=2)
    runs = [
        services.execution_start(state_machine=order_processor, input=SEED_INPUT)[0]
        for _ in range(3)
    ]
    for run in runs:
        run.refresh_from_db()
    assert [r.stage for r in runs] == ["WAITING", "WAITING", "DONE"]
    assert runs[2].output["GetStore"]["isCapacityAvailable"] is False
    # A place frees up when an order finishes.
    services.execution_stop(execution=runs[0])
    fourth = services.execution_start(state_machine=order_processor, input=SEED_INPUT)[0]
    fourth.refresh_from_db()
    assert fourth.stage == "WAITING"


def test_order_numbers_count_up_per_day(inline_stages, order_processor):
    _shop(max_orders_in_queue=10)
    for _ in range(3):
        execution = services.execution_start(state_machine=order_processor, input=SEED_INPUT)[0]
        services.task_success(task_token=open_token(execution, CUSTOMER_WAIT), output="{}")
    numbers = sorted(
        e.cursor["raw_input"]["Order"]["Payload"]["orderNumber"]
        for e in Execution.objects.filter(stage="WAITING")
    )
    assert numbers == [1, 2, 3]
    assert OrderNumberCounter.objects.get(day=timezone.localdate()).last_number == 3


def _started_in_one_batch(order_processor, count: int, monkeypatch) -> list[Execution]:
    """`count` starts whose first stages one worker's batch runs together."""
    from stepfunctions.tasks import advance_execution

    monkeypatch.setattr(advance_execution, "apply_async", lambda *args, **kwargs: None)
    runs = [
        services.execution_start(state_machine=order_processor, input=SEED_INPUT)[0]
        for _ in range(count)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert services.stages_run_due() == count
    for run in runs:
        run.refresh_from_db()
    sql = [query["sql"] for query in queries.captured_queries]
    # One lock of the config and one count of the orders in flight for the whole batch.
    assert sum("orders_shopconfig" in s for s in sql) == 1
    assert sum("COUNT(" in s and '"status" = ' in s for s in sql) == 1
    return runs


def test_a_batch_of_starts_shares_one_count_and_counts_each_other(order_processor, monkeypatch):
    # 5 RUNNING: each start sees the 4 others in flight, as when their stages ran one by one.
    _shop(max_orders_in_queue=5)
    runs = _started_in_one_batch(order_processor, 5, monkeypatch)
    assert [r.stage for r in runs] == ["WAITING"] * 5


def test_a_batch_of_starts_over_capacity_is_refused(order_processor, monkeypatch):
    _shop(max_orders_in_queue=4)
    runs = _started_in_one_batch(order_processor, 5, monkeypatch)
    assert [r.stage for r in runs] == ["DONE"] * 5
    assert {r.output["GetStore"]["isCapacityAvailable"] for r in runs} == {False}
