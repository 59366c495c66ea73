"""The Task resources the workflow may name, mapped to Python code.

The engine registers the generic ones (the event bus, `lambda:invoke`); an app registers its own
in its AppConfig.ready(), with `resource(arn)(handler)` or `lambda_function(name)(handler)`. A
definition naming a resource that is not registered is refused on load. Handlers run inside
the stage's transaction, so what they write commits (or rolls back) with the state change.
`lambda:invoke` dispatches on FunctionName to the functions registered with `lambda_function`.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stepfunctions.workflow import JsonRefused, StatesError, json_read

PUT_EVENTS = "arn:aws:states:::events:putEvents"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
CALLBACK_SUFFIX = ".waitForTaskToken"


@dataclass(frozen=True)
class Invocation:
    """What a handler may know about the call: whose execution, which state, which token."""

    execution: Any  # stepfunctions.models.Execution, locked by the running stage
    state_name: str
    token: str | None
    emit: Callable[[list[dict]], list[str]]  # puts event entries; returns their ids
    # What a handler keeps for the other stages of the same transaction (a batch of stages):
    # a row it locked and read, a count it made. Shared by every handler of the batch (key it by
    # the handler's own name) and dropped when the batch's transaction ends.
    batch: dict = field(default_factory=dict)
    # The Resource ARN the state names (a handler registered for a family of ARNs reads it).
    resource: str = ""
    # Columns a handler sets on the task token row of the wait it opens (an activity's task).
    token_fields: dict = field(default_factory=dict)


Handler = Callable[[Any, Invocation], Any]
_resources: dict[str, Handler] = {}
_functions: dict[str, Handler] = {}
# Handlers of a family of ARNs (an Activity's: one ARN per activity), by the pattern they match.
_families: list[tuple[re.Pattern, Handler]] = []


def resource(arn: str) -> Callable[[Handler], Handler]:
    """Registers a handler for a Resource ARN (and its .waitForTaskToken form)."""

    def register(handler: Handler) -> Handler:
        _resources[arn] = handler
        return handler

    return register


def resource_family(pattern: re.Pattern) -> Callable[[Handler], Handler]:
    """Registers a handler for every Resource ARN `pattern` matches (it reads the ARN from
    `Invocation.resource`); an exact registration of `resource` wins over a family."""

    def register(handler: Handler) -> Handler:
        if (pattern, handler) not in _families:
            _families.append((pattern, handler))
        return handler

    return register


def lambda_function(name: str) -> Callable[[Handler], Handler]:
    """Registers a handler for `lambda:invoke` with this FunctionName (or a function ARN ending so)."""

    def register(handler: Handler) -> Handler:
        _functions[name] = handler
        return handler

    return register


def _base(arn: str) -> str:
    return arn.removesuffix(CALLBACK_SUFFIX)


def _handler(arn: str) -> Handler | None:
    handler = _resources.get(_base(arn))
    if handler is None:
        handler = next((h for pattern, h in _families if pattern.match(arn)), None)
    return handler


def resource_known(arn: str) -> bool:
    return _handler(arn) is not None


def invoke(arn: str, parameters: Any, invocation: Invocation) -> Any:
    """Runs the resource's handler. Errors from handlers reach the workflow as StatesError."""
    handler = _handler(arn)
    if handler is None:
        raise StatesError("States.Runtime", f"Resource {arn!r} is not registered")
    return handler(parameters, invocation)


@resource(LAMBDA_INVOKE)
def _lambda_invoke(parameters: Any, invocation: Invocation) -> dict:
    if not isinstance(parameters, dict) or not isinstance(parameters.get("FunctionName"), str):
        raise StatesError("Lambda.InvalidParameterValueException", "FunctionName is required")
    name = parameters["FunctionName"].rsplit(":function:", 1)[-1].split(":", 1)[0]
    handler = _functions.get(name)
    if handler is None:
        raise StatesError("Lambda.ResourceNotFoundException", f"Function not found: {name}")
    payload = handler(parameters.get("Payload", {}), invocation)
    # The shape lambda:invoke gives, so definitions written for AWS read `$.Payload` unchanged.
    return {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}


# EventBridge's per-entry errors, worded as PutEvents answers them.
_REQUIRED = "Parameter {0} is not valid. Reason: {0} is a required argument."
_MALFORMED_DETAIL = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
# What the event store holds (stepfunctions.models.Event); a longer value cannot be put.
_MAX_LENGTHS = {"EventBusName": 256, "Source": 256, "DetailType": 128}


def _entry_checked(entry: Any) -> tuple[dict | None, dict | None]:
    """(the entry with Detail as an object, None) when EventBridge would take it, else (None,
    the failed result entry EventBridge gives: InvalidArgument or MalformedDetail)."""
    if not isinstance(entry, dict):
        return None, _invalid("Entry", "must be an object")
    for member in ("Source", "DetailType", "Detail"):
        if entry.get(member) in (None, ""):
            return None, {"ErrorCode": "InvalidArgument", "ErrorMessage": _REQUIRED.format(member)}
    for member, maximum in _MAX_LENGTHS.items():
        value = entry.get(member, "default")
        if not isinstance(value, str):
            return None, _invalid(member, "must be a string")
        if len(value) > maximum:
            return None, _invalid(member, f"must be at most {maximum} characters long")
    detail = entry["Detail"]
    if isinstance(detail, str):
        try:
            detail = json_read(detail)
        except JsonRefused:
            return None, dict(_MALFORMED_DETAIL)
    if not isinstance(detail, dict):
        return None, dict(_MALFORMED_DETAIL)
    return {**entry, "Detail": detail}, None


def _invalid(member: str, reason: str) -> dict:
    message = f"Parameter {member} is not valid. Reason: {member} {reason}."
    return {"ErrorCode": "InvalidArgument", "ErrorMessage": message}


@resource(PUT_EVENTS)
def _put_events(parameters: Any, invocation: Invocation) -> dict:
    """Puts the entries EventBridge would take, as EventBridge does, and answers its response.

    As the optimized integration does on AWS, a response with failed entries fails the task with
    EventBridge.FailedEntry, its cause the response's JSON; the entries that were valid are put
    all the same (EventBridge processes every entry of a request)."""
    entries = parameters.get("Entries") if isinstance(parameters, dict) else None
    if not isinstance(entries, list) or not entries:
        raise StatesError("EventBridge.ValidationException", "Entries must be a non-empty list")
    checked = [_entry_checked(entry) for entry in entries]
    ids = iter(invocation.emit([entry for entry, _ in checked if entry is not None]))
    results = [{"EventId": next(ids)} if failure is None else failure for _, failure in checked]
    failed = sum(failure is not None for _, failure in checked)
    response = {"Entries": results, "FailedEntryCount": failed}
    if failed:
        raise StatesError("EventBridge.FailedEntry", json.dumps(response, separators=(",", ":")))
    return response


def resources_registered() -> list[str]:
    """The Resource ARNs registered one by one (families match patterns: not listed), sorted."""
    return sorted(_resources)
