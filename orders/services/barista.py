"""Baristas: their group and its permissions, and the queue they work from."""

from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from orders.models import Order
from orders.services.order_processor import BARISTA_WAIT
from stepfunctions.models import Execution

BARISTAS = "Baristas"
# Exactly what the job needs: work the queue (make, unmake, complete, cancel, open/close the shop),
# show the display board, read orders and their executions. No editing of menu, config or users.
BARISTA_PERMISSIONS = [
    ("orders", "act_as_barista"),
    ("orders", "view_display_board"),
    ("orders", "view_order"),
    ("stepfunctions", "view_execution"),
]
PICKUP_MINUTES = 10


def baristas_group_sync() -> Group:
    """Creates the Baristas group or sets its permissions back to exactly BARISTA_PERMISSIONS."""
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=BARISTAS)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in BARISTA_PERMISSIONS
        ]
        group.permissions.set(permissions)
    return group


def barista_grant(*, user) -> None:
    """Makes a user a barista: staff (to enter the admin) and in the Baristas group."""
    with transaction.atomic():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(baristas_group_sync())


def queue_open() -> QuerySet[Order]:
    """Orders waiting for a barista, oldest submission first. An order whose workflow has ended
    another way (stopped, failed) waits for nobody."""
    return Order.objects.filter(
        status=Order.Status.CREATED,
        workflow_state=BARISTA_WAIT,
        execution__status=Execution.Status.RUNNING,
    ).order_by("submitted_at", "created_at")


def queue_ready(*, now=None) -> QuerySet[Order]:
    """Orders finished in the last 10 minutes, for pickup."""
    since = (now or timezone.now()) - timedelta(minutes=PICKUP_MINUTES)
    return Order.objects.filter(status=Order.Status.COMPLETED, updated_at__gte=since).order_by(
        "-updated_at"
    )


def age_colour(*, seconds: float) -> str:
    """The original's colours: green under 2 minutes, amber under 5, red after."""
    if seconds < 120:
        return "green"
    if seconds < 300:
        return "amber"
    return "red"
