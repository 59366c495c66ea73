"""The staff's view of people's accounts for login locks: a proxy, so the admin lists them with a
permission of their own, apart from the accounts' own page."""

from django.contrib.auth.models import User


class LoginAccount(User):
    class Meta:
        proxy = True
        verbose_name = "login lock"
        verbose_name_plural = "login locks"
        # Listing the accounts and lifting a lock are one right; nothing is added, changed or
        # deleted here.
        default_permissions = ()
        permissions = [("lift_login_lock", "Can see and lift the login locks of accounts")]
