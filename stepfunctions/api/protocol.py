"""The one view that speaks Step Functions' JSON protocol (awsJson1_0), as boto3 and the CLI do.

Order of checks: body size, signature, operation, permission, rate limit, JSON, members; a request refused at
any step changes nothing. Nothing here logs a body or a header, so no task token reaches a log.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from stepfunctions.api import (
    activities,
    map_runs,
    operations,
    redrive,
    sync,
    tags,
    test_state,
    validation,
    versions,
)
from stepfunctions.api.encoding import SerializationException, answer_encode, members_validate
from stepfunctions.api.sigv4 import AuthError, signature_verify
from stepfunctions.errors import ServiceError
from stepfunctions.services.access_keys import access_key_permitted, access_key_touch
from stepfunctions.services.rate_limits import RateLimited, rate_limit_hit
from stepfunctions.workflow import JsonRefused, json_read

logger = logging.getLogger(__name__)
TARGET_PREFIX = "AWSStepFunctions."
CONTENT_TYPE = "application/x-amz-json-1.0"
# botocore keeps what follows '#' as the error code; these prefixes are the ones AWS sends.
_SERVICE_ERROR = "com.amazonaws.swf.service.v2.model#"
_FRONT_END_ERROR = "com.amazon.coral.service#"
_AVAILABILITY_ERROR = "com.amazon.coral.availability#"


@dataclass(frozen=True)
class Operation:
    call: Callable[[dict[str, Any]], dict[str, Any]]
    # The permission the key's user needs (stepfunctions.AccessKey's Meta), without the app label.
    permission: str


_START, _CALLBACK = "sfn_start_executions", "sfn_send_callbacks"
_MANAGE, _READ = "sfn_manage_state_machines", "sfn_read"
_ACTIVITIES = "sfn_run_activities"
OPERATIONS: dict[str, Operation] = {
    "SendTaskSuccess": Operation(operations.send_task_success, _CALLBACK),
    "SendTaskFailure": Operation(operations.send_task_failure, _CALLBACK),
    "SendTaskHeartbeat": Operation(operations.send_task_heartbeat, _CALLBACK),
    "StartExecution": Operation(operations.start_execution, _START),
    "StopExecution": Operation(operations.stop_execution, _START),
    "DescribeExecution": Operation(operations.describe_execution, _READ),
    "ListExecutions": Operation(operations.list_executions, _READ),
    "GetExecutionHistory": Operation(operations.get_execution_history, _READ),
    "CreateStateMachine": Operation(operations.create_state_machine, _MANAGE),
    "UpdateStateMachine": Operation(operations.update_state_machine, _MANAGE),
    "DeleteStateMachine": Operation(operations.delete_state_machine, _MANAGE),
    "DescribeStateMachine": Operation(operations.describe_state_machine, _READ),
    "ListStateMachines": Operation(operations.list_state_machines, _READ),
    "PublishStateMachineVersion": Operation(versions.publish_state_machine_version, _MANAGE),
    "ListStateMachineVersions": Operation(versions.list_state_machine_versions, _READ),
    "DeleteStateMachineVersion": Operation(versions.delete_state_machine_version, _MANAGE),
    "CreateStateMachineAlias": Operation(versions.create_state_machine_alias, _MANAGE),
    "DescribeStateMachineAlias": Operation(versions.describe_state_machine_alias, _READ),
    "UpdateStateMachineAlias": Operation(versions.update_state_machine_alias, _MANAGE),
    "DeleteStateMachineAlias": Operation(versions.delete_state_machine_alias, _MANAGE),
    "ListStateMachineAliases": Operation(versions.list_state_machine_aliases, _READ),
    "DescribeStateMachineForExecution": Operation(
        versions.describe_state_machine_for_execution, _READ
    ),
    "TagResource": Operation(tags.tag_resource, _MANAGE),
    "UntagResource": Operation(tags.untag_resource, _MANAGE),
    "ListTagsForResource": Operation(tags.list_tags_for_resource, _READ),
    # It reads nothing of the account's, but answers what CreateStateMachine would refuse.
    "ValidateStateMachineDefinition": Operation(
        validation.validate_state_machine_definition, _READ
    ),
    "CreateActivity": Operation(activities.create_activity, _MANAGE),
    "DeleteActivity": Operation(activities.delete_activity, _MANAGE),
    "DescribeActivity": Operation(activities.describe_activity, _READ),
    "ListActivities": Operation(activities.list_activities, _READ),
    # A worker's long poll; the web server's ASGI path runs it without a thread (api.polls).
    "GetActivityTask": Operation(activities.get_activity_task, _ACTIVITIES),
    # One state on its own, mocked: it reads and runs nothing of the account's.
    "TestState": Operation(test_state.test_state, _READ),
    # A distributed Map's map runs: read as executions are, updated as a stop changes one.
    "ListMapRuns": Operation(map_runs.list_map_runs, _READ),
    "DescribeMapRun": Operation(map_runs.describe_map_run, _READ),
    "UpdateMapRun": Operation(map_runs.update_map_run, _START),
    # Runs a stopped execution again: a start's permission, as StopExecution's.
    "RedriveExecution": Operation(redrive.redrive_execution, _START),
    # An EXPRESS run answered when it ends; the ASGI path waits without a thread (api.sync_view).
    "StartSyncExecution": Operation(sync.start_sync_execution, _START),
}
# Operations counted against a rate limit per key (settings.RATE_LIMITS).
_THROTTLED = {
    "SendTaskSuccess": "sfn-callbacks",
    "SendTaskFailure": "sfn-callbacks",
    "SendTaskHeartbeat": "sfn-callbacks",
    "StartExecution": "sfn-starts",
    "StartSyncExecution": "sfn-starts",
}


def _answer(body: bytes, status: int = 200) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPE)
    response["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


def _refuse(
    code: str,
    message: str,
    *,
    prefix: str = _FRONT_END_ERROR,
    status: int = 400,
    members: dict[str, str] | None = None,
):
    body = {"__type": prefix + code, "message": message, **(members or {})}
    return _answer(answer_encode(body), status)


def service_unavailable(message: str, *, retry_after: int) -> HttpResponse:
    """What AWS answers when it cannot serve the request now: 503 ServiceUnavailable, with
    Retry-After. botocore retries a 503 in every retry mode, so a client's call goes on."""
    response = _refuse("ServiceUnavailable", message, prefix=_AVAILABILITY_ERROR, status=503)
    response["Retry-After"] = str(retry_after)
    return response


def _authenticate(request: HttpRequest, body: bytes, permission: str | None) -> Any:
    """The access key; None for an unsigned request when SFN_ALLOW_ANONYMOUS lets it in. The
    operation's `permission` is read with the key (one query), not checked here."""
    if settings.SFN_ALLOW_ANONYMOUS and "Authorization" not in request.headers:
        return None
    key = signature_verify(
        method=request.method,
        path=request.path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers=request.headers,
        body=body,
        permission=permission,
    )
    access_key_touch(access_key=key)
    return key


def _throttled(name: str, request: HttpRequest, key: Any) -> HttpResponse | None:
    """ThrottlingException (HTTP 400, as AWS answers; boto3's retry backs off) once the key, or
    an unsigned caller's address, is past the operation's rate limit."""
    scope = _THROTTLED.get(name)
    if scope is None:
        return None
    who = key.access_key_id if key is not None else request.META.get("REMOTE_ADDR", "")
    try:
        rate_limit_hit(scope=scope, who=who)
    except RateLimited:
        return _refuse("ThrottlingException", "Rate exceeded", prefix=_AVAILABILITY_ERROR)
    return None


@dataclass(frozen=True)
class Call:
    """A request that passed every check: its operation and its members."""

    name: str
    operation: Operation
    members: dict[str, Any]


def request_read(request: HttpRequest) -> Call | HttpResponse:
    """The request's operation and members, or the refusal it gets (nothing changed)."""
    if request.method != "POST":
        return _refuse(
            "UnknownOperationException", "The Step Functions API takes POST only", status=405
        )
    limit = settings.SFN_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 <= length <= limit:
        return _refuse(
            "ValidationException",
            f"The request body must be at most {limit} bytes",
            prefix=_SERVICE_ERROR,
        )
    body = request.body
    target = request.headers.get("X-Amz-Target", "")
    name = target.removeprefix(TARGET_PREFIX)
    operation = OPERATIONS.get(name) if target.startswith(TARGET_PREFIX) else None
    try:
        key = _authenticate(request, body, operation.permission if operation else None)
    except AuthError as error:
        return _refuse(error.code, error.message)

    if operation is None:
        shown = f"'{target}'" if target else "no X-Amz-Target header"
        return _refuse(
            "UnknownOperationException",
            f"Unknown operation: {shown}; this endpoint serves "
            f"{', '.join(TARGET_PREFIX + n for n in OPERATIONS)}",
        )
    if key is not None and not access_key_permitted(
        access_key=key, permission=operation.permission
    ):
        return _refuse(
            "AccessDeniedException",
            f"User: {key.user.get_username()} is not authorized to perform: states:{name} "
            f"(needs the stepfunctions.{operation.permission} permission)",
        )
    throttled = _throttled(name, request, key)
    if throttled is not None:
        return throttled

    try:
        # Strings are checked member by member (members_validate), naming the member.
        members = json_read(body or b"{}", strings=False)
    except JsonRefused as error:
        return _refuse("SerializationException", f"The request body is not valid JSON: {error}")
    if not isinstance(members, dict):
        return _refuse("SerializationException", "The request body must be a JSON object")
    try:
        return Call(name, operation, members_validate(operation=name, body=members))
    except ServiceError as error:
        return service_refusal(error)


def service_refusal(error: ServiceError) -> HttpResponse:
    """A service's refusal as AWS answers it."""
    prefix = _FRONT_END_ERROR if isinstance(error, SerializationException) else _SERVICE_ERROR
    return _refuse(
        error.code, error.message, prefix=prefix, status=error.http_status, members=error.members
    )


def answer(members: dict[str, Any]) -> HttpResponse:
    return _answer(answer_encode(members))


def call_answer(call: Call) -> HttpResponse:
    """Runs the operation: its answer, or the service's refusal."""
    try:
        return answer(call.operation.call(call.members))
    except ServiceError as error:
        return service_refusal(error)


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    call = request_read(request)
    return call if isinstance(call, HttpResponse) else call_answer(call)
