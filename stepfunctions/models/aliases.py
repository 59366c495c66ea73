"""A state machine's aliases: a name that routes each StartExecution to one of one or two
published versions, by weight."""

from django.db import models

from stepfunctions.models.state_machines import StateMachine


class StateMachineAlias(models.Model):
    """`<machine arn>:<name>`. `routing` is [[published number, weight], ...]: one or two versions
    whose weights sum to 100. Changed only under the machine's row lock, so a version an alias
    routes to is never deleted beside it."""

    state_machine = models.ForeignKey(
        StateMachine, on_delete=models.CASCADE, related_name="aliases"
    )
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=256, blank=True, default="")
    routing = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["state_machine", "name"], name="one_alias_name")
        ]

    def __str__(self) -> str:
        return f"{self.state_machine.name}:{self.name}"

    @property
    def arn(self) -> str:
        return f"{self.state_machine.arn}:{self.name}"

    def routes_to(self, number: int) -> bool:
        return any(version == number for version, _ in self.routing)
