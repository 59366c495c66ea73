"""RedriveExecution, and the redrive members of DescribeExecution and ListExecutions."""

from typing import Any

from django.db.models import QuerySet

from stepfunctions import selectors, services
from stepfunctions.errors import ValidationException

Members = dict[str, Any]
REDRIVE_FILTERS = ("REDRIVEN", "NOT_REDRIVEN")


def redrive_execution(members: Members) -> Members:
    execution = selectors.execution_get(arn=members["executionArn"], with_version=False)
    date = services.execution_redrive(execution=execution, client_token=members.get("clientToken"))
    return {"redriveDate": date}


def redrive_filtered(executions: QuerySet, value: str | None) -> QuerySet:
    """ListExecutions' redriveFilter: executions redriven at least once, or never."""
    if value is None:
        return executions
    if value not in REDRIVE_FILTERS:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'redriveFilter' failed to "
            f"satisfy constraint: Member must satisfy enum value set: {list(REDRIVE_FILTERS)}"
        )
    if value == "REDRIVEN":
        return executions.filter(redrive_count__gt=0)
    return executions.filter(redrive_count=0)
