"""Activities, as AWS has them: create (idempotent by name), describe, delete, list; a worker's
claim of a task (GetActivityTask's answer) with its ActivityStarted event; the nudge that tells
waiting pollers a task was scheduled.

An activity's task is its Task state's task token (stepfunctions.models.activities), so the
worker answers with SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat through the callback
services, and a task whose worker vanished ends by its state's HeartbeatSeconds or TimeoutSeconds
through the expiry sweep, as any token does.
"""

import logging
import time
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from stepfunctions.arns import ACTIVITY_ARN_RE, arn_parse
from stepfunctions.errors import ActivityDoesNotExist
from stepfunctions.models import Activity, Execution, HistoryEvent
from stepfunctions.services.events import redis_client
from stepfunctions.services.state_machines import name_validate
from stepfunctions.services.tags import tags_add, tags_forget

logger = logging.getLogger(__name__)
# A scheduled task is announced on `<prefix><activity id>` (services.activity_polls listens).
ANNOUNCE_PREFIX = "stepfunctions:activity-tasks:"
# AWS holds a GetActivityTask for up to 60 seconds; tests set SFN_ACTIVITY_POLL_SECONDS shorter.
POLL_SECONDS = 60
# How often a waiting poll looks at the database again when no announcement came (one lost with
# Redis, or published before the poller listened).
RECHECK_SECONDS = 5.0


def poll_seconds() -> float:
    return float(getattr(settings, "SFN_ACTIVITY_POLL_SECONDS", POLL_SECONDS))


def recheck_seconds() -> float:
    return float(getattr(settings, "SFN_ACTIVITY_RECHECK_SECONDS", RECHECK_SECONDS))


def activity_create(*, name: str, tags: list | None = None) -> tuple[Activity, bool]:
    """The activity called `name`, created if new; (activity, created). Idempotent by name, as
    CreateActivity is on AWS: a second create with the same name returns the same activity (and
    ARN), its tags as first given."""
    name_validate(name=name)
    activity = Activity.objects.filter(name=name).first()
    if activity is not None:
        return activity, False
    try:
        with transaction.atomic():
            created = Activity.objects.create(name=name, created_at=timezone.now())
            if tags:  # checked as TagResource checks them: a refusal creates nothing
                tags_add(resource_arn=created.arn, tags=tags)
            return created, True
    except IntegrityError:  # created meanwhile by another request
        return Activity.objects.get(name=name), False


def _name_of(arn: str) -> str:
    return arn_parse(arn, pattern=ACTIVITY_ARN_RE, missing=ActivityDoesNotExist)["name"]


def activity_get(*, arn: str) -> Activity:
    """The activity this ARN names; InvalidArn when not an activity's ARN of this endpoint,
    ActivityDoesNotExist when there is none."""
    activity = Activity.objects.filter(name=_name_of(arn)).first()
    if activity is None:
        raise ActivityDoesNotExist(f"Activity Does Not Exist: '{arn}'")
    return activity


def activity_delete(*, arn: str) -> None:
    """Deletes the activity (succeeds for one already gone, as DeleteActivity models no
    ActivityDoesNotExist). Its tasks no worker took are no longer handed out; they and the
    ones taken end as on AWS, by their states' TimeoutSeconds / HeartbeatSeconds or a worker's
    answer (a state with neither waits until its execution is stopped or times out)."""
    try:
        name = _name_of(arn)
    except ActivityDoesNotExist:  # another account's ARN names nothing here
        return
    with transaction.atomic():
        for activity in Activity.objects.select_for_update().filter(name=name):
            tags_forget(resource_arn=activity.arn)
            activity.delete()


def activity_for_task(*, arn: str) -> Activity | None:
    """The activity a Task state's Resource names, or None (a deleted one, another account's)."""
    match = ACTIVITY_ARN_RE.match(arn)
    if match is None or (match["region"], match["account"]) != (
        settings.AWS_REGION,
        settings.AWS_ACCOUNT_ID,
    ):
        return None
    return Activity.objects.filter(name=match["name"]).first()


def activity_task_announce(activity_id: int) -> None:
    """Tells the pollers waiting on the activity that a task was scheduled (after the stage
    committed). A Redis outage loses only the nudge: pollers find the task when they look again."""
    try:
        redis_client().publish(f"{ANNOUNCE_PREFIX}{activity_id}", b"1")
    except redis.RedisError:
        logger.warning("Could not announce a task of activity %s to its pollers", activity_id)


def _started_record(claimed: dict, worker_name: str, now: datetime) -> None:
    """ActivityStarted in the execution's history (a Parallel branch's or Map iteration's in its
    top-level execution's), numbered by one conditional UPDATE on the execution's row: the task's
    lock is not held here, so the one lock order (execution, then token) is kept."""
    execution_id = claimed["execution_id"]
    group_root = (
        Execution.objects.filter(pk=execution_id).values_list("group__root", flat=True).first()
    )
    root_id = group_root or execution_id
    details = {"workerName": worker_name} if worker_name else {}
    with transaction.atomic():
        last = Execution.objects.event_ids_reserve(root_id=root_id, count=1)
        if last is None:  # the execution ended: its history is closed
            return
        HistoryEvent.objects.create(
            execution_id=root_id,
            event_id=last,
            previous_event_id=last - 1,
            type="ActivityStarted",
            timestamp=now,
            details=details,
        )


def activity_task_claim(
    *, activity: Activity, worker_name: str = "", now: datetime | None = None
) -> dict[str, Any] | None:
    """The oldest task of the activity no worker has taken, handed to this worker alone:
    {"taskToken", "input"}; None when none waits. Its history gets ActivityStarted (with the
    worker's name) before the worker can hear of the task, so its answer comes after it."""
    now = now or timezone.now()
    claimed = Activity.objects.task_claim(activity_id=activity.pk, worker_name=worker_name, now=now)
    if claimed is None:
        return None
    try:
        _started_record(claimed, worker_name, now)
    except DatabaseError:
        # The task is this worker's already: better handed out without its ActivityStarted
        # than left to time out unseen.
        logger.exception("ActivityStarted not recorded for a task of activity %s", activity.pk)
    return {"taskToken": claimed["token"], "input": claimed["input"]}


def activity_task_poll(
    *, activity: Activity, worker_name: str = "", seconds: float | None = None
) -> dict[str, Any] | None:
    """GetActivityTask in a request thread (the WSGI path: runserver, the test server): claims
    until a task comes or `seconds` (SFN_ACTIVITY_POLL_SECONDS) pass, sleeping between looks.
    The web server's ASGI path waits without a thread instead (services.activity_polls)."""
    deadline = time.monotonic() + (poll_seconds() if seconds is None else seconds)
    while True:
        task = activity_task_claim(activity=activity, worker_name=worker_name)
        remaining = deadline - time.monotonic()
        if task is not None or remaining <= 0:
            return task
        time.sleep(min(remaining, 0.25))
