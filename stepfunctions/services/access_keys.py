"""Access keys for the Step Functions endpoint: issue, grant, look up, and the development key."""

import secrets
import string
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from stepfunctions.models import AccessKey

# What `--grant` names, and the permission each gives the key's user.
GRANTS = {
    "start-executions": "sfn_start_executions",
    "send-callbacks": "sfn_send_callbacks",
    "manage-state-machines": "sfn_manage_state_machines",
    "read": "sfn_read",
    "run-activities": "sfn_run_activities",
}
DEVELOPMENT_USERNAME = "developer"
DEVELOPMENT_DESCRIPTION = "development key (runsystem on the embedded defaults)"
# AWS key ids are AKIA + 16 characters of base32's alphabet; secrets are 40 base64 characters.
_ID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
# last_used_at is a hint for the admin, not an audit log: one write a minute per key is enough.
_TOUCH_EVERY = timedelta(minutes=1)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def access_key_grant(*, user: AbstractBaseUser, grants: list[str]) -> None:
    """Gives the user the permissions that `grants` name (`all` names every one)."""
    names = list(GRANTS) if "all" in grants else grants
    unknown = sorted(set(names) - set(GRANTS))
    if unknown:
        raise ValueError(f"Unknown grant(s) {unknown}; choose from {sorted(GRANTS)} or 'all'")
    permissions = Permission.objects.filter(
        content_type__app_label="stepfunctions", codename__in=[GRANTS[n] for n in names]
    )
    user.user_permissions.add(*permissions)


def access_key_create(
    *, user: AbstractBaseUser, grants: list[str] | None = None, description: str = ""
) -> AccessKey:
    """Issues a new key (a fresh id and secret) to the user, granting `grants` first."""
    with transaction.atomic():
        if grants:
            access_key_grant(user=user, grants=grants)
        return AccessKey.objects.create(
            user=user,
            access_key_id="AKIA" + _random(_ID_ALPHABET, 16),
            secret_access_key=_random(_SECRET_ALPHABET, 40),
            description=description,
        )


_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def access_key_find(*, access_key_id: str, permission: str | None = None) -> AccessKey | None:
    """The active key with this id whose user is active, or None.

    With `permission` (a codename of the stepfunctions app), the key also answers
    `access_key_permitted` from the same query, in SQL written once per process: every API
    request asks this, and the ORM's compiling of the query cost more CPU than the rest of the
    request's own work. The key's user is then loaded only when read (a refusal's message).

    The read is the request's first query, so it stands in for the kept connection's health
    check (CONN_HEALTH_CHECKS' SELECT 1, a round trip a call): see _read_checking_connection.
    """
    if permission is not None and _model_backend_only():

        def read() -> AccessKey | None:
            found = AccessKey.objects.find_with_permission(
                access_key_id=access_key_id, codename=permission
            )
            if found is not None:
                found.permission_asked = permission
            return found

    else:

        def read() -> AccessKey | None:
            return (
                AccessKey.objects.select_related("user")
                .filter(access_key_id=access_key_id, is_active=True, user__is_active=True)
                .first()
            )

    return _read_checking_connection(read)


def _read_checking_connection(read: Callable[[], AccessKey | None]) -> AccessKey | None:
    """`read()` as the health check of a kept connection not yet checked in this request: it
    runs at once, and only if it fails is the connection checked as Django would have checked it
    first (a SELECT 1); found unusable (the server restarted, pg_terminate_backend, an idle
    reaper), it is closed and the read made again on a new one. A connection that still answers
    raises the read's error as before (a statement timeout is the outage's 503)."""
    connection = connections[router.db_for_read(AccessKey)]
    if (
        connection.connection is None
        or not connection.health_check_enabled
        or connection.health_check_done
        or connection.in_atomic_block
    ):
        return read()
    connection.health_check_done = True
    try:
        return read()
    except DatabaseError:
        if connection.is_usable():
            raise
        connection.close()
        return read()


def access_key_permitted(*, access_key: AccessKey, permission: str) -> bool:
    """Whether the key's user holds the stepfunctions permission `permission`: read with the key
    when access_key_find was asked for it, else user.has_perm (every authentication backend)."""
    if getattr(access_key, "permission_asked", None) == permission:
        return bool(access_key.holds_permission)
    return access_key.user.has_perm(f"stepfunctions.{permission}")


def _model_backend_only() -> bool:
    """Whether user.has_perm is ModelBackend's answer alone, on a user model with Django's
    permissions and groups (what AccessKey.objects.find_with_permission reads)."""
    fields = {f.name for f in get_user_model()._meta.get_fields()}
    return (
        list(settings.AUTHENTICATION_BACKENDS) == [_MODEL_BACKEND]
        and {
            "user_permissions",
            "groups",
            "is_superuser",
        }
        <= fields
    )


def access_key_touch(*, access_key: AccessKey, now: datetime | None = None) -> None:
    """Records that the key was used, at most once a minute (a conditional UPDATE, so two
    requests at once write once). A key just read with a recent last_used_at costs no write."""
    now = now or timezone.now()
    if access_key.last_used_at is not None and access_key.last_used_at >= now - _TOUCH_EVERY:
        return
    AccessKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - _TOUCH_EVERY), pk=access_key.pk
    ).update(last_used_at=now)


def access_key_ensure_development() -> AccessKey:
    """The development user's key, created with every grant on first use; the same key after.

    Only for a local run on the embedded defaults: the key is printed so the README's aws CLI and
    boto3 examples work as written.
    """
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(
            username=DEVELOPMENT_USERNAME, defaults={"is_active": True}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        access_key_grant(user=user, grants=["all"])
        key = user.access_keys.filter(is_active=True, description=DEVELOPMENT_DESCRIPTION).first()
        if key is None:
            key = access_key_create(user=user, description=DEVELOPMENT_DESCRIPTION)
    return key
