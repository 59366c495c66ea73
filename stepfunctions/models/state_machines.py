"""State machines and their versions: a named workflow, and the immutable ASL documents it has had.

An execution keeps the version it began with; updating a machine adds a version.
"""

import functools

from django.conf import settings
from django.db import connections, models

from stepfunctions.models.sql import Statement


class StateMachine(models.Model):
    """A named workflow. Its definition lives in versions, so an execution keeps the one it began."""

    Type = models.TextChoices(
        "Type", "STANDARD EXPRESS", module=__name__, qualname="StateMachine.Type"
    )
    LogLevel = models.TextChoices(
        "LogLevel", "ALL ERROR FATAL OFF", module=__name__, qualname="StateMachine.LogLevel"
    )

    name = models.CharField(max_length=80, unique=True)
    # The roleArn given at CreateStateMachine ($$.Execution.RoleArn); nothing here assumes it.
    role_arn = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)
    # How many versions were ever published: the next one's number (deleted numbers are not
    # given again, as on AWS). Changed only under the machine's row lock.
    versions_published = models.PositiveIntegerField(default=0, db_default=0)
    # STANDARD or EXPRESS (CreateStateMachine's type; AWS never changes it after creation).
    type = models.CharField(
        max_length=8, choices=Type.choices, default=Type.STANDARD, db_default=Type.STANDARD
    )
    # loggingConfiguration's level: which history events an EXPRESS machine's runs keep
    # (history_keeps); a STANDARD machine keeps its whole history whatever the level.
    log_level = models.CharField(
        max_length=5, choices=LogLevel.choices, default=LogLevel.OFF, db_default=LogLevel.OFF
    )

    class Meta:
        # Saving in Workflow Studio publishes a version: a permission of its own (admin/studio.py).
        permissions = [("publish_state_machine", "Can save and publish a state machine in Studio")]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:stateMachine:{self.name}"

    @property
    def express(self) -> bool:
        return self.type == StateMachine.Type.EXPRESS

    def history_keeps(self, event_type: str) -> bool:
        """Whether a run of this machine keeps a history event of `event_type`: every one on a
        STANDARD machine; on an EXPRESS one, what AWS's logging level would log (ALL: every
        event, ERROR: the failures, FATAL: only the execution's own failed end, OFF: none)."""
        if not self.express or self.log_level == StateMachine.LogLevel.ALL:
            return True
        if self.log_level == StateMachine.LogLevel.ERROR:
            return event_type.endswith(_ERROR_ENDINGS)
        if self.log_level == StateMachine.LogLevel.FATAL:
            return event_type in _FATAL_EVENTS
        return False

    @staticmethod
    def role_arn_default(name: str) -> str:
        """The role of a machine created without one (by a command or an app, not the API)."""
        return f"arn:aws:iam::{settings.AWS_ACCOUNT_ID}:role/{name}Role"

    @property
    def latest_version(self) -> "StateMachineVersion":
        return self.versions.order_by("-number").first()

    def version_to_start(self) -> "StateMachineVersion | None":
        """The latest version, as every StartExecution reads it: one small statement for its id,
        and the version itself (an immutable row) from a per-process cache, not built by the ORM
        each time."""
        connection = connections[self._state.db or "default"]
        with connection.cursor() as cursor:
            cursor.execute(_LATEST_VERSION.text(connection), [self.pk])
            row = cursor.fetchone()
        if row is None:
            return None
        number, definition, created_at = _version_row(row[0], row[1])
        version = StateMachineVersion(
            id=row[0],
            state_machine_id=self.pk,
            number=number,
            definition=definition,
            created_at=created_at,
        )
        version._state.adding = False
        version._state.db = connection.alias
        version.state_machine = self  # its machine as the caller has it, not a cached one
        return version


class StateMachineVersion(models.Model):
    """An immutable ASL document; updating a state machine adds one (a revision).

    `number` is the revision, the API's revisionId: every revision is one, and the newest is what
    AWS calls the unqualified machine ($LATEST). A revision becomes a PUBLISHED version of the API
    (`<machine arn>:<published_number>`) only when published; deleting that version clears
    `published_number` (the revision stays: executions that ran it keep it)."""

    state_machine = models.ForeignKey(
        StateMachine, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_number = models.PositiveIntegerField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=256, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["state_machine", "number"], name="one_version_number"),
            models.UniqueConstraint(
                fields=["state_machine", "published_number"], name="one_published_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state_machine.name} v{self.number}"

    @property
    def arn(self) -> str:
        """The published version's ARN (a revision never published has none)."""
        return f"{self.state_machine.arn}:{self.published_number}"


# The events AWS's ERROR and FATAL logging levels log (its CloudWatch Logs levels).
_ERROR_ENDINGS = ("Failed", "TimedOut", "Aborted")
_FATAL_EVENTS = frozenset({"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})

_LATEST_VERSION = Statement(
    "SELECT id, created_at FROM {StateMachineVersion} WHERE state_machine_id = %s"
    " ORDER BY number DESC LIMIT 1"
)


@functools.lru_cache(maxsize=256)
def _version_row(pk: int, written: object) -> tuple:
    """A version's (number, definition, created_at): versions never change once written. Keyed
    by the row's id and the moment it was written (as the database gives it), since an id alone
    can name another row later: SQLite gives a deleted last row's id again (a machine deleted
    and another created, a table rebuilt empty by a migration)."""
    return StateMachineVersion.objects.values_list("number", "definition", "created_at").get(pk=pk)
