"""The ARNs this service answers to: well formed, and in its own region and account.

An ARN that is not shaped like one is InvalidArn. A well-formed ARN of another region is InvalidArn
too (a regional endpoint never serves another region's resources); one of another account names
nothing this account holds, so the caller hears that it does not exist.
"""

import re

from django.conf import settings

from stepfunctions.errors import InvalidArn, ServiceError

_HOME = r"^arn:aws:states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
MACHINE_ARN_RE = re.compile(_HOME + r"stateMachine:(?P<machine>[^:]+)$")
# A machine's ARN with a version number (`:3`) or an alias name (`:prod`) after it, or without.
QUALIFIED_MACHINE_ARN_RE = re.compile(
    _HOME + r"stateMachine:(?P<machine>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)
# Any resource of this region and account, by kind (stateMachine, activity) and name: what tags
# are kept by.
RESOURCE_ARN_RE = re.compile(_HOME + r"(?P<kind>[A-Za-z]+):(?P<name>[^:]+)$")
EXECUTION_ARN_RE = re.compile(_HOME + r"execution:(?P<machine>[^:]+):(?P<name>[^:]+)$")
ACTIVITY_ARN_RE = re.compile(_HOME + r"activity:(?P<name>[^:]+)$")
# An EXPRESS run's ARN (express:<machine>:<name>:<uuid>): no operation on one execution takes it.
EXPRESS_ARN_RE = re.compile(_HOME + r"express:")


def arn_parse(arn: str, *, pattern: re.Pattern, missing: type[ServiceError]) -> re.Match:
    """The ARN's parts; InvalidArn or `missing` (the kind's DoesNotExist) when not ours."""
    match = pattern.match(arn or "")
    if pattern is EXECUTION_ARN_RE and EXPRESS_ARN_RE.match(arn or ""):
        # What AWS answers DescribeExecution, StopExecution and GetExecutionHistory.
        raise InvalidArn("Invalid Arn: 'Resource type not valid in this context: express'")
    if not match:
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    if match["region"] != settings.AWS_REGION:
        raise InvalidArn(
            f"Invalid Arn: '{arn}': the resource is in region {match['region']}, "
            f"this endpoint serves {settings.AWS_REGION}"
        )
    if match["account"] != settings.AWS_ACCOUNT_ID:
        kind = re.sub(r"(?<!^)(?=[A-Z])", " ", missing.__name__)
        raise missing(f"{kind}: '{arn}'")
    return match
