"""Access keys for the Step Functions endpoint: an AWS-style key id and secret issued to a user.

The secret is stored as issued because Signature Version 4 is an HMAC: checking a signature needs
the same secret the client signed with (AWS keeps secrets the same way). The admin never shows it
after the key is created.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models

from stepfunctions.models import rows


class AccessKeyQuerySet(models.QuerySet):
    def find_with_permission(self, *, access_key_id: str, codename: str) -> "AccessKey | None":
        """The active key with this id whose user is active, or None; its `holds_permission`
        says whether the user holds the stepfunctions permission `codename` as ModelBackend's
        has_perm answers it, read in the same statement (SQL written once per database: every
        API request asks, and compiling it through the ORM cost more than the request's work)."""
        connection = connections[self.db]
        params = {"codename": codename, "key": access_key_id}
        found = _KEY.fetch(_find_sql(connection), params, connection)
        return found[0] if found else None


class AccessKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys"
    )
    access_key_id = models.CharField(max_length=20, unique=True)
    secret_access_key = models.CharField(max_length=40)
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AccessKeyQuerySet.as_manager()

    class Meta:
        # Granted to the key's user (directly or through a group); a superuser holds them all.
        permissions = [
            ("sfn_start_executions", "Step Functions API: start and stop executions"),
            ("sfn_send_callbacks", "Step Functions API: send task success, failure, heartbeat"),
            ("sfn_manage_state_machines", "Step Functions API: create, update, delete machines"),
            ("sfn_read", "Step Functions API: describe and list machines, executions, history"),
            ("sfn_run_activities", "Step Functions API: get activity tasks (a worker's polls)"),
        ]

    def __str__(self) -> str:
        return f"{self.access_key_id} ({self.user})"


_KEY = rows.Rows(rows.Part(AccessKey, "k"), extra=("holds_permission",))
_FIND_SQL: dict[str, str] = {}


def _find_sql(connection) -> str:
    """The active key of an active user, with whether the user holds one stepfunctions
    permission as ModelBackend's has_perm answers it: a superuser holds every permission, anyone
    else one granted to them or to one of their groups. Parameters: the codename, the key id."""
    if connection.vendor in _FIND_SQL:
        return _FIND_SQL[connection.vendor]
    user_model = get_user_model()

    def table(model) -> str:
        return rows.table(model, connection)

    def column(model, name: str) -> str:
        return rows.column(model, name, connection)

    user_permissions = user_model._meta.get_field("user_permissions").remote_field.through
    user_groups = user_model._meta.get_field("groups").remote_field.through
    group_permissions = Group._meta.get_field("permissions").remote_field.through
    keys = _KEY.columns(connection)
    codename = (
        f"JOIN {table(Permission)} p ON p.{column(Permission, 'id')} = {{link}}"
        f" JOIN {table(ContentType)} ct ON ct.{column(ContentType, 'id')}"
        f" = p.{column(Permission, 'content_type')}"
        f" AND ct.{column(ContentType, 'app_label')} = 'stepfunctions'"
        f" AND p.{column(Permission, 'codename')} = %(codename)s"
    )
    direct = codename.format(link=f"up.{column(user_permissions, 'permission')}")
    grouped = codename.format(link=f"gp.{column(group_permissions, 'permission')}")
    sql = _FIND_SQL[connection.vendor] = (
        f"SELECT {keys}, (u.{column(user_model, 'is_superuser')}"  # noqa: S608 (names from _meta)
        f" OR EXISTS (SELECT 1 FROM {table(user_permissions)} up {direct}"
        f" WHERE up.{column(user_permissions, 'user')} = u.{column(user_model, 'id')})"
        f" OR EXISTS (SELECT 1 FROM {table(user_groups)} ug"
        f" JOIN {table(group_permissions)} gp"
        f" ON gp.{column(group_permissions, 'group')} = ug.{column(user_groups, 'group')} {grouped}"
        f" WHERE ug.{column(user_groups, 'user')} = u.{column(user_model, 'id')}))"
        " AS holds_permission"
        f" FROM {table(AccessKey)} k JOIN {table(user_model)} u"
        f" ON u.{column(user_model, 'id')} = k.{column(AccessKey, 'user')}"
        f" WHERE k.{column(AccessKey, 'access_key_id')} = %(key)s"
        f" AND k.{column(AccessKey, 'is_active')} AND u.{column(user_model, 'is_active')}"
    )
    return sql
