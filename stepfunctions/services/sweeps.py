"""The sweeps beat runs: executions past their TimeoutSeconds, and due stages whose nudge was
lost (the relay, within seconds) or whose worker died (the stall sweep)."""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stepfunctions.models import Execution
from stepfunctions.services.executions import execution_time_out
from stepfunctions.services.messages import (
    execution_redrive_send,
    execution_relay_send,
    queue_length,
)

logger = logging.getLogger(__name__)


def executions_time_out(*, now=None, limit: int = 500) -> int:
    """Ends every running execution past its top-level TimeoutSeconds as TIMED_OUT with
    States.Timeout, as Step Functions does, wherever it waits (a token without a deadline, a
    retry's delay). Each is re-checked under its row lock, so a second sweep changes nothing."""
    now = now or timezone.now()
    ended = 0
    for execution_id in Execution.objects.past_timeout(now=now, limit=limit):
        with transaction.atomic():
            locked = (
                Execution.objects.select_for_update()
                .filter(pk=execution_id, status=Execution.Status.RUNNING, timeout_at__lte=now)
                .first()
            )
            if locked is not None:
                execution_time_out(execution=locked, now=now)
                ended += 1
    if ended:
        logger.info("Timed out %d executions", ended, extra={"count": ended})
    return ended


def executions_recover(*, now=None, limit: int = 1000) -> int:
    """Re-enqueues executions whose automatic stage has been due for longer than the stall time.

    A lost message or a killed worker leaves such an execution; running its stage twice is
    harmless, so this errs on the side of nudging.
    """
    sent = _due_for(settings.WORKFLOW_STALL_SECONDS, now, limit, send=execution_redrive_send)
    if sent:
        logger.warning("Re-drove %d stalled executions", sent)
    return sent


def executions_relay(*, now=None, limit: int = 500) -> int:
    """The outbox's relay: sends the nudge again for stages due for more than
    WORKFLOW_RELAY_SECONDS, so a nudge lost with the broker (down at commit, or restarted without
    its queue) is sent as soon as the broker answers, not after the stall time.

    Only while the broker's queue is empty: nudges waiting in line are not lost, and sending more
    would only lengthen the line. A relayed nudge skips a stage a worker is running.
    """
    if queue_length() > 0:
        return 0
    sent = _due_for(settings.WORKFLOW_RELAY_SECONDS, now, limit, send=execution_relay_send)
    if sent:
        logger.info("Relayed %d due stages", sent)
    return sent


def _due_for(seconds: float, now, limit: int, *, send: Callable[[Any], None]) -> int:
    """Sends a message for each execution (up to `limit`) whose stage has been due for more than
    `seconds`; returns how many it sent."""
    cutoff = (now or timezone.now()) - timedelta(seconds=seconds)
    ids = Execution.objects.stalled(before=cutoff, limit=limit)
    for execution_id in ids:
        send(execution_id)
    return len(ids)
