"""The coffee bar's fixtures: its own workflow, as migrate stored it from the repository's file;
a customer (alice) and a barista (bob) logged in through Django's test client."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from orders.services.barista import barista_grant
from orders.services.order_processor import ORDER_PROCESSOR
from orders.services.shop_config import shop_config_update
from stepfunctions import services


@pytest.fixture
def order_processor(transactional_db):
    return services.state_machine_get(arn_or_name=ORDER_PROCESSOR)


@pytest.fixture
def alice(client, inline_stages):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    user = User.objects.create_user("alice", password="pw-alice-123")
    client.force_login(user)
    return user


@pytest.fixture
def barista_client(alice):
    barista = User.objects.create_user("bob", password="pw-bob-123")
    barista_grant(user=barista)
    other = Client()
    other.force_login(barista)
    return other
