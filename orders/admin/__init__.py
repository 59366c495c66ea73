"""Admin, one module per room; importing them registers their ModelAdmins."""

from orders.admin import accounts, barista, menu, orders, report  # noqa: F401
