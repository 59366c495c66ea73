"""What the admin's rooms of one permission share."""

from django.contrib import admin
from django.http import HttpRequest


class OnePermissionAdmin(admin.ModelAdmin):
    """A room of the admin that one permission (`permission`, "app.codename") opens, where
    nothing is added, changed or deleted through Django's forms: its own views and actions do
    what it does, through the services."""

    permission: str

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.permission)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(self.permission)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
