"""Putting the coffee bar's own events (OrderManager, Validator, ConfigService) on the bus.

The Event row is written in the caller's transaction and published after it commits, as the
workflow's own events are (orders.services.stage), so a screen never hears of a change that rolled
back.
"""

from typing import Any

from django.utils import timezone

from orders.models import Event, Execution
from orders.services.events import events_build, events_save

BUS = "Serverlesspresso"
SOURCE = "awsserverlessda.serverlesspresso"


def event_put(
    *, detail_type: str, detail: dict[str, Any], execution: Execution | None = None
) -> Event:
    """Saves one event now and publishes it on Redis after the transaction commits."""
    entry = {"EventBusName": BUS, "Source": SOURCE, "DetailType": detail_type, "Detail": detail}
    events = events_build([entry], execution=execution, time=timezone.now())
    events_save(events)
    return events[0]
