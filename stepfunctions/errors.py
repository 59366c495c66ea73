"""Errors the services raise, named and shaped as Step Functions names them.

The JSON views, the management commands and the AWS-protocol endpoint all turn these into the
same answer: the class name is the error code AWS clients know (botocore maps it to its modelled
exception), the message says what was wrong.
"""


class ServiceError(Exception):
    """A refusal that changed nothing."""

    http_status = 400
    # Members of the error's shape besides `message` (ResourceNotFound's resourceName).
    members: dict[str, str] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__


class TaskTimedOut(ServiceError):
    """The token was issued but its task is over (succeeded, failed, timed out or stopped)."""


class InvalidToken(ServiceError):
    """The token is not one this service could have issued."""


class InvalidOutput(ServiceError):
    pass


class ValidationException(ServiceError):
    """A member is out of its bounds (length, range)."""


class ExecutionDoesNotExist(ServiceError):
    pass


class ExecutionAlreadyExists(ServiceError):
    pass


class InvalidExecutionInput(ServiceError):
    pass


class StateMachineDoesNotExist(ServiceError):
    pass


class StateMachineAlreadyExists(ServiceError):
    pass


class InvalidDefinition(ServiceError):
    pass


class InvalidName(ServiceError):
    pass


class InvalidArn(ServiceError):
    pass


class ConflictException(ServiceError):
    """The change would leave the resource inconsistent (a version an alias routes to, a stale
    revisionId, an alias of the same name set otherwise)."""


class ServiceQuotaExceededException(ServiceError):
    pass


class MissingRequiredParameter(ServiceError):
    pass


class _NamesResource(ServiceError):
    """An error whose shape names the resource (`resourceName`: its ARN), as AWS answers it."""

    def __init__(self, message: str, resource_name: str | None = None) -> None:
        super().__init__(message)
        if resource_name is not None:
            self.members = {"resourceName": resource_name}


class ResourceNotFound(_NamesResource):
    pass


class TooManyTags(_NamesResource):
    pass


class ActivityDoesNotExist(ServiceError):
    pass


class ExecutionNotRedrivable(ServiceError):
    """RedriveExecution on an execution that cannot be redriven (running, succeeded, past its
    redrivable period...): the message is AWS's redriveStatusReason."""


class StateMachineTypeNotSupported(ServiceError):
    """The operation does not serve this type of machine (StartSyncExecution on a STANDARD one,
    ListExecutions on an EXPRESS one)."""
