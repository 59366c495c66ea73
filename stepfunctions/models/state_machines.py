"""State machines and their versions: a named workflow, and the immutable ASL documents it has had.

An execution keeps the version it began with; updating a machine adds a version.
"""

import functools

from django.conf import settings
from django.db import connections, models

from stepfunctions.models.sql import Statement


class StateMachine(models.Model):
    """A named workflow. Its definition lives in versions, so an execution keeps the one it began."""

    name = models.CharField(max_length=80, unique=True)
    # The roleArn given at CreateStateMachine ($$.Execution.RoleArn); nothing here assumes it.
    role_arn = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)
    # How many versions were ever published: the next one's number (deleted numbers are not
    # given again, as on AWS). Changed only under the machine's row lock.
    versions_published = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        # Saving in Workflow Studio publishes a version: a permission of its own (admin/studio.py).
        permissions = [("publish_state_machine", "Can save and publish a state machine in Studio")]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:stateMachine:{self.name}"

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
