"""TestState: one state run on its own (workflow.interpreter.inspect), its answer shaped as AWS's.

`roleArn` and `revealSecrets` are accepted and ignored: no IAM role is assumed and no resource is
called (a Task, Map or Parallel state needs a `mock`), so there is no secret to reveal. TRACE
shows what DEBUG shows: the HTTP request and response it adds on AWS come from a call this
engine does not make. `mock.fieldValidationMode` is accepted; a mocked result is checked as
JSON, not against the AWS service's API model (none is kept here).
"""

from typing import Any

from django.conf import settings
from django.utils import timezone

from stepfunctions.errors import InvalidDefinition, InvalidExecutionInput, ValidationException
from stepfunctions.workflow import DefinitionError, JsonRefused, StatesError, json_read
from stepfunctions.workflow.diagnostics import definition_error
from stepfunctions.workflow.interpreter.inspect import (
    Mock,
    StateTestRefused,
    StateTestResult,
    state_pick,
    state_test,
)
from stepfunctions.workflow.paths import to_json

Members = dict[str, Any]
# The inspection data AWS gives as JSON text (the rest are numbers or objects).
_JSON_MEMBERS = (
    "input",
    "afterArguments",
    "afterInputPath",
    "afterParameters",
    "result",
    "afterResultSelector",
    "afterResultPath",
    "variables",
    "afterItemsPath",
    "afterItemSelector",
)
_NUMBER_MEMBERS = ("toleratedFailureCount", "toleratedFailurePercentage", "maxConcurrency")


def _json_member(members: Members, name: str, *, default: Any, error: type = ValidationException):
    if name not in members:
        return default
    try:
        return json_read(members[name])
    except JsonRefused as refused:
        if error is InvalidExecutionInput:
            message = f"Invalid State Machine Execution Input: '{refused}'"
            raise InvalidExecutionInput(message) from None
        raise ValidationException(f"Invalid '{name}': not JSON text: {refused}") from None


def _object_member(members: Members, name: str) -> dict:
    value = _json_member(members, name, default={})
    if not isinstance(value, dict):
        raise ValidationException(f"Invalid '{name}': must be a JSON object")
    return value


def _mock(members: Members) -> Mock | None:
    given = members.get("mock")
    if given is None:
        return None
    if not isinstance(given, dict):
        raise ValidationException("Invalid 'mock': must be an object")
    result, error = given.get("result"), given.get("errorOutput")
    if (result is None) == (error is None):
        raise ValidationException("A mock gives either 'result' or 'errorOutput', not both")
    mode = given.get("fieldValidationMode", "STRICT")
    if mode not in ("STRICT", "PRESENT", "NONE"):
        raise ValidationException(
            f"Invalid 'mock.fieldValidationMode': '{mode}' is not STRICT, PRESENT or NONE"
        )
    if error is not None:
        if not isinstance(error, dict) or not all(
            isinstance(error.get(k), str | None) for k in ("error", "cause")
        ):
            raise ValidationException("Invalid 'mock.errorOutput': error and cause are strings")
        return Mock(error=StatesError(error.get("error"), error.get("cause")))
    if not isinstance(result, str):
        raise ValidationException("Invalid 'mock.result': must be JSON text")
    return Mock(result=_json_member({"mock.result": result}, "mock.result", default=None))


def _context(members: Members, input: Any, now: Any, mock: Mock | None) -> dict:
    """The context object: a test execution's, or the one `context` gives (with a mock only)."""
    home = f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}"
    context = {
        "Execution": {
            "Id": f"{home}:execution:TestStateMachine:TestState",
            "Input": input,
            "Name": "TestState",
            "StartTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            **({"RoleArn": members["roleArn"]} if "roleArn" in members else {}),
        },
        "StateMachine": {"Id": f"{home}:stateMachine:TestStateMachine", "Name": "TestStateMachine"},
    }
    if "context" in members:
        if mock is None:
            raise ValidationException("'context' may be given only with a 'mock'")
        context.update(_object_member(members, "context"))
    return context


def test_state(members: Members) -> Members:
    try:
        definition = json_read(members["definition"])
    except JsonRefused as refused:
        raise InvalidDefinition(f"Invalid State Machine Definition: '{refused}'") from None
    if not isinstance(definition, dict):
        raise InvalidDefinition("Invalid State Machine Definition: must be a JSON object")
    input = _json_member(members, "input", default={}, error=InvalidExecutionInput)
    variables = _object_member(members, "variables")
    mock = _mock(members)
    now = timezone.now()
    configuration = members.get("stateConfiguration") or {}
    retry_count = (
        configuration.get("retrierRetryCount", 0) if isinstance(configuration, dict) else 0
    )
    if not isinstance(retry_count, int) or isinstance(retry_count, bool) or retry_count < 0:
        raise ValidationException(
            "Invalid 'stateConfiguration.retrierRetryCount': must be an integer of 0 or more"
        )
    try:
        state, scope = state_pick(definition, members.get("stateName"))
        result = state_test(
            state,
            scope,
            input,
            context=_context(members, input, now, mock),
            now=now,
            variables=variables,
            mock=mock,
            retry_count=retry_count,
        )
    except DefinitionError as error:
        diagnostic = definition_error(error)
        where = f" at {diagnostic.location}" if diagnostic.location else ""
        raise InvalidDefinition(
            f"Invalid State Machine Definition: '{diagnostic.code}: {diagnostic.message}{where}'"
        ) from None
    except StateTestRefused as refused:
        raise ValidationException(str(refused)) from None
    return _answer(result, members.get("inspectionLevel", "INFO"))


def _answer(result: StateTestResult, level: str) -> Members:
    answer: Members = {"status": result.status}
    if result.has_output:
        answer["output"] = to_json(result.output)
    for key, value in (("error", result.error), ("cause", result.cause)):
        if value is not None:
            answer[key] = value
    if result.next_state is not None:
        answer["nextState"] = result.next_state
    if level in ("DEBUG", "TRACE"):
        found = result.inspection
        data: Members = {k: to_json(found[k]) for k in _JSON_MEMBERS if k in found}
        data |= {k: found[k] for k in _NUMBER_MEMBERS if k in found}
        if "errorDetails" in found:
            data["errorDetails"] = found["errorDetails"]
        answer["inspectionData"] = data
    return answer
