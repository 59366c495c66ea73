"""The engine's test workflow: the seed's shape (two callback waits with heartbeats, Catch, Choice,
events) on two Lambda-style functions registered here through the engine's own resource registry,
so the engine's tests need no coffee bar.
"""

import itertools
import json
from pathlib import Path

import pytest
import redis

from stepfunctions import resources, services
from stepfunctions.services import deadlines

MACHINE_NAME = "CallbackWorkflow"
_DOCUMENT = Path(__file__).resolve().parent / "definitions" / f"{MACHINE_NAME}.asl.json"
_numbers = itertools.count(1)


def machine_document() -> dict:
    return json.loads(_DOCUMENT.read_text())


@resources.lambda_function("TestShopStatus")
def _shop_status(payload, invocation) -> dict:
    return {"storeOpen": True, "isCapacityAvailable": True}


@resources.lambda_function("TestOrderNumber")
def _order_number(payload, invocation) -> dict:
    return {"orderNumber": next(_numbers)}


@pytest.fixture
def machine(transactional_db):
    """The test workflow, stored as CallbackWorkflow; its order numbers count from 1 per test."""
    global _numbers
    _numbers = itertools.count(1)
    return services.state_machine_create(name=MACHINE_NAME, definition=machine_document())


@pytest.fixture
def deadline_redis(redis_url, settings):
    """The session's Redis with the deadline set emptied before and after, 50 ms buckets, and the
    process's memo of moments already added forgotten."""
    settings.WORKFLOW_DEADLINE_BUCKET_SECONDS = 0.05
    client = redis.Redis.from_url(redis_url)
    client.delete(deadlines.KEY)
    deadlines._added.clear()
    yield client
    client.delete(deadlines.KEY)
