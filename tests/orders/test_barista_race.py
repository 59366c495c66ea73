"""Two baristas claim the same order from real threads: one wins, one MakeOrder event."""

from orders.errors import OrderClaimed
from orders.models import Order, ShopConfig
from orders.services import orders as order_services
from orders.services.order_processor import CUSTOMER_WAIT
from orders.services.shop_config import shop_config_get
from stepfunctions import services
from stepfunctions.models import Event
from tests.conftest import open_token
from tests.stepfunctions.test_races import ITERATIONS, _run_together


def test_two_baristas_claiming_at_once_one_wins(inline_stages, order_processor):
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(max_orders_in_queue=ITERATIONS)
    for index in range(ITERATIONS // 2):
        execution = services.execution_start(
            state_machine=order_processor,
            input={"detail": {"orderId": f"claim-{index}", "userId": "ana"}},
        )[0]
        services.task_success(task_token=open_token(execution, CUSTOMER_WAIT), output="{}")
        order = Order.objects.get(order_id=f"claim-{index}")
        first, second = _run_together(
            lambda o=order: order_services.order_make(order=o, barista="bo"),
            lambda o=order: order_services.order_make(order=o, barista="cy"),
        )
        losers = [r for r in (first, second) if r is not None]
        assert len(losers) == 1 and isinstance(losers[0], OrderClaimed), (first, second)
        order.refresh_from_db()
        assert order.barista == ("bo" if first is None else "cy")
        made = Event.objects.filter(
            detail_type="OrderManager.MakeOrder", detail__orderId=order.order_id
        )
        assert made.count() == 1
