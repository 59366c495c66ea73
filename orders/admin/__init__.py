"""Admin, one module per room; importing them registers their ModelAdmins."""

from orders.admin import access_keys, barista, executions, menu, workflow  # noqa: F401
