"""The HTTP Task, `arn:aws:states:::http:invoke`, as AWS defines it, run on the task worker.

Parameters (AWS's): `ApiEndpoint` (an http or https URL), `Method` (GET, POST, PUT, DELETE,
PATCH, OPTIONS, HEAD), `Headers` and `QueryParameters` (objects), `RequestBody` (JSON, or a
string sent as it is), `Transform` (`RequestBodyEncoding`: NONE or URL_ENCODED, with
`RequestEncodingOptions.ArrayFormat`: INDICES (the default), REPEAT, COMMAS or BRACKETS) and
`Authentication.ConnectionArn` (stepfunctions.integrations.http_connections). Unlike AWS,
`Authentication` may be left out for a host that needs none.

The stage opens a task token for the wait and, after it commits, sends one message to the task
queue: the Celery-task runner (stepfunctions.integrations.celery_tasks) runs `http_call` in the
task worker, so the call never happens inside a stage's transaction, and closes the token with
its outcome (taken once, refused after the state's TimeoutSeconds, 256 KiB at most).

The result: `{"StatusCode", "StatusText", "Headers", "ResponseBody"}` (headers by lower-case name,
each a list of values; the body parsed when it is JSON, else its text). A status outside 2xx
fails the state with `States.Http.StatusCode.<code>` (the cause: the result as JSON); no answer
(refused, reset, TLS, no answer within 60 seconds as on AWS) is `States.Http.Socket`; the
state's TimeoutSeconds ends the call too, as `States.Timeout`. A host the setting refuses
(stepfunctions.integrations.http_hosts) is `Http.HostNotAllowed`.
"""

import json
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.utils import timezone

from stepfunctions import resources
from stepfunctions.integrations import http_connections
from stepfunctions.integrations.celery_tasks import (
    DATA_LIMIT,
    current_task_token,
    task_queue,
)
from stepfunctions.integrations.http_hosts import SOCKET, request
from stepfunctions.selectors import token_deadline
from stepfunctions.services.callbacks import MAX_CAUSE_LENGTH, MAX_OUTPUT_BYTES
from stepfunctions.services.task_messages import task_message_send
from stepfunctions.workflow import StatesError

HTTP_INVOKE = "arn:aws:states:::http:invoke"
# The Celery task the runner runs for it (registered in stepfunctions.tasks).
HTTP_TASK = "stepfunctions.tasks.http_invoke"
INVALID = http_connections.INVALID
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"})
ARRAY_FORMATS = frozenset({"INDICES", "REPEAT", "COMMAS", "BRACKETS"})
# AWS ends an HTTP Task's request after 60 seconds (States.Http.Socket).
MAX_REQUEST_SECONDS = 60.0


def _invalid(message: str) -> StatesError:
    return StatesError(INVALID, message)


def _object(parameters: dict, name: str) -> dict:
    value = parameters.get(name, {})
    if not isinstance(value, dict):
        raise _invalid(f"{name} must be an object")
    return value


def request_read(parameters: Any) -> dict:
    """The state's parameters, checked, as the message to the task worker carries them."""
    if not isinstance(parameters, dict):
        raise _invalid("Parameters must be an object")
    endpoint, method = parameters.get("ApiEndpoint"), parameters.get("Method")
    if not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in ("http", "https"):
        raise _invalid("ApiEndpoint must be an http or https URL")
    if not urlsplit(endpoint).hostname:
        raise _invalid("ApiEndpoint must name a host")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise _invalid(f"Method must be one of {', '.join(sorted(METHODS))}")
    headers = _object(parameters, "Headers")
    if not all(isinstance(value, str | int | float) for value in headers.values()):
        raise _invalid("Headers' values must be strings")
    transform = _object(parameters, "Transform")
    encoding = transform.get("RequestBodyEncoding", "NONE")
    options = transform.get("RequestEncodingOptions", {})
    array_format = options.get("ArrayFormat", "INDICES") if isinstance(options, dict) else None
    if encoding not in ("NONE", "URL_ENCODED") or array_format not in ARRAY_FORMATS:
        raise _invalid(
            "Transform.RequestBodyEncoding must be NONE or URL_ENCODED, and "
            "RequestEncodingOptions.ArrayFormat one of " + ", ".join(sorted(ARRAY_FORMATS))
        )
    authentication = parameters.get("Authentication")
    arn = None
    if authentication is not None:
        if not isinstance(authentication, dict):
            raise _invalid("Authentication must be an object")
        arn = authentication.get("ConnectionArn")
        http_connections.connection_arn_check(arn)
    return {
        "ApiEndpoint": endpoint,
        "Method": method.upper(),
        "Headers": {str(name): str(value) for name, value in headers.items()},
        "QueryParameters": _object(parameters, "QueryParameters"),
        "RequestBody": parameters.get("RequestBody"),
        "RequestBodyEncoding": encoding,
        "ArrayFormat": array_format,
        "ConnectionArn": arn,
    }


def _http_invoke(parameters: Any, invocation: resources.Invocation) -> None:
    """In the stage: checks the parameters and sends the call to the task queue after commit
    (the interpreter opened the token the state waits on: RESPONSE_RESOURCES)."""
    message = request_read(parameters)
    # Through the runner's outbox, as a celery:task.sync state's: sent again if the broker loses it.
    task_message_send(
        execution=invocation.execution, token=invocation.token, task=HTTP_TASK, args=[message],
        kwargs={}, queue=task_queue(), task_id=str(uuid.uuid4()),
    )  # fmt: skip


# --- in the task worker ----------------------------------------------------------------------------
def _pairs(name: str, value: Any, array_format: str) -> list[tuple[str, str]]:
    """A value as form pairs: arrays in the chosen format, objects as name[key]."""

    def text(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        return item if isinstance(item, str) else json.dumps(item)

    if isinstance(value, dict):
        return [pair for key, item in value.items()
                for pair in _pairs(f"{name}[{key}]", item, array_format)]  # fmt: skip
    if not isinstance(value, list):
        return [(name, text(value))]
    if array_format == "COMMAS":
        return [(name, ",".join(text(item) for item in value))]
    if array_format == "REPEAT":
        return [(name, text(item)) for item in value]
    if array_format == "BRACKETS":
        return [(f"{name}[]", text(item)) for item in value]
    return [(f"{name}[{index}]", text(item)) for index, item in enumerate(value)]


def _body(message: dict, headers: dict[str, str]) -> bytes | None:
    body = message["RequestBody"]
    if body is None:
        return None
    names = {name.lower() for name in headers}
    if message["RequestBodyEncoding"] == "URL_ENCODED" and isinstance(body, dict):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        pairs = [pair for key, value in body.items()
                 for pair in _pairs(key, value, message["ArrayFormat"])]  # fmt: skip
        return urlencode(pairs).encode()
    if isinstance(body, str):
        return body.encode()
    if "content-type" not in names:
        headers["Content-Type"] = "application/json"
    return json.dumps(body, ensure_ascii=False).encode()


def _url(message: dict) -> str:
    query = message["QueryParameters"]
    if not query:
        return message["ApiEndpoint"]
    pairs = [pair for key, value in query.items() for pair in _pairs(key, value, "REPEAT")]
    parts = urlsplit(message["ApiEndpoint"])
    joined = "&".join(part for part in (parts.query, urlencode(pairs)) if part)
    return urlunsplit(parts._replace(query=joined))


def _response_body(body: bytes, headers: dict[str, list[str]]) -> Any:
    content_type = (headers.get("content-type") or [""])[0].lower()
    charset = "utf-8"
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";", 1)[0].strip() or charset
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def _seconds_left(deadline: datetime | None) -> float:
    """How long the call may take: AWS's 60 seconds, or less when the state's deadline (its
    TimeoutSeconds) comes first; past the deadline, an answer would be refused anyway."""
    if deadline is None:
        return MAX_REQUEST_SECONDS
    return min(max((deadline - timezone.now()).total_seconds(), 0.001), MAX_REQUEST_SECONDS)


def _past(deadline: datetime | None) -> None:
    """Waits out the last moments before the state's deadline (a socket's timer may fire a few
    milliseconds early): the call's failure is then refused as late, and the token sweep ends
    the state with States.Timeout, as AWS's TimeoutSeconds does."""
    if deadline is not None:
        left = (deadline - timezone.now()).total_seconds()
        if 0 < left <= 1:
            time.sleep(left + 0.01)


def http_call(message: dict) -> dict:
    """Makes the call `message` (request_read's) describes for the Task state whose token runs
    it (current_task_token), and returns the state's result; raises StatesError as the state's
    error. The connection's secrets go into the request's headers only."""
    token = current_task_token()
    deadline = token_deadline(token=token) if token else None
    timeout = _seconds_left(deadline)
    started = time.monotonic()
    headers = dict(message["Headers"])
    body = _body(message, headers)
    connection = secret_headers = None
    if message["ConnectionArn"]:
        connection = http_connections.connection_find(message["ConnectionArn"])
        secret_headers = http_connections.authorization_headers(
            connection, deadline=started + timeout
        )
    try:
        answer = request(
            message["Method"], _url(message), headers=headers, body=body,
            secret_headers=secret_headers or {},
            timeout=max(started + timeout - time.monotonic(), 0.001), max_bytes=MAX_OUTPUT_BYTES,
        )  # fmt: skip
    except StatesError as error:
        if error.error == SOCKET:
            _past(deadline)
        raise
    if answer.truncated:
        raise StatesError(
            DATA_LIMIT, f"The response body is larger than {MAX_OUTPUT_BYTES} bytes, the maximum"
        )
    result = {
        "StatusCode": answer.status,
        "StatusText": answer.reason,
        "Headers": answer.headers,
        "ResponseBody": _response_body(answer.body, answer.headers),
    }
    if answer.status == 401 and connection is not None:
        http_connections.oauth_token_forget(connection)
    if not 200 <= answer.status < 300:
        cause = json.dumps(result, ensure_ascii=False)
        raise StatesError(f"States.Http.StatusCode.{answer.status}", cause[:MAX_CAUSE_LENGTH])
    return result


def register() -> None:
    """Registers the HTTP Task's resource (called once, from stepfunctions.apps)."""
    resources.resource(HTTP_INVOKE)(_http_invoke)
