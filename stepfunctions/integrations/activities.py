"""Activities as Task states: `"Resource": "arn:aws:states:<region>:<account>:activity:<name>"`.

The interpreter writes ActivityScheduled and waits on the state's task token (no worker, no
transaction held); this handler makes that token the activity's task: it names the activity and
keeps the input the worker gets (the state's effective input, after InputPath and Parameters),
and after the stage commits it announces the task to the activity's waiting pollers. A worker
takes it with GetActivityTask (ActivityStarted), and answers with SendTaskSuccess / Failure
(ActivitySucceeded / ActivityFailed), keeping it alive with SendTaskHeartbeat; past the state's
HeartbeatSeconds or TimeoutSeconds the expiry sweep times it out (ActivityTimedOut,
States.Timeout), however its worker vanished.

An activity that does not exist (never created, or deleted) fails the state with
ActivityScheduleFailed, its error `ActivityDoesNotExist` (Retry and Catch may name it).
"""

import functools
from typing import Any

from django.db import transaction

from stepfunctions import resources
from stepfunctions.services.activities import activity_for_task, activity_task_announce
from stepfunctions.workflow import ACTIVITY_ARN, StatesError
from stepfunctions.workflow.paths import to_json

DOES_NOT_EXIST = "ActivityDoesNotExist"


def _activity_task(parameters: Any, invocation: resources.Invocation) -> dict:
    activity = activity_for_task(arn=invocation.resource)
    if activity is None:
        raise StatesError(DOES_NOT_EXIST, f"Activity Does Not Exist: '{invocation.resource}'")
    invocation.token_fields.update(
        activity_id=activity.pk,
        task_input=to_json(parameters),  # as ActivityScheduled shows it
    )
    transaction.on_commit(functools.partial(activity_task_announce, activity.pk), robust=True)
    return {}


def register() -> None:
    """Registers the activities' Task resource (called once, from stepfunctions.apps)."""
    resources.resource_family(ACTIVITY_ARN)(_activity_task)
