"""The runner's messages through an outbox: a `celery:task.sync` state's message is recorded in
the stage's transaction and sent after it commits; a runner that takes it drops the record. A
message lost with the broker (down at commit, restarted empty) is sent again by a sweep, so the
state does not wait for its TimeoutSeconds, or for ever without one.

After a runner has taken the message, the broker's late ack covers a worker that dies (the
message runs again), and the state's TimeoutSeconds and HeartbeatSeconds cover the rest.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from stepfunctions.models import TaskMessage
from stepfunctions.services.messages import celery_task_send, queue_length

logger = logging.getLogger(__name__)


def task_message_send(
    *, execution: Any, token: str, task: str, args: list, kwargs: dict, queue: str, task_id: str
) -> None:
    """Records the runner's message for `token`'s state (in the caller's transaction) and sends
    it after commit: a stage that rolls back neither records nor sends."""
    message = {"task": task, "args": args, "kwargs": kwargs, "queue": queue, "task_id": task_id}
    TaskMessage.objects.create(
        execution=execution, token=token, message=message, sent_at=timezone.now()
    )
    celery_task_send(token=token, **message)


def task_message_taken(*, token: str) -> None:
    """A runner has the message of `token`'s state: the outbox lets it go."""
    TaskMessage.objects.taken(token=token)


def task_messages_resend(*, now=None, limit: int = 500) -> int:
    """Sends again each message no runner has taken for WORKFLOW_STALL_SECONDS while its state
    still waits; returns how many it sent. Only while the message's queue is empty: a message
    waiting in line is not lost, and sending it again would run the task twice. Messages of
    states that ended before a runner took them are dropped."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.WORKFLOW_STALL_SECONDS)
    TaskMessage.objects.orphaned(before=before)
    waiting: dict[str, int] = {}
    sent = 0
    for record in TaskMessage.objects.untaken(before=before, limit=limit):
        queue = record.message["queue"]
        if queue not in waiting:
            waiting[queue] = queue_length(queue=queue)
        if waiting[queue] or not TaskMessage.objects.resent(record, now=now):
            continue
        celery_task_send(token=record.token, **record.message)  # no transaction: sent now
        sent += 1
    if sent:
        logger.warning("Sent again %d Task state messages no runner had taken", sent)
    return sent
