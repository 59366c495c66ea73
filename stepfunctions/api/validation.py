"""ValidateStateMachineDefinition: the checks CreateStateMachine makes, as diagnostics."""

from typing import Any

from stepfunctions.services.state_machines import definition_diagnose
from stepfunctions.workflow.diagnostics import ERROR

Members = dict[str, Any]


def validate_state_machine_definition(members: Members) -> Members:
    """`result` is FAIL when an ERROR was found (CreateStateMachine would answer
    InvalidDefinition); WARNINGs are listed only when `severity` is WARNING, as AWS lists them;
    at most `maxResults` diagnostics (100 when 0 or absent), `truncated` saying more were found."""
    _, found = definition_diagnose(definition=members["definition"])
    if members.get("severity", ERROR) == ERROR:
        found = [d for d in found if d.severity == ERROR]
    limit = members.get("maxResults") or 100
    diagnostics = [
        {
            "severity": d.severity,
            "code": d.code,
            "message": d.message,
            **({"location": d.location} if d.location else {}),
        }
        for d in found[:limit]
    ]
    return {
        "result": "FAIL" if any(d.severity == ERROR for d in found) else "OK",
        "diagnostics": diagnostics,
        "truncated": len(found) > limit,
    }
