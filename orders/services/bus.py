"""The coffee bar on the event bus: its own events (OrderManager, Validator, ConfigService) and the
live topics every event is published on.

The Event row is written in the caller's transaction and published after it commits, as the
workflow's own events are (stepfunctions.services.events), so a screen never hears of a change
that rolled back.
"""

import functools
from typing import Any

import redis
from django.conf import settings
from django.utils import timezone

from orders.models import Order
from stepfunctions.models import Event, Execution
from stepfunctions.services.events import events_build, events_save

BUS = "Serverlesspresso"
SOURCE = "awsserverlessda.serverlesspresso"

# Topics follow the original's realtime publisher: every event on the admin topic, an order's
# events on its customer's topic, config events on the config topic.
CHANNEL_PREFIX = "serverlesspresso"


def channel_prefix() -> str:
    """What every live topic starts with: the project's name and settings.REDIS_URL's database.

    Redis delivers a PUBLISH to the subscribers of every database on the server (pub/sub has no
    relation to the keyspace), so two systems sharing a Redis server on different databases
    (staging beside production, two coffee bars, a test run beside a benchmark) would otherwise
    show each other's orders on their screens, and flood each other's streams."""
    return _prefix(settings.REDIS_URL)


@functools.lru_cache(maxsize=8)
def _prefix(url: str) -> str:
    database = redis.ConnectionPool.from_url(url).connection_kwargs.get("db", 0)
    return f"{CHANNEL_PREFIX}:db{database}"


def admin_topic() -> str:
    return f"{channel_prefix()}:admin"


def config_topic() -> str:
    return f"{channel_prefix()}:config"


def user_topic(user_id: str) -> str:
    return f"{channel_prefix()}:user:{user_id}"


def event_topics(event: Event) -> list[str]:
    """The live topics of one event (registered with the engine by OrdersConfig.ready())."""
    topics = [admin_topic()]
    if event.detail_type.startswith("ConfigService."):
        topics.append(config_topic())
    user_id = event.detail.get("userId") if isinstance(event.detail, dict) else None
    if user_id:
        topics.append(user_topic(str(user_id)))
    return topics


def event_put(
    *, detail_type: str, detail: dict[str, Any], execution: Execution | None = None
) -> Event:
    """Saves one event now and publishes it on Redis after the transaction commits."""
    entry = {"EventBusName": BUS, "Source": SOURCE, "DetailType": detail_type, "Detail": detail}
    events = events_build([entry], execution=execution, time=timezone.now())
    events_save(events)
    return events[0]


def order_event_put(*, detail_type: str, order: Order, **detail: Any) -> Event:
    """Saves one event about `order` (its orderId, userId and number, and `detail`) under its
    execution, published after commit on the admin topic and its customer's topic: every open
    screen showing the order re-reads it."""
    return event_put(
        detail_type=detail_type,
        detail={
            "orderId": order.order_id,
            "userId": order.user_id,
            "orderNumber": order.order_number,
            **detail,
        },
        execution=order.execution,
    )
