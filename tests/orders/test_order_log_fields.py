"""The coffee bar's log fields for the engine (orders.services.orders.order_log_fields): the
order an execution runs, read from the execution's name that order_start gives it."""

import pytest

from orders.services import orders as order_services
from orders.services.orders import order_log_fields
from orders.services.shop_config import shop_config_update


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("order-3f2a9c", {"order_id": "3f2a9c"}),
        ("order-order-1", {"order_id": "order-1"}),
        ("order-", {}),
        ("order", {}),
        ("nightly-report", {}),
        ("Order-3f2a9c", {}),
        ("", {}),
    ],
)
def test_an_execution_name_gives_its_order(name, fields):
    assert order_log_fields(name) == fields


def test_the_execution_order_start_names_gives_its_order_id(inline_stages):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    execution = order_services.order_start(user_id="alice", order_id="a-1b2c")
    assert order_log_fields(execution.name) == {"order_id": "a-1b2c"}
