"""The coffee bar's poison inputs: ids longer than an order row holds end their execution (which
gives its place in the queue back) instead of failing the stage for ever; a customer's start is
refused before it reaches the database, and a retried start makes no second order."""

import pytest

from orders.models import Order
from orders.services import orders as order_services
from orders.services.order_processor import CUSTOMER_WAIT
from orders.services.shop_config import shop_config_update
from stepfunctions import services
from stepfunctions.errors import ValidationException
from stepfunctions.models import Execution


@pytest.fixture
def one_place(inline_stages):
    shop_config_update(changes={"qr_code_required": False, "max_orders_in_queue": 1}, by="test")


@pytest.mark.parametrize(
    "detail",
    [{"orderId": "o" * 65, "userId": "u"}, {"orderId": "fits", "userId": "u" * 151}],
    ids=["orderId", "userId"],
)
def test_ids_an_order_row_cannot_hold_fail_the_execution_and_free_its_place(
    one_place, order_processor, detail
):
    poisoned, _ = services.execution_start(state_machine=order_processor, input={"detail": detail})
    poisoned.refresh_from_db()
    assert (poisoned.status, poisoned.error) == ("FAILED", "States.Runtime")
    member = "orderId" if len(detail["orderId"]) > 64 else "userId"
    assert f"The {member} is longer than" in poisoned.cause
    assert list(poisoned.history.values_list("type", flat=True)) == ["ExecutionFailed"]
    assert not Order.objects.exists()
    # The shop has one place; the poisoned execution no longer holds it.
    customer = order_services.order_start(user_id="alice")
    order = Order.objects.get(execution=customer)
    assert (order.status, order.workflow_state) == ("CREATED", CUSTOMER_WAIT)


def test_a_customer_start_with_ids_too_long_is_refused(one_place):
    with pytest.raises(ValidationException, match="orderId is longer than 64"):
        order_services.order_start(user_id="alice", order_id="o" * 65)
    with pytest.raises(ValidationException, match="userId is longer than 150"):
        order_services.order_start(user_id="u" * 151)
    assert not Execution.objects.exists()


def test_a_retried_start_returns_the_same_order(one_place):
    shop_config_update(changes={"max_orders_per_user": 1}, by="test")
    first = order_services.order_start(user_id="alice", order_id="client-chosen-1")
    # The answer was lost; the customer's page tries again with the same orderId.
    again = order_services.order_start(user_id="alice", order_id="client-chosen-1")
    assert again.pk == first.pk
    assert Order.objects.count() == 1 and Execution.objects.count() == 1
