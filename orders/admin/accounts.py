"""Login locks: the accounts with when each one's lock ends, and an action that lifts it, for staff
with orders.lift_login_lock. Also the admin's login form, which refuses a locked login."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from orders.admin.rooms import OnePermissionAdmin
from orders.models import LoginAccount
from orders.services.login_locks import login_lock_lift, login_locked_until
from orders.web.forms import AdminLoginForm

admin.site.login_form = AdminLoginForm


@admin.register(LoginAccount)
class LoginLockAdmin(OnePermissionAdmin):
    permission = "orders.lift_login_lock"
    list_display = ["username", "locked_until"]
    list_display_links = None
    search_fields = ["username"]
    ordering = ["username"]
    actions = ["lift_login_lock"]

    def has_lift_login_lock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.permission)

    @admin.display(description="Locked until")
    def locked_until(self, account: LoginAccount) -> str:
        until = login_locked_until(username=account.username)
        if until is None:
            return "–"
        return (
            f"{timezone.localtime(until):%Y-%m-%d %H:%M:%S} {timezone.get_current_timezone_name()}"
        )

    @admin.action(
        description="Lift the login lock of the selected accounts", permissions=["lift_login_lock"]
    )
    def lift_login_lock(self, request: HttpRequest, queryset: QuerySet[LoginAccount]) -> None:
        names = []
        for account in queryset:
            login_lock_lift(username=account.username)
            names.append(account.username)
        self.message_user(
            request,
            f"Login lock lifted for {', '.join(names)}: they may log in now.",
            messages.SUCCESS,
        )
