"""Factories for rows the tests need without running a workflow."""

import uuid
from datetime import timedelta

from django.utils import timezone

from stepfunctions.models import CallbackToken, Execution
from stepfunctions.services.stage import token_new
from stepfunctions.services.state_machines import state_machine_create

_DOCUMENT = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def execution(*, stage: str = Execution.Stage.WAITING, **fields) -> Execution:
    machine = state_machine_create(name="FactoryMachine", definition=_DOCUMENT)
    now = timezone.now()
    defaults = {
        "state_machine": machine,
        "version": machine.latest_version,
        "name": str(uuid.uuid4()),
        "input": {},
        "stage": stage,
        "start_date": now,
    }
    return Execution.objects.create(**{**defaults, **fields})


def waiting_token(*, heartbeat_seconds: int | None = 900, timeout_seconds: int | None = None):
    now = timezone.now()
    heartbeat = now + timedelta(seconds=heartbeat_seconds) if heartbeat_seconds else None
    timeout = now + timedelta(seconds=timeout_seconds) if timeout_seconds else None
    deadlines = [d for d in (heartbeat, timeout) if d]
    return CallbackToken.objects.create(
        token=token_new(),
        execution=execution(),
        state_name="Wait",
        heartbeat_seconds=heartbeat_seconds,
        heartbeat_deadline=heartbeat,
        timeout_deadline=timeout,
        deadline=min(deadlines) if deadlines else None,
        created_at=now,
    )
