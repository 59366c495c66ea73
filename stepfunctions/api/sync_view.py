"""StartSyncExecution without a request thread: the async view the web server's ASGI
application routes the operation to (by its X-Amz-Target header: the project's asgi module).

The request goes through the endpoint's own checks (stepfunctions.api.protocol.request_read)
and the start (its first stages, in the process's shared sync thread), then a run that paused
is waited for on the event loop (stepfunctions.services.express.express_sync_wait_async).
"""

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from stepfunctions.api import protocol, sync
from stepfunctions.errors import ServiceError
from stepfunctions.services.express import express_sync_wait_async

OPERATION = "StartSyncExecution"
TARGET = protocol.TARGET_PREFIX + OPERATION


async def start_sync_execution_view(request: HttpRequest) -> HttpResponse:
    """The event-loop form: the endpoint's checks and the start in the process's shared sync
    thread, then a wait that holds no thread."""
    call = await sync_to_async(protocol.request_read)(request)
    if isinstance(call, HttpResponse):
        return call
    if call.name != OPERATION:  # any other operation routed here runs as the endpoint runs it
        return await sync_to_async(protocol.call_answer)(call)
    try:
        execution = await sync_to_async(sync.sync_start)(call.members)
        ended = await express_sync_wait_async(execution=execution)
        answer = await sync_to_async(sync.sync_answer)(call.members, ended)
    except ServiceError as error:
        return protocol.service_refusal(error)
    return protocol.answer(answer)
