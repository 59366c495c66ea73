"""Retention: closed executions are kept RETENTION_DAYS (90, as Step Functions keeps them), then
purged with their history, tokens and events.

The purge works in batches, each its own short transaction that touches only the rows of closed
executions: a live order's rows are never locked, and an execution still RUNNING (stage not DONE)
is never deleted, however old. Two purges at once (two beats) delete each row once; the second
finds it gone. The coffee bar's Order rows stay (their execution link becomes empty).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stepfunctions.models import Event, Execution

logger = logging.getLogger(__name__)


def executions_purge(
    *,
    now: datetime | None = None,
    older_than: timedelta | None = None,
    batch_size: int | None = None,
) -> int:
    """Deletes executions that stopped before `now - older_than`, in batches; returns how many."""
    now = now or timezone.now()
    older_than = older_than if older_than is not None else timedelta(days=settings.RETENTION_DAYS)
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    cutoff = now - older_than
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(
                # A Parallel branch or Map iteration goes with its parent (CASCADE through its
                # group): the parent may still need its result.
                Execution.objects.filter(
                    stage=Execution.Stage.DONE, stop_date__lt=cutoff, group__isnull=True
                )
                .order_by("stop_date")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            # Events point at their execution with SET NULL: delete them first, explicitly.
            Event.objects.filter(execution_id__in=ids).delete()
            # History and tokens go with their execution (CASCADE, deleted in bulk by Django).
            _, deleted = Execution.objects.filter(
                pk__in=ids, stage=Execution.Stage.DONE, stop_date__lt=cutoff
            ).delete()
        # What this call deleted: a purge running at the same time may have taken some of them.
        purged += deleted.get(Execution._meta.label, 0)
        if len(ids) < batch_size:
            break
    if purged:
        logger.info(
            "Purged %d executions closed before %s",
            purged,
            cutoff.isoformat(),
            extra={"count": purged},
        )
    return purged
