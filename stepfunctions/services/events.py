"""The event bus: PutEvents entries become Event rows, then live messages on Redis after commit.

The apps using the engine name each event's topics (stepfunctions.hooks.on_event_topics) and
follow the rows as they are written (stepfunctions.hooks.on_events).
"""

import json
import logging
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from stepfunctions import hooks
from stepfunctions.models import Event, Execution
from stepfunctions.models.bulk import rows_insert

logger = logging.getLogger(__name__)

_client: redis.Redis | None = None
_EVENT_FIELDS = ("id", "bus", "source", "detail_type", "detail", "time", "execution")


def events_build(
    entries: list[dict], *, execution: Execution | None, time: datetime
) -> list[Event]:
    """Unsaved Event rows for PutEvents entries (Detail may be an object or JSON text)."""
    events = []
    for entry in entries:
        detail: Any = entry.get("Detail", {})
        if isinstance(detail, str):
            detail = json.loads(detail)
        events.append(
            Event(
                bus=entry.get("EventBusName", "default"),
                source=entry["Source"],
                detail_type=entry["DetailType"],
                detail=detail,
                time=time,
                execution=execution,
            )
        )
    return events


def events_save(events: list[Event]) -> None:
    """Writes the rows in the caller's transaction, lets the apps follow them there, and publishes
    them once it commits, so a screen never hears of a change that rolled back."""
    rows_insert(Event, events, _EVENT_FIELDS)
    hooks.events_saved(events)
    transaction.on_commit(lambda: events_publish(events))


def event_message(event: Event) -> dict:
    """The EventBridge envelope, as subscribers of the original received it."""
    return {
        "version": "0",
        "id": str(event.id),
        "detail-type": event.detail_type,
        "source": event.source,
        "account": settings.AWS_ACCOUNT_ID,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "region": settings.AWS_REGION,
        "resources": [],
        "detail": event.detail,
    }


def redis_client() -> redis.Redis:
    """The Redis of live messages (settings.REDIS_URL), one client per process."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def events_publish(events: list[Event]) -> None:
    """Publishes committed events; a Redis outage loses only the live nudge, never the event row."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        for event in events:
            message = json.dumps(event_message(event))
            for topic in hooks.event_topics(event):
                pipe.publish(topic, message)
        pipe.execute()
    except redis.RedisError:
        logger.exception("Could not publish %d events to Redis", len(events))
