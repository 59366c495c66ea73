"""GetActivityTask without a request thread: the async view the web server's ASGI application
routes a worker's long poll to (by its X-Amz-Target header: the project's asgi module).

The request goes through the endpoint's own checks (signature, permission, JSON, members:
stepfunctions.api.protocol.request_read, a moment of the process's shared sync thread), then
waits on the event loop (stepfunctions.services.activity_polls) for a task or the poll's end.
"""

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse

from stepfunctions.api import protocol
from stepfunctions.errors import ServiceError
from stepfunctions.services.activities import activity_get
from stepfunctions.services.activity_polls import activity_task_wait

OPERATION = "GetActivityTask"
TARGET = protocol.TARGET_PREFIX + OPERATION


async def get_activity_task(request: HttpRequest) -> HttpResponse:
    call = await sync_to_async(protocol.request_read)(request)
    if isinstance(call, HttpResponse):
        return call
    if call.name != OPERATION:  # any other operation routed here runs as the endpoint runs it
        return await sync_to_async(protocol.call_answer)(call)
    try:
        activity = await sync_to_async(activity_get)(arn=call.members["activityArn"])
        task = await activity_task_wait(
            activity=activity, worker_name=call.members.get("workerName", "")
        )
    except ServiceError as error:
        return protocol.service_refusal(error)
    return protocol.answer(task or {})
