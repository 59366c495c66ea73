"""The coffee bar's fixtures: its own workflow, as migrate stored it from the repository's file."""

import pytest

from orders.services.order_processor import ORDER_PROCESSOR
from stepfunctions import services


@pytest.fixture
def order_processor(transactional_db):
    return services.state_machine_get(arn_or_name=ORDER_PROCESSOR)
