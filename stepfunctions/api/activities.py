"""The activities' operations: CreateActivity, DescribeActivity, DeleteActivity, ListActivities,
GetActivityTask (members in, a service, members out), as stepfunctions.api.operations does for
the others.

GetActivityTask here is the request-thread form (the WSGI path); the web server's ASGI path
serves it without a thread (stepfunctions.api.polls), through the same checks and services.
"""

from typing import Any

from django.db.models import Q

from stepfunctions.api.paging import page
from stepfunctions.models import Activity
from stepfunctions.services import activities

Members = dict[str, Any]


def activity_item(activity: Activity) -> Members:
    """One activity as ListActivities lists it (DescribeActivity's answer too)."""
    return {"activityArn": activity.arn, "name": activity.name, "creationDate": activity.created_at}


def create_activity(members: Members) -> Members:
    activity, _ = activities.activity_create(name=members["name"], tags=members.get("tags"))
    return {"activityArn": activity.arn, "creationDate": activity.created_at}


def describe_activity(members: Members) -> Members:
    return activity_item(activities.activity_get(arn=members["activityArn"]))


def delete_activity(members: Members) -> Members:
    activities.activity_delete(arn=members["activityArn"])
    return {}


def list_activities(members: Members) -> Members:
    found, next_token = page(
        Activity.objects.order_by("name"),
        kind="activities",
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
        after=lambda name: Q(name__gt=name),
        key=lambda a: a.name,
    )
    answer: Members = {"activities": [activity_item(a) for a in found]}
    return answer | ({"nextToken": next_token} if next_token else {})


def get_activity_task(members: Members) -> Members:
    """A task ({"taskToken", "input"}) or, after the poll's seconds, an empty answer."""
    activity = activities.activity_get(arn=members["activityArn"])
    task = activities.activity_task_poll(
        activity=activity, worker_name=members.get("workerName", "")
    )
    return task or {}
