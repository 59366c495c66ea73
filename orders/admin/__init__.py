"""Admin, one module per room; importing them registers their ModelAdmins."""

from orders.admin import workflow  # noqa: F401
