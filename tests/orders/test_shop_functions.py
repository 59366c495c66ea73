"""The coffee bar's workflow functions: GetShopStatus (open, capacity) and GenerateOrderNumber."""

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
