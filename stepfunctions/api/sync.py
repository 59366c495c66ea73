"""StartSyncExecution: an EXPRESS run started and answered when it ends.

Two forms, as GetActivityTask has (api.polls): `start_sync_execution` here for OPERATIONS (the
WSGI path: the request thread waits for a run that pauses), and the async view of
api.sync_view, which the project's ASGI application routes the operation to by its
X-Amz-Target and which waits on the event loop. A run with no pause ends within the start
itself, in both.

botocore sends this operation to the host `sync-<endpoint host>` (the model's hostPrefix): a
client reaches it with a name whose `sync-` form resolves too, or with host prefix injection
off (README, "Express workflows").
"""

from typing import Any

from stepfunctions import services
from stepfunctions.api import shapes
from stepfunctions.models import Execution
from stepfunctions.services.express import (
    express_billed_milliseconds,
    express_sync_start,
    express_sync_wait,
)


def sync_start(members: dict[str, Any]) -> Execution:
    machine, version, qualifier = services.start_target(arn=members["stateMachineArn"])
    return express_sync_start(
        state_machine=machine,
        input=members.get("input", "{}"),
        name=members.get("name"),
        version=version,
        qualifier=qualifier,
    )


def sync_answer(members: dict[str, Any], execution: Execution) -> dict[str, Any]:
    return shapes.sync_execution(
        execution,
        billed_milliseconds=express_billed_milliseconds(execution),
        with_data=members.get("includedData", "ALL_DATA") == "ALL_DATA",
    )


def start_sync_execution(members: dict[str, Any]) -> dict[str, Any]:
    """The request-thread form: waits in the thread for a run that paused."""
    return sync_answer(members, express_sync_wait(execution=sync_start(members)))
